"""The parton momentum fractions of a hadron collision from ŝ and a rapidity variable (MadNIS eq. 64).

The two-step map of eq. (60) sends ``(u_s, u_y)`` first to the partonic invariant mass squared
``ŝ = G_1(u_s)`` (an s-channel mapping: :class:`~nisflow.mappings.RelativisticBreitWigner`,
:class:`~nisflow.mappings.MasslessPropagator`, ...) and then, with ``τ = ŝ / s`` (``s`` the
hadronic centre-of-mass energy squared), to

    x_1 = τ^(u_y),   x_2 = τ^(1 - u_y),   dx_1 dx_2 = (-log τ) dτ du_y = (-log τ) / s dŝ du_y,

so that ``x_1 x_2 = τ`` and ``u_y`` spreads the rapidity ``y = ½ log(x_1 / x_2)`` of the pair
uniformly over its allowed range. The density of ``(x_1, x_2)`` is
``g(x_1, x_2) = g_1(ŝ) s / (-log(x_1 x_2))`` at ``ŝ = x_1 x_2 s`` (eq. 64 without the two angles,
which a :class:`~nisflow.mappings.Rectangle` adds).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Mapping, snap_to_box

__all__ = ["MomentumFractions"]


class MomentumFractions(Mapping):
    """Maps [0, 1]^2 onto the momentum fractions ``(x_1, x_2)`` through ``ŝ`` and ``τ = ŝ / s``.

    Coordinate 0 of ``u`` goes to ``ŝ`` by ``shat_map``; coordinate 1 splits ``τ`` between the two
    beams (eq. 64). The image is the set of ``(x_1, x_2)`` in ``(0, 1]^2`` with
    ``x_1 x_2 s`` in the range of ``shat_map``; :attr:`low`/:attr:`high` hold its bounding box
    ``[τ_min, 1]^2``.

    Args:
        shat_map: a mapping of [0, 1] onto ``[ŝ_min, ŝ_max]`` with ``0 < ŝ_min`` and
            ``ŝ_max <= s``.
        s: the hadronic centre-of-mass energy squared (``s_max`` of the paper), same units as ŝ.

    Note:
        When ``ŝ_max = s`` the corner ``x_1 = x_2 = 1`` (``u_s = 1``) is reached, where the density
        diverges (integrably, as ``1 / (-log τ)``): there the log-determinant is ``-inf`` and the
        inverse returns ``u_y = 1/2``.

    Example:
        >>> from nisflow.mappings import MasslessPropagator
        >>> shat = MasslessPropagator(15.0**2, 13000.0**2, nu=2.0)
        >>> m = MomentumFractions(shat, 13000.0**2)
        >>> x, log_det = m(torch.rand(5, 2, dtype=torch.float64))
        >>> x.shape, log_det.shape
        (torch.Size([5, 2]), torch.Size([5]))
    """

    def __init__(self, shat_map: Mapping, s: float):
        if not isinstance(shat_map, Mapping) or shat_map.d != 1:
            raise TypeError(
                f"Expected shat_map to be a one-dimensional nisflow.mappings.Mapping; got "
                f"{type(shat_map).__name__} of dimension {getattr(shat_map, 'd', None)}."
            )
        if shat_map.domain_in != "unit":
            raise ValueError(
                f"Expected shat_map to start from [0, 1]; got domain_in={shat_map.domain_in!r}."
            )
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < math.inf:
            raise ValueError(f"Expected a positive finite s; got {s!r}.")
        s_lo, s_hi = float(shat_map.low[0]), float(shat_map.high[0])
        if not (0 < s_lo and s_hi <= s):
            raise ValueError(
                f"Expected the range of shat_map inside (0, s] = (0, {s:g}]; got "
                f"[{s_lo:g}, {s_hi:g}]."
            )
        tau_min = s_lo / s
        super().__init__(2, tau_min, 1.0)
        self.shat_map = shat_map
        self.s = float(s)
        self._minus_log_tau_min = -math.log(tau_min)
        f64 = torch.float64
        self.register_buffer("s_hadronic", torch.tensor(self.s, dtype=f64))
        self.register_buffer("log_s", torch.tensor(math.log(self.s), dtype=f64))
        self.register_buffer("tau_range", torch.tensor([tau_min, s_hi / s], dtype=f64))

    def extra_repr(self) -> str:
        return f"s={self.s:g}"

    def _tolerance(self, x: Tensor) -> float:
        # relative rounding error of x_1 x_2 = exp(y log τ) exp((1 - y) log τ) against τ
        return 64 * torch.finfo(x.dtype).eps * (1 + self._minus_log_tau_min)

    def contains(self, x: Tensor) -> Tensor:
        """Whether ``x_1 x_2 s`` of each point (n, 2) lies in the range of ŝ; ``(n,)`` bool.

        ``x_1 x_2`` is compared with ``[τ_min, τ_max]`` up to a relative rounding tolerance.
        """
        tol = self._tolerance(x)
        tau = x[:, 0] * x[:, 1]
        lo, hi = self.tau_range.to(x)
        return super().contains(x) & (tau >= lo * (1 - tol)) & (tau <= hi * (1 + tol))

    def forward_and_shat(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward` that also returns ``ŝ`` of each point.

        Args:
            u: latent points, shape ``(n, 2)`` in [0, 1]^2.

        Returns:
            ``(x, log|det dx/du|, ŝ)`` of shapes ``(n, 2)``, ``(n,)``, ``(n,)``.
        """
        return self._forward_and_shat(self._check_latent(u))

    def _forward_and_shat(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        shat, log_ds = self.shat_map._forward(u[:, :1])
        shat = shat[:, 0]
        log_tau = torch.log(shat / self.s_hadronic.to(u))
        y = u[:, 1]
        x = torch.stack([torch.exp(y * log_tau), torch.exp((1 - y) * log_tau)], -1)
        x = snap_to_box(x, self.low, self.high)
        # |∂(x_1, x_2)/∂(ŝ, y)| = -log τ / s
        log_det = log_ds + torch.log(-log_tau) - self.log_s.to(u)
        return x, log_det, shat

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        x, log_det, _ = self._forward_and_shat(u)
        return x, log_det

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        log_x1, log_x2 = torch.log(x[:, 0]), torch.log(x[:, 1])
        log_tau = log_x1 + log_x2
        s_lo, s_hi = self.shat_map.low.to(x), self.shat_map.high.to(x)
        shat = torch.minimum(torch.maximum(x[:, 0] * x[:, 1] * self.s_hadronic.to(x), s_lo), s_hi)
        u_s, log_du = self.shat_map._inverse(shat[:, None])
        corner = log_tau == 0
        y = torch.where(corner, 0.5, log_x1 / torch.where(corner, -1.0, log_tau))
        y = y.clamp(0.0, 1.0)
        log_det = log_du - torch.log(-log_tau) + self.log_s.to(x)
        return torch.stack([u_s[:, 0], y], -1), log_det
