"""A normalizing flow on the unit hypercube: a latent prior followed by a chain of bijections.

Direction convention: :meth:`Flow.forward` is the *sampling* direction, latent ``z`` -> point
``x`` in [0, 1]^d; :meth:`Flow.inverse` maps a point back to the latent space. The density of the
flow at ``x`` is ``log q(x) = log p(z) + log|det dz/dx|`` with ``z = inverse(x)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_dimension, check_unit_points
from .base import Bijection

__all__ = ["Flow", "Prior"]


class Prior(nn.Module):
    """A latent density the flow starts from.

    Subclasses set :attr:`domain` (``"unit"`` or ``"real"``) and implement :meth:`sample` and
    :meth:`log_prob`. They must register a buffer so that ``.to(device, dtype)`` moves them.
    """

    d: int
    domain: str = "unit"

    def sample(
        self, n: int, *, generator: torch.Generator | None = None, device=None, dtype=None
    ) -> Tensor:  # pragma: no cover - abstract
        """Draw ``n`` latent points, shape ``(n, d)``."""
        raise NotImplementedError

    def log_prob(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Log-density of latent points ``z`` of shape ``(n, d)``; returns shape ``(n,)``."""
        raise NotImplementedError


class Flow(nn.Module):
    """A prior followed by bijections, ending on the unit hypercube [0, 1]^d.

    Args:
        prior: the latent density (:class:`nisflow.flows.UniformPrior` or
            :class:`nisflow.flows.GaussianPrior`).
        bijections: applied in order in the sampling direction. The domains must chain: the
            first one's ``domain_in`` equals the prior's domain and the last one's ``domain_out``
            is ``"unit"``.
    """

    def __init__(self, prior: Prior, bijections: Sequence[Bijection]):
        super().__init__()
        self.d = check_dimension(prior.d)
        self.prior = prior
        self.bijections = nn.ModuleList(bijections)
        domain = prior.domain
        for i, b in enumerate(self.bijections):
            if getattr(b, "d", self.d) != self.d:
                raise ValueError(f"Expected bijection {i} of dimension {self.d}; got {b.d}.")
            if getattr(b, "domain_in", "unit") != domain:
                raise ValueError(
                    f"Expected bijection {i} ({type(b).__name__}) to take points in the "
                    f"'{domain}' domain; it takes '{b.domain_in}'."
                )
            domain = getattr(b, "domain_out", "unit")
        if domain != "unit":
            raise ValueError(
                f"Expected the flow to end on the unit hypercube; its last bijection ends on "
                f"'{domain}'. Append a map onto [0, 1]^d (e.g. nisflow.flows.GaussianCDF)."
            )

    # -- device and dtype -------------------------------------------------------------------
    def _reference(self) -> Tensor:
        for t in self.parameters():
            return t
        for t in self.buffers():
            return t
        return torch.empty(0)

    @property
    def device(self) -> torch.device:
        """The device of the flow's parameters and buffers."""
        return self._reference().device

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype of the flow's parameters and buffers."""
        return self._reference().dtype

    # -- maps -------------------------------------------------------------------------------
    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Map latent points ``z`` (n, d) to ``x`` (n, d); return ``(x, log|det dx/dz|)``."""
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for b in self.bijections:
            z, ld = b.forward(z)
            log_det = log_det + ld
        return z, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map points ``x`` (n, d) to the latent space; return ``(z, log|det dz/dx|)``."""
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for b in reversed(self.bijections):
            x, ld = b.inverse(x)
            log_det = log_det + ld
        return x, log_det

    # -- densities --------------------------------------------------------------------------
    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density of the flow at ``x`` of shape ``(n, d)`` in [0, 1]^d; returns ``(n,)``.

        Raises:
            ValueError: ``x`` has the wrong shape, non-finite entries or points outside [0, 1]^d.
        """
        check_unit_points(x, self.d)
        return self.log_prob_unchecked(x)

    def log_prob_unchecked(self, x: Tensor) -> Tensor:
        """:meth:`log_prob` without validating ``x`` (n, d); returns ``(n,)``.

        For points known to be valid (e.g. drawn by the flow itself): it never waits for the
        device, so it can run inside a captured CUDA graph.
        """
        z, log_det = self.inverse(x)
        return self.prior.log_prob(z) + log_det

    def sample_and_log_prob(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points with their log-density: ``(x, log_q)`` of shapes ``(n, d)``, ``(n,)``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"Expected a non-negative integer number of points; got {n!r}.")
        z = self.prior.sample(n, generator=generator, device=self.device, dtype=self.dtype)
        log_pz = self.prior.log_prob(z)
        x, log_det = self.forward(z)
        return x, log_pz - log_det

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points, shape ``(n, d)``."""
        return self.sample_and_log_prob(n, generator=generator)[0]
