"""Polar coordinates with an analytic radial mapping: the ring channel of MadNIS (eq. 52–53).

``u = (u_1, u_2)`` in [0, 1]^2 goes to ``r = R(u_1)`` by a 1D radial mapping ``R`` onto
``[r_min, r_max]`` with ``r_min >= 0``, and ``θ = 2π u_2``; then ``x = (r cos θ, r sin θ)``.
The Jacobian is ``|det dx/du| = 2π r R'(u_1)``, so the density of ``x`` is
``g(x) = g_R(r) / (2π r)``. With a Breit–Wigner on ``[0, ∞)`` in the radius (:class:`Ring`) this
is eq. (53): ``r = r_0 + γ_0 tan[π(ω_0 u_1 - C_0)]`` with ``π C_0 = arctan(r_0 / γ_0)`` and
``ω_0 = 1/2 + C_0``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Mapping
from .breit_wigner import BreitWigner

__all__ = ["Polar", "Ring"]


class Polar(Mapping):
    """[0, 1]^2 onto the disc or annulus ``r_min <= |x| <= r_max`` through a radial mapping.

    Args:
        radial: a one-dimensional :class:`~nisflow.mappings.Mapping` from [0, 1] onto the radius
            range ``[r_min, r_max]`` with ``r_min >= 0`` (e.g. a :class:`BreitWigner` with
            ``low=0``). The angle is uniform in ``[0, 2π)``.

    Attributes:
        low, high: the bounding box ``[-r_max, r_max]^2``; :meth:`contains` checks the annulus.

    Note:
        At ``r = 0`` the density ``g_R(0) / (2π r)`` is infinite when ``g_R(0) > 0``; the radius in
        the log-determinant is floored at the dtype's smallest normal number so that it stays
        finite.
    """

    def __init__(self, radial: Mapping):
        if not isinstance(radial, Mapping) or radial.d != 1 or radial.domain_in != "unit":
            raise ValueError(
                f"Expected a one-dimensional Mapping from [0, 1] as the radial mapping; got "
                f"{type(radial).__name__} (d={getattr(radial, 'd', None)})."
            )
        r_min, r_max = float(radial.low.item()), float(radial.high.item())
        if r_min < 0:
            raise ValueError(f"Expected a radial mapping onto radii >= 0; got r_min={r_min}.")
        super().__init__(2, -r_max, r_max)
        self.radial = radial

    def extra_repr(self) -> str:
        return f"r in [{self.radial.low.item():g}, {self.radial.high.item():g}], theta in [0, 2pi)"

    def describe_range(self) -> str:
        return f"the annulus {self.radial.low.item():g} <= |x| <= {self.radial.high.item():g}"

    def contains(self, x: Tensor) -> Tensor:
        """Whether ``r_min <= |x| <= r_max`` for each point of ``x`` (n, 2); returns ``(n,)`` bool."""
        r = torch.hypot(x[:, 0], x[:, 1])
        tol = 64 * torch.finfo(x.dtype).eps * (1 + r)  # rounding of r cos θ, r sin θ, hypot
        return (r >= self.radial.low.to(x) - tol) & (r <= self.radial.high.to(x) + tol)

    def _log_r(self, r: Tensor) -> Tensor:
        return torch.log(r.clamp(min=torch.finfo(r.dtype).tiny))

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        r, log_det_r = self.radial._forward(u[:, :1])
        r = r[:, 0]
        theta = (2 * math.pi) * u[:, 1]
        x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=-1)
        return x, log_det_r + math.log(2 * math.pi) + self._log_r(r)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r = torch.hypot(x[:, 0], x[:, 1])
        # Inside the radial range by the range check; clamp only against rounding in hypot.
        r = torch.minimum(torch.maximum(r, self.radial.low.to(x)), self.radial.high.to(x))
        u1, log_det_r = self.radial._inverse(r[:, None])
        theta = torch.atan2(x[:, 1], x[:, 0])
        u2 = torch.remainder(theta / (2 * math.pi), 1.0)
        u = torch.cat([u1, u2[:, None]], dim=-1)
        return u, log_det_r - math.log(2 * math.pi) - self._log_r(r)


class Ring(Polar):
    """The ring channel of MadNIS eq. (53): a Breit–Wigner on ``[0, ∞)`` in the radius.

    Args:
        radius: the ring's radius ``r_0``.
        width: the Breit–Wigner width ``γ_0 > 0`` (the paper uses ``√40 σ_0``).
        r_max: optional upper end of the radius range (default +inf).
    """

    def __init__(self, radius: float, width: float, r_max: float = math.inf):
        super().__init__(BreitWigner(radius, width, low=0.0, high=r_max))
