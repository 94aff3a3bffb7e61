"""The second-moment accumulator and the one-pass collection over a corpus."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.hooks import capture_inputs
from easyedit_plugins.core.stats import SecondMomentAccumulator, collect_second_moments
from easyedit_plugins.testing import tiny_model

TEXTS = [
    "The capital of France is Paris.",
    "Danielle Darrieux was a French actress, and her mother tongue is French.",
    "I",
    "Because the weather was cold, the children stayed inside. Therefore the game was cancelled.",
    "12 + 30 = 42.",
    "The instrument played by the artist is the trumpet.",
    "Mozart was born in Salzburg.",
]


@given(
    seed=st.integers(0, 2**31 - 1), dim=st.integers(1, 8), rows=st.integers(0, 40), data=st.data()
)
def test_merged_shards_equal_the_whole(seed, dim, rows, data):
    vectors = torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    cut = data.draw(st.integers(0, rows))
    whole, first, second = (SecondMomentAccumulator(dim) for _ in range(3))
    whole.add(vectors)
    first.add(vectors[:cut])
    second.add(vectors[cut:])
    merged = first.merge(second)
    assert merged.count == whole.count == rows
    torch.testing.assert_close(merged.sum, whole.sum, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(whole.sum, vectors.T @ vectors)


@given(seed=st.integers(0, 2**31 - 1), dim=st.integers(1, 8), rows=st.integers(1, 40))
def test_second_moment_is_symmetric_positive_semidefinite(seed, dim, rows):
    accumulator = SecondMomentAccumulator(dim)
    accumulator.add(3 * torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed)))
    moment = accumulator.mean()
    torch.testing.assert_close(moment, moment.T, rtol=0, atol=1e-12)
    assert float(torch.linalg.eigvalsh(moment).min()) >= -1e-10 * float(moment.abs().max())


@pytest.mark.parametrize("dim", [130, 600, 2100])
def test_blocked_upper_triangle_update_equals_the_full_product(dim):
    vectors = torch.randn(50, dim, generator=torch.Generator().manual_seed(dim), dtype=torch.float64)
    accumulator = SecondMomentAccumulator(dim)
    accumulator.add(vectors[:20])
    accumulator.add(vectors[20:])
    torch.testing.assert_close(accumulator.sum, vectors.T @ vectors, rtol=1e-12, atol=1e-12)
    assert torch.equal(accumulator.sum, accumulator.sum.T)
    restored = SecondMomentAccumulator.from_state(accumulator.count, accumulator.sum)
    torch.testing.assert_close(restored.merge(accumulator).mean(), accumulator.mean())


def test_accumulator_refuses_wrong_widths_and_empty_means():
    accumulator = SecondMomentAccumulator(3)
    with pytest.raises(ValueError, match="width 3"):
        accumulator.add(torch.ones(2, 4))
    with pytest.raises(ValueError, match="no vectors"):
        accumulator.mean()
    with pytest.raises(ValueError, match="merge"):
        accumulator.merge(SecondMomentAccumulator(2))


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def model_and_tok(request):
    return tiny_model(request.param, width=32, layers=3)


def _brute_force(model, tok, texts, name, max_length):
    """Sum k k^T over every token, one unpadded sequence at a time, one module at a time."""
    total, count = None, 0
    with torch.no_grad(), capture_inputs(model, [name]) as captured:
        for text in texts:
            ids = tok(text, truncation=True, max_length=max_length, return_tensors="pt")["input_ids"]
            model(input_ids=ids)
            keys = captured[name][0].double()
            total = keys.T @ keys if total is None else total + keys.T @ keys
            count += keys.shape[0]
    return total / count, count


def test_one_pass_matches_a_per_module_reference(model_and_tok):
    model, tok = model_and_tok
    spec = arch_spec(model)
    names = [spec.mlp_out_name(layer) for layer in (0, 2, 1)]
    stats = collect_second_moments(model, tok, iter(TEXTS), names, batch_size=3, max_length=12, progress=False)
    assert list(stats) == names
    for name in names:
        expected, count = _brute_force(model, tok, TEXTS, name, max_length=12)
        assert stats[name].count == count  # padding excluded, sequences capped at 12 tokens
        assert stats[name].sum.device.type == "cpu"
        moment = stats[name].mean()
        torch.testing.assert_close(moment, expected, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(moment, moment.T, rtol=0, atol=1e-12)
        assert float(torch.linalg.eigvalsh(moment).min()) >= -1e-10 * float(moment.abs().max())


def test_sample_budget_and_early_stop(model_and_tok):
    model, tok = model_and_tok
    spec = arch_spec(model)
    head_calls = []
    handle = model.get_submodule(spec.lm_head).register_forward_hook(lambda *_: head_calls.append(1))
    try:
        stats = collect_second_moments(
            model, tok, TEXTS, [spec.mlp_out_name(1)], n_samples=2, dtype=torch.float32, progress=False
        )
    finally:
        handle.remove()
    (accumulator,) = stats.values()
    assert accumulator.count == sum(len(tok(text)["input_ids"]) for text in TEXTS[:2])
    assert accumulator.sum.dtype == torch.float32
    assert head_calls == []  # the pass stopped at the last requested module


def test_unknown_modules_and_empty_corpora_are_refused(model_and_tok):
    model, tok = model_and_tok
    with pytest.raises(KeyError, match="no module"):
        collect_second_moments(model, tok, TEXTS, ["not.a.module"], progress=False)
    with pytest.raises(ValueError, match="no text samples"):
        collect_second_moments(model, tok, [], [arch_spec(model).mlp_out_name(0)], progress=False)
