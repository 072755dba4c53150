"""The massless-propagator (power-law) mapping of an invariant mass squared (MadNIS eq. 63).

With ``a = s^(1-ν)`` the map is linear in ``a``:

    s(u) = [u s_max^(1-ν) + (1 - u) s_min^(1-ν)]^(1/(1-ν)),
    g(s) = (1 - ν) / (s^ν (s_max^(1-ν) - s_min^(1-ν))),

and for ``ν = 1`` it is logarithmic: ``s(u) = s_min (s_max / s_min)^u``,
``g(s) = 1 / (s log(s_max / s_min))``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Mapping

__all__ = ["MasslessPropagator"]


class MasslessPropagator(Mapping):
    """Maps [0, 1] onto ``[s_min, s_max]`` with density ∝ ``s^-ν`` (eq. 63; ``ν = 2`` in MadNIS).

    Args:
        s_min: lower end, > 0 (``0`` is allowed when ``ν < 1``).
        s_max: upper end, finite (``+inf`` is allowed when ``ν > 1``).
        nu: the exponent ν; ``nu == 1`` gives the logarithmic map.

    Note:
        For ``0 < ν < 1`` and ``s_min = 0`` the density diverges at ``s = 0``, so the log-determinant
        at ``u = 0`` is ``-inf``; the image is still finite.
    """

    def __init__(self, s_min: float, s_max: float, nu: float = 2.0):
        for name, v in (("s_min", s_min), ("s_max", s_max), ("nu", nu)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                raise ValueError(f"Expected {name} to be a real number; got {v!r}.")
        s_min, s_max, nu = float(s_min), float(s_max), float(nu)
        if not math.isfinite(nu):
            raise ValueError(f"Expected a finite exponent nu; got {nu!r}.")
        if not (0 <= s_min < s_max):
            raise ValueError(f"Expected 0 <= s_min < s_max; got s_min={s_min}, s_max={s_max}.")
        if s_min == 0 and nu >= 1:
            raise ValueError(
                f"Expected s_min > 0 for nu >= 1 (the density is not normalisable); got s_min=0, nu={nu}."
            )
        if math.isinf(s_max) and nu <= 1:
            raise ValueError(
                f"Expected a finite s_max for nu <= 1 (the density is not normalisable); got s_max=inf, nu={nu}."
            )
        super().__init__(1, s_min, s_max)
        self.nu = nu
        f64 = torch.float64
        if nu == 1.0:
            log_ratio = math.log(s_max / s_min)
            self.register_buffer("log_ratio", torch.tensor(log_ratio, dtype=f64))
            log_scale = math.log(log_ratio)
        else:
            a_min = s_min ** (1 - nu) if s_min > 0 else (0.0 if nu < 1 else math.inf)
            a_max = s_max ** (1 - nu) if math.isfinite(s_max) else 0.0
            self.register_buffer("a_min", torch.tensor(a_min, dtype=f64))
            self.register_buffer("a_max", torch.tensor(a_max, dtype=f64))
            log_scale = math.log(abs((a_max - a_min) / (1 - nu)))
        # log|ds/du| = log_scale + ν log s
        self.register_buffer("log_scale", torch.tensor(log_scale, dtype=f64))

    def extra_repr(self) -> str:
        return f"s_min={self.low.item():g}, s_max={self.high.item():g}, nu={self.nu:g}"

    def _clamp(self, s: Tensor) -> Tensor:
        # An infinite s_max is replaced by the largest finite number of the dtype.
        s = torch.minimum(torch.maximum(s, self.low.to(s)), self.high.to(s))
        return s.clamp(max=torch.finfo(s.dtype).max)

    def _nu_log_s(self, s: Tensor) -> Tensor:
        return self.nu * torch.log(s) if self.nu != 0 else torch.zeros_like(s)

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        # Both forms are exact at u = 0 and u = 1 up to the final power or exponential.
        if self.nu == 1.0:
            s = self.low.to(u) * torch.exp(u * self.log_ratio.to(u))
        else:
            a = u * self.a_max.to(u) + (1 - u) * self.a_min.to(u)  # eq. 63 as printed
            s = a.pow(1.0 / (1.0 - self.nu))
        s = self._clamp(s)
        log_det = self.log_scale.to(u) + self._nu_log_s(s)
        return s, log_det.squeeze(-1)

    def _inverse(self, s: Tensor) -> tuple[Tensor, Tensor]:
        if self.nu == 1.0:
            u = torch.log(s / self.low.to(s)) / self.log_ratio.to(s)
        else:
            a_min, a_max = self.a_min.to(s), self.a_max.to(s)
            u = (s.pow(1.0 - self.nu) - a_min) / (a_max - a_min)
        log_det = -self.log_scale.to(s) - self._nu_log_s(s)
        return u.clamp(0.0, 1.0), log_det.squeeze(-1)
