"""Integration results: per-iteration estimates, their combination, and the result object.

Iterations are combined as vegas does: by inverse-variance weighting in float64, with the χ² of
the iteration values around the weighted mean, ``chi2_dof = χ²/(k − 1)`` and
``Q = P(χ²_{k−1} > χ²)``, the probability that a larger χ² arises by chance (small Q, say below
0.05, means the iterations disagree more than their errors allow).

The result unpacks as the seed's tuple::

    value, error, history = integrator.integrate()
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from .diagnostics import Diagnostics

__all__ = [
    "IterationRecord",
    "IntegrationResult",
    "estimate_from_weights",
    "combine_estimates",
    "chi2_survival",
    "format_mean_error",
]


@dataclass(frozen=True)
class IterationRecord:
    """One survey or refine iteration.

    Attributes:
        phase: ``"survey"`` or ``"refine"``.
        index: the iteration number within its phase, from 0.
        value: the integral estimated from this iteration's points.
        variance: the variance of ``value`` (``var(w) / n`` with Bessel's correction).
        n_evals: integrand evaluations spent in this iteration.
        sampler: what the points were drawn from: ``"flat"``, ``"model"`` (the flow, frozen or
            not) or ``"online"``.
        loss: mean training loss over the iteration's gradient steps (``nan`` in refine).
        n_steps: gradient steps taken in this iteration.
        seconds: wall time of the iteration.
    """

    phase: str
    index: int
    value: float
    variance: float
    n_evals: int
    sampler: str = "model"
    loss: float = math.nan
    n_steps: int = 0
    seconds: float = 0.0

    @property
    def error(self) -> float:
        """Standard deviation of :attr:`value`."""
        return math.sqrt(self.variance)

    def to_dict(self) -> dict[str, object]:
        """Plain-Python dictionary (for saving)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def estimate_from_weights(w: Tensor) -> tuple[float, float]:
    """Mean of the weights and the variance of that mean, in float64.

    Args:
        w: weights ``f(x) / q(x)`` of points ``x ~ q``, shape ``(n,)``, ``n >= 1``.

    Returns:
        ``(mean, var(w) / n)`` with the unbiased ``var`` (``0`` when ``n = 1``).
    """
    if w.dim() != 1 or w.shape[0] == 0:
        raise ValueError(f"Expected weights of shape (n,) with n >= 1; got {tuple(w.shape)}.")
    w = w.detach().to(torch.float64)
    n = w.shape[0]
    mean = w.mean()
    if n == 1:
        return float(mean), 0.0
    var = ((w - mean) ** 2).sum() / (n - 1)
    return float(mean), float(var) / n


def chi2_survival(chi2: float, dof: int) -> float:
    """``Q = P(χ²_dof > chi2)``, the upper regularized incomplete gamma ``Γ(dof/2, chi2/2)``."""
    if dof <= 0:
        return 1.0
    if math.isinf(chi2):
        return 0.0
    a = torch.tensor(dof / 2.0, dtype=torch.float64)
    x = torch.tensor(max(chi2, 0.0) / 2.0, dtype=torch.float64)
    return float(torch.special.gammaincc(a, x))


def combine_estimates(
    values: Sequence[float], variances: Sequence[float], n_evals: Sequence[int] | None = None
) -> tuple[float, float, float, float]:
    """Combine independent estimates by inverse-variance weighting (float64), as vegas does.

    Zero-variance estimates (an integrand constant in ``f/q``, or zero) are handled: if all
    variances vanish the values are averaged with error 0; if only some vanish (a batch that
    missed the whole support of ``f``), the estimates are averaged with weights ``n_evals``
    and the error propagated accordingly, since ``1/0`` weights would be meaningless.

    Args:
        values: the estimates, length ``k >= 1``.
        variances: their variances, length ``k``.
        n_evals: sample sizes (for the zero-variance fallback); equal weights if ``None``.

    Returns:
        ``(mean, sdev, chi2_dof, Q)`` where ``chi2_dof`` is ``0`` and ``Q`` is ``1`` for ``k = 1``.
    """
    v = torch.as_tensor(list(values), dtype=torch.float64)
    s2 = torch.as_tensor(list(variances), dtype=torch.float64)
    k = v.shape[0]
    if k == 0 or s2.shape[0] != k:
        raise ValueError(
            f"Expected as many variances as values (at least one); got {k} and {s2.shape[0]}."
        )
    if bool((s2 < 0).any()) or not bool(torch.isfinite(s2).all() and torch.isfinite(v).all()):
        raise ValueError(f"Expected finite values and non-negative variances; got {v}, {s2}.")
    zero = s2 == 0
    if bool(zero.all()):
        mean = float(v.mean())
        spread = float((v - mean).abs().max())
        chi2 = 0.0 if spread <= 1e-12 * max(abs(mean), 1e-300) else math.inf
        sdev = 0.0
    elif bool(zero.any()):
        n = (
            torch.ones(k, dtype=torch.float64)
            if n_evals is None
            else torch.as_tensor(list(n_evals), dtype=torch.float64)
        )
        a = n / n.sum()
        mean = float((a * v).sum())
        sdev = float(((a * a) * s2).sum().sqrt())
        nz = ~zero
        chi2 = float((((v[nz] - mean) ** 2) / s2[nz]).sum())
    else:
        w = 1.0 / s2
        mean = float((w * v).sum() / w.sum())
        sdev = float((1.0 / w.sum()).sqrt())
        chi2 = float((w * (v - mean) ** 2).sum())
    dof = k - 1
    chi2_dof = chi2 / dof if dof > 0 else 0.0
    return mean, sdev, chi2_dof, chi2_survival(chi2, dof)


def format_mean_error(mean: float, sdev: float) -> str:
    """Format ``mean ± sdev`` as vegas/gvar do: ``0.031416(12)``, two digits of error.

    Very large or very small numbers use an exponent: ``1.2345(12)e+08``.
    """
    if not (math.isfinite(mean) and math.isfinite(sdev)) or sdev < 0:
        return f"{mean} +- {sdev}"
    if sdev == 0:
        return f"{mean:.10g}(0)"
    scale = max(abs(mean), sdev)
    if scale >= 1e6 or scale < 1e-5:
        e = math.floor(math.log10(scale))
        return f"{format_mean_error(mean / 10**e, sdev / 10**e)}e{e:+03d}"
    decimals = 1 - math.floor(math.log10(sdev))
    digits = round(sdev * 10**decimals)
    if digits >= 100:  # 0.0995 rounds to 100: one decimal fewer
        decimals -= 1
        digits = round(sdev * 10**decimals)
    if decimals > 0 and sdev >= 0.95:  # the error reaches the units: write it out, "2.5(1.0)"
        return f"{mean:.{decimals}f}({digits / 10**decimals:.{decimals}f})"
    if decimals > 0:
        return f"{mean:.{decimals}f}({digits})"
    return f"{mean:.0f}({sdev:.0f})"


@dataclass(frozen=True)
class IntegrationResult:
    """The integral with its error, as vegas reports it; unpacks as ``(value, error, history)``.

    Attributes:
        mean: the integral (float64 arithmetic), combined over :attr:`iterations`.
        sdev: its standard deviation.
        chi2_dof: χ² per degree of freedom of the combined iterations around the mean.
        Q: probability of a χ² at least as large by chance (``1`` for a single iteration).
        n_evals: integrand evaluations spent in total (survey and refine).
        iterations: the iterations combined into :attr:`mean` (refine, and survey if asked).
        history: every iteration, survey and refine, in order.
        diagnostics: the reliability figures of the refine points
            (:class:`nisflow.diagnostics.Diagnostics`), ``None`` where not computed.
    """

    mean: float
    sdev: float
    chi2_dof: float
    Q: float
    n_evals: int
    iterations: tuple[IterationRecord, ...] = field(default=())
    history: tuple[IterationRecord, ...] = field(default=())
    diagnostics: Diagnostics | None = field(default=None, compare=False)

    @classmethod
    def from_iterations(
        cls,
        iterations: Sequence[IterationRecord],
        history: Sequence[IterationRecord] = (),
        n_evals: int | None = None,
    ) -> IntegrationResult:
        """Combine ``iterations`` (at least one) into a result."""
        its = tuple(iterations)
        if not its:
            raise ValueError("Expected at least one iteration to combine; got none.")
        mean, sdev, chi2_dof, q = combine_estimates(
            [r.value for r in its], [r.variance for r in its], [r.n_evals for r in its]
        )
        hist = tuple(history) if history else its
        total = sum(r.n_evals for r in hist) if n_evals is None else int(n_evals)
        return cls(mean, sdev, chi2_dof, q, total, its, hist)

    # -- the seed's tuple ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[object]:
        return iter((self.mean, self.sdev, self.history))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int) -> object:
        return (self.mean, self.sdev, self.history)[i]

    # -- vegas-like aliases and printout -----------------------------------------------------
    @property
    def value(self) -> float:
        """Alias of :attr:`mean`."""
        return self.mean

    @property
    def error(self) -> float:
        """Alias of :attr:`sdev`."""
        return self.sdev

    @property
    def rel_error(self) -> float:
        """``sdev / |mean|`` (``inf`` for a zero mean with non-zero error, ``0`` for 0 ± 0)."""
        if self.mean == 0:
            return 0.0 if self.sdev == 0 else math.inf
        return self.sdev / abs(self.mean)

    def __str__(self) -> str:
        return format_mean_error(self.mean, self.sdev)

    def summary(self) -> str:
        """A table of every iteration: its value, error, and the cumulative combination."""
        lines = [
            "itn  phase   sampler      integral            cumulative          chi2/dof   Q     loss",
            "-" * 92,
        ]
        combined: list[IterationRecord] = []
        used = {(r.phase, r.index) for r in self.iterations}
        for r in self.history:
            cum = ""
            chi = ""
            if (r.phase, r.index) in used:
                combined.append(r)
                m, s, c, q = combine_estimates(
                    [c_.value for c_ in combined],
                    [c_.variance for c_ in combined],
                    [c_.n_evals for c_ in combined],
                )
                cum = format_mean_error(m, s)
                chi = f"{c:8.2f}  {q:5.2f}"
            loss = "" if math.isnan(r.loss) else f"{r.loss:.4g}"
            lines.append(
                f"{r.index + 1:>3}  {r.phase:<6}  {r.sampler:<11}  "
                f"{format_mean_error(r.value, r.error):<18}  {cum:<18}  {chi:<14}  {loss}"
            )
        lines.append("-" * 92)
        lines.append(
            f"result: {self}   chi2/dof = {self.chi2_dof:.2f}   Q = {self.Q:.2f}   "
            f"n_evals = {self.n_evals}"
        )
        if self.diagnostics is not None:
            lines.append(self.diagnostics.summary())
        return "\n".join(lines)
