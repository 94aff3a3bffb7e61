"""Properties of the closed-form updates, checked against references computed another way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from easyedit_plugins.core.solvers import (
    EditedKeyMoments,
    SingularSystemError,
    alphaedit_update,
    memit_update,
    nullspace_projector,
)

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _keys(gen: torch.Generator, d_in: int, n: int, low: float = 0.5, high: float = 5.0) -> torch.Tensor:
    """``d_in x n`` keys of full column rank with singular values in [low, high]."""
    left, _ = torch.linalg.qr(torch.randn(d_in, n, generator=gen, dtype=torch.float64))
    right, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    singular = low + (high - low) * torch.rand(n, generator=gen, dtype=torch.float64)
    return left @ torch.diag(singular) @ right


def _positive_definite(gen: torch.Generator, d: int) -> torch.Tensor:
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@given(seed=seeds, d_in=st.integers(2, 12), d_out=st.integers(1, 6), data=st.data())
def test_memit_reproduces_new_targets_as_lambda_vanishes(seed, d_in, d_out, data):
    n = data.draw(st.integers(1, d_in))
    gen = _generator(seed)
    K = _keys(gen, d_in, n)
    R = torch.randn(d_out, n, generator=gen, dtype=torch.float64)
    W = torch.randn(d_out, d_in, generator=gen, dtype=torch.float64)
    dW = memit_update(K, R, _positive_definite(gen, d_in), lam=1e-9)
    assert dW.shape == (d_out, d_in) and dW.dtype == torch.float64
    torch.testing.assert_close((W + dW) @ K, W @ K + R, atol=1e-6, rtol=1e-6)


@given(seed=seeds, d_in=st.integers(2, 12), n=st.integers(1, 8), lam=st.floats(1e-2, 2e4))
def test_memit_matches_a_pseudo_inverse_reference(seed, d_in, n, lam):
    gen = _generator(seed)
    K = torch.randn(d_in, n, generator=gen, dtype=torch.float64)
    R = torch.randn(3, n, generator=gen, dtype=torch.float64)
    C0 = _positive_definite(gen, d_in)
    k, r, c = K.numpy(), R.numpy(), C0.numpy()
    reference = r @ k.T @ np.linalg.pinv(lam * c + k @ k.T)
    dW = memit_update(K, R, C0, lam)
    np.testing.assert_allclose(dW.numpy(), reference, rtol=1e-7, atol=1e-9 * np.abs(reference).max())


def test_memit_refuses_a_singular_system_and_mismatched_shapes():
    with pytest.raises(SingularSystemError, match="singular"):
        memit_update(torch.zeros(4, 2), torch.ones(3, 2), torch.zeros(4, 4), lam=1.0)
    with pytest.raises(ValueError, match="columns"):
        memit_update(torch.ones(4, 2), torch.ones(3, 3), torch.eye(4), lam=1.0)
    with pytest.raises(ValueError, match="C0 must be 4x4"):
        memit_update(torch.ones(4, 2), torch.ones(3, 2), torch.eye(5), lam=1.0)
    with pytest.raises(ValueError, match="NaN"):
        memit_update(torch.full((4, 2), float("nan")), torch.ones(3, 2), torch.eye(4), lam=1.0)


@given(seed=seeds, d_in=st.integers(3, 12), data=st.data())
def test_alphaedit_leaves_preserved_keys_unchanged(seed, d_in, data):
    rank = data.draw(st.integers(1, d_in - 1))
    n_preserved = data.draw(st.integers(rank, 20))
    gen = _generator(seed)
    basis, _ = torch.linalg.qr(torch.randn(d_in, rank, generator=gen, dtype=torch.float64))
    K0 = basis @ _keys(gen, n_preserved, rank, low=1.0).T  # rank `rank`, singular values in [1, 5]
    C0 = K0 @ K0.T / n_preserved  # non-zero eigenvalues >= 1/20, the rest ~1e-16
    projection = nullspace_projector(C0, threshold=1e-9)
    assert projection.dimension == d_in - rank
    K = torch.randn(d_in, 3, generator=gen, dtype=torch.float64)
    R = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    C_prev = _positive_definite(gen, d_in)
    dW = alphaedit_update(K, R, projection.projector, C_prev, l2=data.draw(st.floats(0.1, 100.0)))
    scale = float(dW.abs().max() * K0.abs().max()) + 1e-12
    assert float((dW @ K0).abs().max()) <= 1e-8 * scale


@given(seed=seeds, d_in=st.integers(2, 10), n=st.integers(1, 6), l2=st.floats(0.1, 50.0))
def test_alphaedit_matches_an_inverse_reference(seed, d_in, n, l2):
    gen = _generator(seed)
    K = torch.randn(d_in, n, generator=gen, dtype=torch.float64)
    R = torch.randn(4, n, generator=gen, dtype=torch.float64)
    P = nullspace_projector(_positive_definite(gen, d_in), threshold=None, relative_threshold=0.5).projector
    C_prev = _positive_definite(gen, d_in)
    k, r, p, c = K.numpy(), R.numpy(), P.numpy(), C_prev.numpy()
    reference = (np.linalg.inv(p @ (k @ k.T + c) + l2 * np.eye(d_in)) @ p @ k @ r.T).T
    dW = alphaedit_update(K, R, P, C_prev, l2)
    np.testing.assert_allclose(dW.numpy(), reference, rtol=1e-7, atol=1e-9 * (np.abs(reference).max() + 1))
    # no previous edits: None and zeros are the same thing
    torch.testing.assert_close(alphaedit_update(K, R, P, None, l2), alphaedit_update(K, R, P, torch.zeros(d_in, d_in), l2))


@given(seed=seeds, d=st.integers(2, 12), absolute=st.floats(1e-3, 10.0), relative=st.floats(1e-3, 1.0))
def test_projector_uses_the_smaller_threshold_and_is_an_orthogonal_projector(seed, d, absolute, relative):
    C0 = _positive_definite(_generator(seed), d)
    eigenvalues = torch.linalg.eigvalsh(C0)
    both = nullspace_projector(C0, threshold=absolute, relative_threshold=relative)
    expected_cutoff = min(absolute, relative * float(eigenvalues.max()))
    assert both.cutoff == pytest.approx(expected_cutoff)
    assert both.dimension == int((eigenvalues < expected_cutoff).sum())
    P = both.projector
    torch.testing.assert_close(P @ P, P, atol=1e-10, rtol=0)
    torch.testing.assert_close(P, P.T, atol=1e-12, rtol=0)
    assert round(float(torch.trace(P))) == both.dimension
    assert nullspace_projector(C0, threshold=absolute).dimension == int((eigenvalues < absolute).sum())


def test_projector_needs_a_threshold():
    with pytest.raises(ValueError, match="threshold"):
        nullspace_projector(torch.eye(3), threshold=None, relative_threshold=None)


def test_edited_key_moments_accumulate_per_layer():
    moments = EditedKeyMoments()
    torch.testing.assert_close(moments.get(4, 3), torch.zeros(3, 3, dtype=torch.float64))
    first, second = torch.randn(3, 2), torch.randn(3, 5)
    moments.add(4, first)
    moments.add(4, second)
    moments.add(7, second)
    expected = first.double() @ first.double().T + second.double() @ second.double().T
    torch.testing.assert_close(moments.get(4, 3), expected)
    assert moments.layers() == [4, 7]
    with pytest.raises(ValueError, match="width"):
        moments.add(4, torch.randn(5, 1))
    moments.reset()
    assert moments.layers() == []
