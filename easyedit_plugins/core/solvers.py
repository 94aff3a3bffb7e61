"""Closed-form weight updates of the MEMIT family, and the AlphaEdit null-space projector.

Every function computes in float64 on the device of the keys ``K`` and returns float64: these systems are badly conditioned
(``lam * C0`` is dominated by a few large directions of the key space, ``K K^T`` has rank n), and
EasyEdit's own MEMIT solves in double precision for that reason. Callers cast the result to the
weight's dtype when they write it. No function forms an explicit inverse: every update is the
solution of a linear system, by Cholesky where the matrix is symmetric positive definite.

Shapes, throughout:

* ``K``: keys, ``d_in x n`` (one column per edited fact; ``d_in`` is the width of the MLP output
  projection's input).
* ``R``: residuals, ``d_out x n`` (what the layer's output must gain at each key).
* ``C0``: uncentred second moment of the keys over a corpus, ``d_in x d_in``.
* ``dW``: an update of a weight stored as ``d_out x d_in`` (see ``core.weights.weight_out_in``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


class SingularSystemError(ValueError):
    """The linear system of an update has no unique solution."""


def _as_float64(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as a float64 matrix, refusing other ranks and non-finite values by name."""
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be a matrix, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor.to(torch.float64)


def solve_symmetric(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve ``a x = b`` for a symmetric ``a``: Cholesky if positive definite, else LU.

    The LU fallback covers matrices that are symmetric but only semi-definite in floating point
    (a tiny ``lam`` with a rank-deficient ``C0``); a zero pivot there means no unique solution.
    """
    factor, info = torch.linalg.cholesky_ex(a)
    if int(info) == 0:
        return torch.cholesky_solve(b, factor)
    log.debug("matrix is not numerically positive definite (Cholesky failed at %d); using LU", int(info))
    return solve_general(a, b)


def solve_general(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve ``a x = b`` by LU with partial pivoting; raise :class:`SingularSystemError` if singular."""
    solution, info = torch.linalg.solve_ex(a, b)
    if int(info) != 0 or not torch.isfinite(solution).all():
        raise SingularSystemError(
            f"the {a.shape[0]}x{a.shape[1]} system is singular (no unique solution); "
            "use a larger regularisation (mom2_update_weight / L2) or check the covariance statistics"
        )
    return solution


def memit_update(K: torch.Tensor, R: torch.Tensor, C0: torch.Tensor, lam: float) -> torch.Tensor:
    """MEMIT's update ``dW = R K^T (lam C0 + K K^T)^-1`` (``d_out x d_in``, float64).

    Computed as ``X = solve(lam C0 + K K^T, K)`` then ``dW = R X^T``, which is the same quantity
    because the matrix is symmetric. As ``lam -> 0`` (with ``n <= d_in`` independent keys),
    ``dW K -> R``: the new keys get exactly their targets; a larger ``lam`` trades that for
    smaller changes on the keys ``C0`` describes.
    """
    keys = _as_float64("K", K)
    residuals = _as_float64("R", R).to(keys.device)
    moment = _as_float64("C0", C0).to(keys.device)  # statistics are cached on the CPU
    d_in, n = keys.shape
    if residuals.shape[1] != n:
        raise ValueError(f"K has {n} columns but R has {residuals.shape[1]}; both need one per key")
    if moment.shape != (d_in, d_in):
        raise ValueError(f"C0 must be {d_in}x{d_in} to match K, got {tuple(moment.shape)}")
    system = lam * moment + keys @ keys.T
    adjusted = solve_symmetric(system, keys)
    return residuals @ adjusted.T


@dataclass(frozen=True)
class NullSpaceProjection:
    """The projector onto the directions of ``C0`` treated as unused by preserved keys.

    ``dimension`` is how many eigen-directions the projector keeps (its rank), out of ``size``;
    ``cutoff`` is the eigenvalue bound that selected them (eigenvalue < cutoff), reported with
    ``max_eigenvalue`` so a caller can log how the threshold sits in the spectrum.
    """

    projector: torch.Tensor
    dimension: int
    size: int
    cutoff: float
    max_eigenvalue: float


def nullspace_projector(
    C0: torch.Tensor, threshold: float | None = 2e-2, relative_threshold: float | None = None
) -> NullSpaceProjection:
    """AlphaEdit's projector ``P = U U^T`` over the eigenvectors of ``C0`` with small eigenvalues.

    ``threshold`` is AlphaEdit's absolute bound (2e-2 in EasyEdit). It depends on the scale of a
    model's keys, so ``relative_threshold`` offers a bound relative to the largest eigenvalue,
    ``relative_threshold * max_eigenvalue``. Combination rule: an eigenvalue is in the null space
    when it is below EVERY bound given, i.e. the cutoff is the smaller of the two. Pass
    ``threshold=None`` to use the relative bound alone. ``C0`` must be symmetric; ``eigh``
    reads its lower triangle. Computed in float64, returned in float64.
    """
    if threshold is None and relative_threshold is None:
        raise ValueError("give threshold, relative_threshold or both")
    moment = _as_float64("C0", C0)
    if moment.shape[0] != moment.shape[1]:
        raise ValueError(f"C0 must be square, got {tuple(moment.shape)}")
    eigenvalues, eigenvectors = torch.linalg.eigh(moment)
    max_eigenvalue = float(eigenvalues.abs().max()) if eigenvalues.numel() else 0.0
    bounds = []
    if threshold is not None:
        bounds.append(float(threshold))
    if relative_threshold is not None:
        bounds.append(float(relative_threshold) * max_eigenvalue)
    cutoff = min(bounds)
    null = eigenvectors[:, eigenvalues < cutoff]
    log.debug("null space: %d of %d directions below %.3g", null.shape[1], moment.shape[0], cutoff)
    return NullSpaceProjection(
        projector=null @ null.T,
        dimension=int(null.shape[1]),
        size=int(moment.shape[0]),
        cutoff=cutoff,
        max_eigenvalue=max_eigenvalue,
    )


def alphaedit_update(
    K: torch.Tensor, R: torch.Tensor, P: torch.Tensor, C_prev: torch.Tensor | None, l2: float
) -> torch.Tensor:
    """AlphaEdit's update: ``dW^T = solve(P (K K^T + C_prev) + l2 I, P K R^T)`` (``d_out x d_in``).

    ``P`` is the null-space projector (``d_in x d_in``), ``C_prev`` the sum of ``K K^T`` over
    earlier sequential edits (None or zeros at first). The matrix is not symmetric, hence LU.
    Its solution lies in the range of ``P``, so ``dW k = 0`` for every preserved key ``k`` with
    ``P k = 0``: that is the point of the projection.
    """
    keys = _as_float64("K", K)
    residuals = _as_float64("R", R).to(keys.device)
    projector = _as_float64("P", P).to(keys.device)
    d_in, n = keys.shape
    if residuals.shape[1] != n:
        raise ValueError(f"K has {n} columns but R has {residuals.shape[1]}; both need one per key")
    if projector.shape != (d_in, d_in):
        raise ValueError(f"P must be {d_in}x{d_in} to match K, got {tuple(projector.shape)}")
    gram = keys @ keys.T
    if C_prev is not None:
        previous = _as_float64("C_prev", C_prev).to(keys.device)
        if previous.shape != (d_in, d_in):
            raise ValueError(f"C_prev must be {d_in}x{d_in} to match K, got {tuple(previous.shape)}")
        gram = gram + previous
    identity = torch.eye(d_in, dtype=torch.float64, device=keys.device)
    system = projector @ gram + l2 * identity
    update_transposed = solve_general(system, projector @ keys @ residuals.T)
    return update_transposed.T


class EditedKeyMoments:
    """The running ``sum of K K^T`` of the keys already edited, per layer (AlphaEdit's ``C_prev``).

    Sequential AlphaEdit keeps later edits from undoing earlier ones by adding every edited
    batch's ``K K^T`` here. EasyEdit holds it in a module-level global, which leaks between
    models and runs; this object belongs to whoever owns the model's editing session (one per
    model), and ``reset()`` starts a new sequence.
    """

    def __init__(self) -> None:
        self._sums: dict[int, torch.Tensor] = {}

    def add(self, layer: int, K: torch.Tensor) -> None:
        """Record the keys ``K`` (``d_in x n``) just edited at ``layer``."""
        keys = _as_float64("K", K)
        gram = keys @ keys.T
        if layer in self._sums:
            if self._sums[layer].shape != gram.shape:
                raise ValueError(
                    f"layer {layer}: keys of width {gram.shape[0]} do not match the earlier width "
                    f"{self._sums[layer].shape[0]}"
                )
            self._sums[layer] = self._sums[layer] + gram.to(self._sums[layer].device)
        else:
            self._sums[layer] = gram

    def get(self, layer: int, d_in: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The sum so far at ``layer`` (``d_in x d_in`` float64; zeros before the first edit)."""
        if layer not in self._sums:
            return torch.zeros(d_in, d_in, dtype=torch.float64, device=device)
        total = self._sums[layer]
        if total.shape != (d_in, d_in):
            raise ValueError(f"layer {layer}: stored sum is {tuple(total.shape)}, asked for {d_in}x{d_in}")
        return total.to(device) if device is not None else total

    def layers(self) -> list[int]:
        return sorted(self._sums)

    def reset(self) -> None:
        self._sums.clear()
