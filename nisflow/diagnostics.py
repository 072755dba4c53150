"""Is the error bar reliable? Weight diagnostics of a Monte Carlo integration result.

An importance-sampling estimate is only as good as the weights behind it. A sampler that missed a
region reports a small error around a wrong value; one that found it by a rare lucky point reports
a value dominated by that point. :class:`Diagnostics` collects what shows either case:

- the effective sample size ``ESS = (Σ|c|)² / Σc²`` of the points' contributions ``c`` to the
  estimate (``c = w / n`` for plain sampling, ``V_h w / n_h`` in cell ``h`` when stratified);
- the largest single contribution's share ``max|c| / Σ|c|``;
- the tail of the weight distribution: the Hill estimate ``k̂`` of the shape of the upper tail of
  ``|c|`` from its top ``√n`` order statistics (a generalized-Pareto tail ``P(|c| > t) ~ t^(−1/k̂)``
  has a finite variance only for ``k̂ < 1/2``; above ~0.7 the estimate and its error are
  unreliable, as in Pareto-smoothed importance sampling);
- χ²/dof and Q of the refine iterations around their mean;
- the pull between the survey-stage and refine-stage estimates.

:func:`diagnose` combines the per-iteration statistics; :meth:`Diagnostics.problems` lists what is
wrong and what to do about it, and the integrator raises a :class:`NisflowReliabilityWarning` with
that text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .result import IterationRecord, combine_estimates

__all__ = [
    "NisflowReliabilityWarning",
    "WeightStats",
    "WeightAccumulator",
    "Diagnostics",
    "diagnose",
    "THRESHOLDS",
    "miss_probability",
]


class NisflowReliabilityWarning(UserWarning):
    """The diagnostics say that the stated error of an integral cannot be trusted."""


#: Limits beyond which :meth:`Diagnostics.problems` reports a problem.
THRESHOLDS = {
    "min_ess": 100.0,  # effective points over all refine iterations
    "max_weight_share": 0.1,  # one point's share of Σ|c| in any refine iteration
    "max_tail_shape": 0.7,  # Hill k̂ of the contribution tail (PSIS's limit)
    "min_Q": 1e-3,  # χ² probability of the refine iterations
    "max_survey_pull": 5.0,  # |refine − survey| in combined standard deviations
}


@dataclass(frozen=True)
class WeightStats:
    """Statistics of the contributions of one iteration's points (see the module docstring).

    Attributes:
        n: number of points.
        ess: effective sample size ``(Σ|c|)² / Σc²`` (``0`` when every ``c`` vanishes; the
            absolute values keep it meaningful for signed integrands).
        max_weight_share: ``max|c| / Σ|c|`` (``0`` when every ``c`` vanishes).
        tail_shape: Hill estimate ``k̂`` of the upper tail of ``|c|`` (``nan`` when fewer than
            ``k + 1`` contributions are non-zero).
    """

    n: int
    ess: float
    max_weight_share: float
    tail_shape: float


class WeightAccumulator:
    """Accumulates :class:`WeightStats` chunk by chunk in bounded memory (float64).

    Args:
        n_expected: the number of points that will be added (fixes ``k = ⌈√n⌉`` of the Hill
            estimator, at least 10 and at most 10,000).
    """

    def __init__(self, n_expected: int):
        self.k = int(min(max(math.ceil(math.sqrt(max(n_expected, 1))), 10), 10_000))
        self.n = 0
        self.s2 = 0.0
        self.s_abs = 0.0
        self.top: Tensor | None = None

    def add(self, c: Tensor) -> None:
        """Add contributions ``c`` of shape ``(n,)``."""
        c = c.detach().to(torch.float64)
        a = c.abs()
        self.n += c.shape[0]
        self.s2 += float((c * c).sum())
        self.s_abs += float(a.sum())
        pool = a if self.top is None else torch.cat([self.top, a])
        self.top = torch.topk(pool, min(self.k + 1, pool.shape[0])).values

    def stats(self) -> WeightStats:
        """The statistics of everything added."""
        ess = self.s_abs * self.s_abs / self.s2 if self.s2 > 0 else 0.0
        top = self.top if self.top is not None else torch.zeros(0, dtype=torch.float64)
        share = float(top[0]) / self.s_abs if self.s_abs > 0 else 0.0
        tail = math.nan
        if top.shape[0] == self.k + 1 and float(top[-1]) > 0:
            tail = float(torch.log(top[:-1] / top[-1]).mean())
        return WeightStats(self.n, ess, share, tail)


@dataclass(frozen=True)
class Diagnostics:
    """Reliability figures of a result; :meth:`problems` says what is wrong, if anything.

    Attributes:
        n_points: refine points behind the figures.
        ess: effective sample size summed over the refine iterations.
        max_weight_share: the largest single contribution's share of its iteration's ``Σ|c|``.
        tail_shape: the largest Hill tail shape ``k̂`` over the refine iterations (``nan`` if
            undefined).
        chi2_dof: χ²/dof of the refine iterations.
        Q: its probability (``1`` for one iteration).
        survey_pull: (refine − survey) / combined error (``nan`` without survey estimates).
        uniform_fraction: the defensive mixture's uniform fraction used.
    """

    n_points: int
    ess: float
    max_weight_share: float
    tail_shape: float
    chi2_dof: float
    Q: float
    survey_pull: float = math.nan
    uniform_fraction: float = 0.0

    @property
    def ess_fraction(self) -> float:
        """``ess / n_points``."""
        return self.ess / self.n_points if self.n_points else 0.0

    @property
    def reliable(self) -> bool:
        """``True`` when :meth:`problems` finds nothing."""
        return not self.problems()

    def problems(self) -> tuple[str, ...]:
        """What makes the error bar unreliable, each with what to do; empty if nothing."""
        t = THRESHOLDS
        out = []
        more = "more survey points (a better-trained flow)"
        defend = "a larger uniform_fraction"
        if self.ess == 0:
            return (
                "the integrand vanished on every refine point: the result 0 ± 0 only says that "
                f"nothing was found; try {more}, {defend}, or a channel mapping onto its support",
            )
        if self.ess < t["min_ess"]:
            out.append(
                f"only {self.ess:.3g} effective points (ESS) carry the estimate; use more refine "
                f"points, {more} or {defend}"
            )
        if self.max_weight_share > t["max_weight_share"]:
            out.append(
                f"a single point carries {self.max_weight_share:.0%} of an iteration's sum: the "
                f"flow under-samples a region the integrand fills; use {defend}, {more}, or a "
                "channel mapping for that region"
            )
        if self.tail_shape > t["max_tail_shape"]:
            out.append(
                f"the weights have a heavy tail (Hill shape {self.tail_shape:.2f} > "
                f"{t['max_tail_shape']}): the variance may be infinite; use {defend} or {more}"
            )
        if self.Q < t["min_Q"]:
            out.append(
                f"the refine iterations disagree (chi2/dof = {self.chi2_dof:.2f}, Q = "
                f"{self.Q:.1e}); use more points per iteration, {more} or {defend}"
            )
        if abs(self.survey_pull) > t["max_survey_pull"]:
            out.append(
                f"the survey and refine estimates differ by {abs(self.survey_pull):.1f} standard "
                f"deviations: one of them missed part of the integrand; use {defend}, {more}, or "
                "a channel"
            )
        return tuple(out)

    def summary(self) -> str:
        """A short text block of the figures and any problem."""
        lines = [
            f"diagnostics: ESS = {self.ess:.4g} ({self.ess_fraction:.1%} of {self.n_points})   "
            f"max weight share = {self.max_weight_share:.2e}   tail shape = "
            f"{self.tail_shape:.2f}   survey pull = {self.survey_pull:.2f}   "
            f"uniform fraction = {self.uniform_fraction:g}"
        ]
        problems = self.problems()
        lines += [f"WARNING: {p}" for p in problems] if problems else ["error bar: reliable"]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, float]:
        """Plain-Python dictionary."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def diagnose(
    refine: Sequence[IterationRecord],
    stats: Sequence[WeightStats],
    survey: Sequence[IterationRecord] = (),
    *,
    uniform_fraction: float = 0.0,
) -> Diagnostics:
    """Combine the refine iterations' weight statistics and estimates into :class:`Diagnostics`.

    Args:
        refine: the refine iterations (at least one).
        stats: their :class:`WeightStats`, one per iteration.
        survey: survey iterations whose combined estimate is compared with the refine one.
        uniform_fraction: recorded in the result.
    """
    if not refine or len(stats) != len(refine):
        raise ValueError(
            f"Expected one WeightStats per refine iteration (at least one); got {len(stats)} "
            f"for {len(refine)}."
        )
    mean, sdev, chi2_dof, q = combine_estimates(
        [r.value for r in refine], [r.variance for r in refine], [r.n_evals for r in refine]
    )
    pull = math.nan
    usable = [r for r in survey if r.variance > 0]
    if usable:
        s_mean, s_sdev, _, _ = combine_estimates(
            [r.value for r in usable], [r.variance for r in usable]
        )
        scale = math.hypot(sdev, s_sdev)
        if scale > 0:
            pull = (mean - s_mean) / scale
    tails = [s.tail_shape for s in stats if not math.isnan(s.tail_shape)]
    return Diagnostics(
        n_points=sum(s.n for s in stats),
        ess=sum(s.ess for s in stats),
        max_weight_share=max(s.max_weight_share for s in stats),
        tail_shape=max(tails) if tails else math.nan,
        chi2_dof=chi2_dof,
        Q=q,
        survey_pull=pull,
        uniform_fraction=uniform_fraction,
    )


