"""A piecewise-constant envelope of the weight in the latent cube, for unweighting.

Hit-or-miss unweighting keeps a point with probability ``w / w_max``, so its efficiency is
``mean(w) / max(w)``: one rare large weight costs as much as a poor fit everywhere. A trained
flow leaves exactly that: a weight close to 1 almost everywhere and a few narrow spikes where the
flow's smooth density does not follow a sharp edge of the integrand (a cut, a steep peak).

The refine evaluates the latent weight ``g(u) = |f(T(u))| / q(T(u))`` at ~10^6 latent points
``u``. Cutting the latent cube into ``m^d`` equal cells and keeping the largest ``g`` seen in each
cell and its ``3^d`` neighbours (a handful of points misses the top of a spike, rarely that of
every neighbour) gives an envelope ``M_h``. Drawing the latent point from the piecewise-constant
density ``h(u) = m^d p_h`` with

    p_h = (1 − ε) M_h / Σ_k M_k + ε / m^d

(``ε`` keeps every cell reachable) gives points ``x = T(u)`` of density ``q(x) h(u)`` and weights
``g / h``, which stay below ``Σ_k M_k / ((1 − ε) m^d)`` wherever the envelope holds: the spikes
are sampled as often as their height asks. The price is a larger spread of the weights where
the envelope is loose, so :meth:`~nisflow.Integrator.sample` keeps the plain flow and only
:meth:`~nisflow.Integrator.unweighting_sample` (what :meth:`~nisflow.Integrator.unweight` draws
from) uses the envelope.

The grid has ``m^d`` cells with ``points_per_cell`` refine points each per iteration; it needs a
few cells per axis to resolve anything, so it is used up to ``d = 3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .stratification import cell_of, neighbourhood, points_in_cells, strata_per_dim

__all__ = [
    "LatentEnvelope",
    "envelope_grid",
    "cell_maxima",
    "envelope_from_maxima",
    "MAX_ENVELOPE_DIM",
]

#: The largest dimension with an envelope: beyond it too few cells per axis fit (module doc).
MAX_ENVELOPE_DIM = 3


@dataclass(frozen=True)
class LatentEnvelope:
    """The piecewise-constant latent density ``h(u) = m^d p_h`` of :func:`envelope_from_maxima`.

    Attributes:
        m: cells per axis.
        d: dimension.
        log_density: ``log(m^d p_h)`` per cell, float64, shape ``(m**d,)``; cell ``h`` has the
            base-``m`` digits of ``h`` as integer coordinates, first axis fastest.
    """

    m: int
    d: int
    log_density: Tensor

    def __post_init__(self) -> None:
        if self.log_density.shape != (self.m**self.d,):
            raise ValueError(
                f"Expected log_density of shape ({self.m**self.d},) for m={self.m}, d={self.d}; "
                f"got {tuple(self.log_density.shape)}."
            )

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` latent points from ``h``: ``(u, log_h)`` of shapes ``(n, d)``, ``(n,)``."""
        log_density = self.log_density.to(device)
        cell = torch.multinomial(log_density.exp(), n, replacement=True, generator=generator)
        u = points_in_cells(cell, self.m, self.d, generator=generator, dtype=dtype)
        return u, log_density[cell]

    def log_prob(self, u: Tensor) -> Tensor:
        """``log h(u)`` at latent points of shape ``(n, d)``; float64, shape ``(n,)``."""
        if u.dim() != 2 or u.shape[1] != self.d:
            raise ValueError(f"Expected points of shape (n, {self.d}); got {tuple(u.shape)}.")
        return self.log_density.to(u.device)[cell_of(u, self.m)]


def envelope_grid(
    n_points: int, d: int, *, points_per_cell: int = 64, min_per_axis: int = 4
) -> int:
    """Cells per axis of the envelope for refine iterations of ``n_points`` points.

    Returns:
        The largest ``m`` with ``points_per_cell`` points per cell, or 1 (no envelope) when
        ``d > MAX_ENVELOPE_DIM`` or fewer than ``min_per_axis`` cells per axis fit.
    """
    if d > MAX_ENVELOPE_DIM or n_points < 1:
        return 1
    m = strata_per_dim(n_points, d, min_per_cell=points_per_cell)
    return m if m >= min_per_axis else 1


def cell_maxima(u: Tensor, g: Tensor, m: int, *, out: Tensor | None = None) -> Tensor:
    """The largest ``|g|`` per cell of an ``m``-per-axis grid (0 where no point fell).

    Args:
        u: latent points, shape ``(n, d)`` in [0, 1]^d.
        g: their latent weights, shape ``(n,)``.
        m: cells per axis.
        out: float64 maxima of earlier points, shape ``(m**d,)``, updated in place.

    Returns:
        Float64 tensor of shape ``(m**d,)`` on ``u``'s device (``out`` when given).
    """
    g64 = g.detach().to(torch.float64).abs()
    if out is None:
        out = torch.zeros(m ** u.shape[1], dtype=torch.float64, device=u.device)
    return out.scatter_reduce_(0, cell_of(u, m), g64, reduce="amax", include_self=True)


def envelope_from_maxima(maxima: Tensor, m: int, d: int, *, floor: float = 0.1) -> LatentEnvelope:
    """The envelope density from per-cell maxima of the latent weight.

    Each cell's envelope is the largest maximum among it and its ``3^d`` neighbours; the
    probabilities are ``(1 − floor)`` ∝ the envelope plus ``floor`` spread evenly.

    Args:
        maxima: per-cell maxima (:func:`cell_maxima`), shape ``(m**d,)``.
        m: cells per axis.
        d: dimension, at most :data:`MAX_ENVELOPE_DIM`.
        floor: the evenly spread share, in (0, 1].

    Raises:
        ValueError: wrong shape, NaN/inf maxima, ``d`` too large or ``floor`` outside (0, 1].
    """
    if not 1 <= d <= MAX_ENVELOPE_DIM:
        raise ValueError(f"Expected 1 <= d <= {MAX_ENVELOPE_DIM} for an envelope; got d={d}.")
    if maxima.shape != (m**d,):
        raise ValueError(f"Expected maxima of shape ({m**d},); got {tuple(maxima.shape)}.")
    if not 0 < floor <= 1:
        raise ValueError(f"Expected floor in (0, 1]; got {floor!r}.")
    bad = int((~torch.isfinite(maxima)).sum())
    if bad:
        raise ValueError(f"Expected finite per-cell maxima; got {bad} NaN/inf of {m**d}.")
    spread = neighbourhood(maxima.detach().to(torch.float64).clamp_min(0), m, d, reduce="max")
    total = float(spread.sum())
    n_cells = m**d
    even = torch.full_like(spread, 1.0 / n_cells)
    p = (1.0 - floor) * spread / total + floor * even if total > 0 else even
    return LatentEnvelope(m, d, torch.log(p * n_cells))
