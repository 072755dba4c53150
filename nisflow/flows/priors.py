"""Latent densities a flow starts from: uniform on [0, 1]^d, or a factorized Gaussian on R^d."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..checks import check_dimension
from ..rng import rand, randn
from .flow import Prior

__all__ = ["UniformPrior", "GaussianPrior"]


class UniformPrior(Prior):
    """The uniform density on [0, 1]^d (log-density 0). The default latent space."""

    domain = "unit"

    def __init__(self, d: int):
        super().__init__()
        self.d = check_dimension(d)
        self.register_buffer("_anchor", torch.zeros(()))

    def sample(self, n: int, *, generator=None, device=None, dtype=None) -> Tensor:
        """Draw ``n`` uniform points, shape ``(n, d)``."""
        device = self._anchor.device if device is None else device
        dtype = self._anchor.dtype if dtype is None else dtype
        return rand(n, self.d, generator=generator, device=device, dtype=dtype)

    def log_prob(self, z: Tensor) -> Tensor:
        """Zero inside the hypercube, shape ``(n,)``."""
        return torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)


class GaussianPrior(Prior):
    """A factorized standard normal density on R^d, for cells that act on R^d.

    A flow built on it must end with a fixed map onto [0, 1]^d
    (:class:`nisflow.flows.GaussianCDF`).
    """

    domain = "real"

    def __init__(self, d: int):
        super().__init__()
        self.d = check_dimension(d)
        self.register_buffer("_anchor", torch.zeros(()))

    def sample(self, n: int, *, generator=None, device=None, dtype=None) -> Tensor:
        """Draw ``n`` standard-normal points, shape ``(n, d)``."""
        device = self._anchor.device if device is None else device
        dtype = self._anchor.dtype if dtype is None else dtype
        return randn(n, self.d, generator=generator, device=device, dtype=dtype)

    def log_prob(self, z: Tensor) -> Tensor:
        """Standard-normal log-density summed over coordinates, shape ``(n,)``."""
        return -0.5 * (z * z).sum(-1) - 0.5 * self.d * math.log(2 * math.pi)
