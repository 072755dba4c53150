"""The common record every benchmarked method returns, and the budget it is run with."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["Budget", "RunRecord", "unweighting_efficiency"]


@dataclass(frozen=True)
class Budget:
    """Integrand-evaluation budget shared by every method of a benchmark.

    Attributes:
        n_survey: evaluations spent on training/adaptation (survey phase).
        n_refine: evaluations spent on the final estimate (refine phase).
        n_iter_survey: survey iterations; ``n_survey // n_iter_survey`` points each.
        n_iter_refine: refine iterations; ``n_refine // n_iter_refine`` points each.
        n_unweight: weighted events drawn from the trained density for the unweighting
            efficiency and the sampling throughput.
    """

    n_survey: int = 1_000_000
    n_refine: int = 1_000_000
    n_iter_survey: int = 10
    n_iter_refine: int = 10
    n_unweight: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("n_survey", "n_refine", "n_unweight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Expected {name} to be a non-negative integer; got {value!r}.")
        for name in ("n_iter_survey", "n_iter_refine"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected {name} to be a positive integer; got {value!r}.")
        if self.n_refine < self.n_iter_refine:
            raise ValueError(
                f"Expected n_refine >= n_iter_refine ({self.n_iter_refine}); got {self.n_refine}."
            )


@dataclass
class RunRecord:
    """What one method returns for one integrand, budget and seed.

    Attributes:
        method: method name (``"uniform"``, ``"vegas"``, ``"nisflow"``, ...).
        estimate: the integral estimate of the refine phase.
        error: its one-standard-deviation error.
        n_evals_survey: integrand evaluations spent in the survey phase.
        n_evals_refine: integrand evaluations spent in the refine phase.
        survey_s: wall seconds of the survey phase, integrand evaluations included.
        refine_s: wall seconds of the refine phase, integrand evaluations included.
        weights: weights ``w = f/p`` of ``n`` events drawn from the trained density, shape ``(n,)``.
        sample_s: wall seconds to draw those events and evaluate their weights.
        chi2_dof: chi^2 per degree of freedom of the refine iterations (nan if not available).
        history: survey history as ``[(cumulative evaluations, rel. variance per point), ...]``.
        points: a subset of the sampled points, shape ``(m, d)``, for density plots (may be None).
    """

    method: str
    estimate: float
    error: float
    n_evals_survey: int
    n_evals_refine: int
    survey_s: float
    refine_s: float
    weights: Tensor
    sample_s: float
    chi2_dof: float = math.nan
    history: list[tuple[int, float]] = field(default_factory=list)
    points: Tensor | None = None

    @property
    def unweighting_efficiency(self) -> float:
        """``mean(w) / max(w)`` over the finite weights of :attr:`weights`."""
        return unweighting_efficiency(self.weights)

    @property
    def events_per_s(self) -> float:
        """Weighted events (point, integrand value and weight) produced per wall second."""
        n = int(self.weights.numel())
        return n / self.sample_s if self.sample_s > 0 else math.inf

    def summary(self) -> dict[str, float | int | str | list]:
        """Plain-JSON fields of this record (weights and points left out)."""
        return {
            "method": self.method,
            "estimate": float(self.estimate),
            "error": float(self.error),
            "n_evals_survey": int(self.n_evals_survey),
            "n_evals_refine": int(self.n_evals_refine),
            "survey_s": float(self.survey_s),
            "refine_s": float(self.refine_s),
            "unw_eff": self.unweighting_efficiency,
            "n_unweight": int(self.weights.numel()),
            "events_per_s": self.events_per_s,
            "chi2_dof": float(self.chi2_dof),
            "history": [[int(n), float(v)] for n, v in self.history],
        }


def unweighting_efficiency(w: Tensor) -> float:
    """Hit-or-miss unweighting efficiency ``mean(w) / max(w)``.

    Args:
        w: weights, shape ``(n,)``; non-finite entries are ignored.

    Returns:
        The efficiency in [0, 1], or nan when no finite positive weight is present.
    """
    w = w.detach().reshape(-1).to(torch.float64)
    w = w[torch.isfinite(w)]
    if w.numel() == 0 or float(w.max()) <= 0:
        return math.nan
    return float(w.mean() / w.max())
