"""Small trainable flows with closed-form densities, for testing training and integration.

:class:`LinearDensity` is the bijection of [0, 1]^d whose density is, per coordinate,
``g_θ(x) = 1 + θ (x − 1/2)`` with ``|θ| < 2``: sampling by the exact inverse CDF, log-density in
closed form, one trainable parameter per coordinate.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from nisflow.flows import Bijection, Flow, UniformPrior

__all__ = ["LinearDensity", "linear_density_flow"]


class LinearDensity(Bijection):
    """Latent u in [0,1]^d -> x with density prod_i (1 + θ_i (x_i − 1/2)) (tanh-bounded θ)."""

    def __init__(self, d: int, theta: float | Tensor = 0.0):
        super().__init__()
        self.d = d
        raw = torch.atanh(torch.as_tensor(theta, dtype=torch.float64) / 1.9)
        self.raw = nn.Parameter(raw.expand(d).clone().to(torch.get_default_dtype()))

    @property
    def theta(self) -> Tensor:
        return 1.9 * torch.tanh(self.raw)

    def _log_g(self, x: Tensor) -> Tensor:
        return torch.log1p(self.theta * (x - 0.5)).sum(-1)

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        t = self.theta
        b = 1.0 - t / 2
        x = 2 * u / (b + torch.sqrt(b * b + 2 * t * u))
        x = x.clamp(0.0, 1.0)
        return x, -self._log_g(x)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        t = self.theta
        u = x + t * (x * x - x) / 2
        return u.clamp(0.0, 1.0), self._log_g(x)


def linear_density_flow(d: int, theta: float = 0.0, dtype=torch.float64) -> Flow:
    """A :class:`Flow` made of one :class:`LinearDensity`, in ``dtype``."""
    return Flow(UniformPrior(d), [LinearDensity(d, theta)]).to(dtype)