def miss_probability(volume: float, n_points: int, uniform_fraction: float) -> float:
    """Chance that the defensive component puts no point into a region of the given volume.

    What no point reaches leaves no trace in the weights, so no diagnostic can flag it: if the
    flow also ignores the region, the estimate misses its mass silently. The uniform share of the
    sampling density ``(1 − α) q + α`` guarantees each point lands in a region of volume ``V``
    (a fraction of the integration box) with probability at least ``α V``, so over ``n`` points
    the region stays unvisited with probability at most ``(1 − α V)^n ≈ exp(−α V n)``. Choose
    ``uniform_fraction`` and the number of points so that ``α V n ≫ 1`` for the smallest region
    that may hold mass you care about.

    Args:
        volume: the region's volume as a fraction of the box, in [0, 1].
        n_points: points drawn (survey and refine together).
        uniform_fraction: the defensive fraction α in [0, 1].

    Returns:
        ``(1 − α V)^n``, the upper bound on the probability of never sampling the region.
    """
    for name, v in (("volume", volume), ("uniform_fraction", uniform_fraction)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError(f"Expected {name} in [0, 1]; got {v!r}.")
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 0:
        raise ValueError(f"Expected a non-negative integer n_points; got {n_points!r}.")
    p = uniform_fraction * volume
    return 1.0 if p == 0 else math.exp(n_points * math.log1p(-p)) if p < 1 else float(n_points == 0)
