"""Breit–Wigner (Cauchy) mappings, truncated to a range (MadNIS eq. 46, 51, 61–62).

The density of :class:`BreitWigner` on ``(low, high)`` is

    g(x) = 1 / (ω_max - ω_min) · γ / ((x - μ)² + γ²),   ω_{min,max} = arctan((low, high) - μ) / γ),

sampled by ``x = μ + γ tan(ω_min + (ω_max - ω_min) u)``. On the whole real line this is eq. (46)
with ``γ = √2 σ``. :class:`RelativisticBreitWigner` is the same map in the invariant mass squared
``s`` of a resonance with mass ``M`` and width ``Γ`` (eq. 61–62): ``μ = M²`` and ``γ = MΓ``.
(Eq. 62 of the paper prints ``s²`` inside the arctan; the normalised density needs ``s``.)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Mapping

__all__ = ["BreitWigner", "RelativisticBreitWigner"]


def _finite_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"Expected {name} to be a finite real number; got {value!r}.")
    return float(value)


class BreitWigner(Mapping):
    """Maps [0, 1] onto ``(low, high)`` with a Cauchy density of location ``mean`` and scale ``width``.

    Infinite bounds are allowed. At ``u`` in {0, 1} the image is the bound itself when it is
    finite; an infinite bound is replaced by the largest angle the dtype resolves, so the image and
    the log-determinant stay finite (about ``width / eps`` away from ``mean``).

    Args:
        mean: location μ of the peak.
        width: half width at half maximum γ > 0 (eq. 46 uses ``γ = √2 σ``).
        low: lower end of the range (default -inf).
        high: upper end of the range (default +inf).

    Example:
        >>> bw = BreitWigner(2.0, math.sqrt(2) * 0.5)   # the 1D camel back's first channel
        >>> x, log_det = bw(torch.rand(5, 1, dtype=torch.float64))
        >>> x.shape, log_det.shape
        (torch.Size([5, 1]), torch.Size([5]))
    """

    def __init__(self, mean: float, width: float, low: float = -math.inf, high: float = math.inf):
        mean = _finite_float(mean, "mean")
        width = _finite_float(width, "width")
        if width <= 0:
            raise ValueError(f"Expected a positive width; got {width!r}.")
        if isinstance(low, bool) or not isinstance(low, (int, float)) or math.isnan(low):
            raise ValueError(f"Expected low to be a real number or -inf; got {low!r}.")
        if isinstance(high, bool) or not isinstance(high, (int, float)) or math.isnan(high):
            raise ValueError(f"Expected high to be a real number or +inf; got {high!r}.")
        super().__init__(1, float(low), float(high))
        omega_low = math.atan((low - mean) / width)
        omega_high = math.atan((high - mean) / width)
        if not omega_high > omega_low:
            raise ValueError(
                f"Expected a range that resolves the peak (mean={mean}, width={width}); got "
                f"[{low}, {high}], which has no probability mass in float64."
            )
        f64 = torch.float64
        self.register_buffer("mean", torch.tensor(mean, dtype=f64))
        self.register_buffer("width", torch.tensor(width, dtype=f64))
        self.register_buffer("omega_low", torch.tensor(omega_low, dtype=f64))
        self.register_buffer("omega_high", torch.tensor(omega_high, dtype=f64))
        # the normalisation (ω_max - ω_min) γ, the forward Jacobian at x = μ.
        self.register_buffer("scale", torch.tensor((omega_high - omega_low) * width, dtype=f64))

    def extra_repr(self) -> str:
        return (
            f"mean={self.mean.item():g}, width={self.width.item():g}, "
            f"low={self.low.item():g}, high={self.high.item():g}"
        )

    def _angle_limits(self, t: Tensor) -> tuple[Tensor, Tensor]:
        # Angles strictly inside (-π/2, π/2) in t's dtype, so that tan keeps its sign.
        margin = 4 * torch.finfo(t.dtype).eps
        lo = self.omega_low.to(t).clamp(min=-math.pi / 2 + margin)
        hi = self.omega_high.to(t).clamp(max=math.pi / 2 - margin)
        return lo, hi

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        w_lo, w_hi = self.omega_low.to(u), self.omega_high.to(u)
        lo, hi = self._angle_limits(u)
        omega = torch.minimum(torch.maximum(w_lo + (w_hi - w_lo) * u, lo), hi)
        t = torch.tan(omega)
        x = self.mean.to(u) + self.width.to(u) * t
        x = torch.minimum(torch.maximum(x, self.low.to(u)), self.high.to(u))
        log_det = torch.log(self.scale.to(u) * (1 + t * t))
        return x, log_det.squeeze(-1)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        t = (x - self.mean.to(x)) / self.width.to(x)
        w_lo, w_hi = self.omega_low.to(x), self.omega_high.to(x)
        u = ((torch.atan(t) - w_lo) / (w_hi - w_lo)).clamp(0.0, 1.0)
        log_det = -torch.log(self.scale.to(x) * (1 + t * t))
        return u, log_det.squeeze(-1)


class RelativisticBreitWigner(BreitWigner):
    """The s-channel Breit–Wigner of a resonance: density ∝ 1 / ((s - M²)² + M²Γ²) on [s_min, s_max].

    Maps [0, 1] onto the invariant mass squared ``s`` (MadNIS eq. 61–62); identical to
    ``BreitWigner(mass**2, mass * width, s_min, s_max)``.

    Args:
        mass: resonance mass M > 0.
        width: resonance width Γ > 0.
        s_min: lower end of the s range (default 0).
        s_max: upper end of the s range (may be +inf).
    """

    def __init__(self, mass: float, width: float, s_min: float = 0.0, s_max: float = math.inf):
        mass = _finite_float(mass, "mass")
        width = _finite_float(width, "width")
        if mass <= 0 or width <= 0:
            raise ValueError(f"Expected a positive mass and width; got mass={mass}, width={width}.")
        super().__init__(mass * mass, mass * width, s_min, s_max)
        self.mass = mass
        self.resonance_width = width

    def extra_repr(self) -> str:
        return (
            f"mass={self.mass:g}, width={self.resonance_width:g}, "
            f"s_min={self.low.item():g}, s_max={self.high.item():g}"
        )
