"""One integration channel: an analytic mapping, optionally preceded by a trainable flow.

A channel ``i`` of the multi-channel method (MadNIS §2.1, §3.2) samples points ``x`` through

    u ~ uniform on [0, 1]^d  ->  (optional flow T_i)  ->  x = G_i(T_i(u))

so its density is ``g_i(x) = q_{T_i}(G_i^{-1}(x)) · |det dG_i^{-1}/dx|``. The mapping is any
:class:`~nisflow.mappings.Mapping` from [0, 1]^d (a Breit–Wigner, a ring, a rotated product,
a :class:`~nisflow.mappings.Chain`, ...); the flow lives in the mapping's latent space [0, 1]^d,
where it only has to learn what the mapping missed.

The mapping runs in float64 (its buffers are float64; a flow's float32 output is promoted), so
that the tails of Breit–Wigner maps keep their precision; densities are returned in float64.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..checks import check_points
from ..flows.flow import Flow
from ..integrator import FlowConfig
from ..mappings.base import Mapping
from ..rng import rand

__all__ = ["Channel"]


class Channel(nn.Module):
    """An integration channel ``x = G(T(u))``: a mapping ``G`` and an optional flow ``T``.

    Args:
        mapping: a :class:`~nisflow.mappings.Mapping` from [0, 1]^d onto (part of) the
            integration domain; its :meth:`~nisflow.mappings.Mapping.contains` defines the
            channel's support.
        flow: ``False``/``None`` for the mapping alone; ``True`` for the default flow
            (a :class:`~nisflow.integrator.FlowConfig`, rational-quadratic spline couplings);
            a :class:`~nisflow.integrator.FlowConfig`; a transform name such as ``"affine"``;
            or a ready :class:`~nisflow.flows.Flow` on [0, 1]^d of the mapping's dimension.
        name: a label for reports (default ``"channel"``; the integrator numbers them).

    Attributes:
        d: the dimension.
        flow: the flow (``None`` without one). Built lazily by :meth:`build` when given as a
            config, so that the integrator's seed fixes its initial weights.

    Example:
        >>> ch = Channel(mapping=BreitWigner(2.0, math.sqrt(2) * 0.5))
        >>> x, log_g = ch.sample_and_log_prob(4, generator=torch.Generator().manual_seed(0))
        >>> x.shape, log_g.shape
        (torch.Size([4, 1]), torch.Size([4]))
    """

    def __init__(
        self,
        mapping: Mapping,
        flow: bool | str | FlowConfig | Flow | None = False,
        *,
        name: str = "channel",
    ):
        super().__init__()
        if not isinstance(mapping, Mapping):
            raise TypeError(
                f"Expected mapping to be a nisflow.mappings.Mapping; got {type(mapping).__name__}."
            )
        if getattr(mapping, "domain_in", "unit") != "unit":
            raise ValueError(
                f"Expected a mapping from the unit hypercube (a channel samples uniform numbers); "
                f"{type(mapping).__name__} takes points in the '{mapping.domain_in}' domain."
            )
        self.mapping = mapping
        self.d = mapping.d
        self.name = str(name)
        self.flow: Flow | None = None
        self.flow_config: FlowConfig | None = None
        # the transform's default bins: FlowConfig's "auto" (16 in d <= 2) was measured for the
        # single-channel Integrator, not for channels
        if flow is True:
            self.flow_config = FlowConfig(n_bins=None)
        elif isinstance(flow, str):
            self.flow_config = FlowConfig(transform=flow, n_bins=None)
        elif isinstance(flow, FlowConfig):
            self.flow_config = flow
        elif isinstance(flow, Flow):
            if flow.d != self.d:
                raise ValueError(
                    f"Expected a flow of the mapping's dimension {self.d}; got dimension {flow.d}."
                )
            self.flow = flow
        elif flow not in (False, None):
            raise TypeError(
                "Expected flow to be True/False, a transform name, a FlowConfig or a nisflow "
                f"Flow; got {type(flow).__name__}."
            )

    # -- construction -------------------------------------------------------------------------
    @property
    def has_flow(self) -> bool:
        """Whether the channel has (or will build) a trainable flow."""
        return self.flow is not None or self.flow_config is not None

    def build(self, *, generator: torch.Generator | None = None) -> Channel:
        """Construct the flow from its config (once); the weights come from ``generator``."""
        if self.flow is None and self.flow_config is not None:
            self.flow = self.flow_config.build(self.d, generator=generator)
        return self

    @property
    def device(self) -> torch.device:
        """The device of the mapping's buffers."""
        return self.mapping.low.device

    # -- support ------------------------------------------------------------------------------
    def contains(self, x: Tensor) -> Tensor:
        """Whether each point of ``x`` (n, d) is in the channel's support; ``(n,)`` bool."""
        return self.mapping.contains(x)

    def mapping_log_prob(self, x: Tensor) -> Tensor:
        """Log-density of the mapping alone at ``x`` (n, d), ``-inf`` outside; float64 ``(n,)``."""
        return self.mapping.log_prob(x.to(torch.float64), strict=False)

    # -- density and sampling -----------------------------------------------------------------
    def _latent(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # (u, log|du/dx|, inside) with outside points replaced by a central point.
        x = x.to(torch.float64)
        inside = self.mapping.contains(x)
        safe = torch.where(inside[:, None], x, self.mapping.central_point(x))
        u, log_det = self.mapping.inverse(safe)
        return u.clamp(0.0, 1.0), log_det, inside

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density ``log g(x)`` of the channel at ``x`` (n, d); ``-inf`` outside its support.

        Differentiable with respect to the flow's parameters.

        Returns:
            float64 tensor of shape ``(n,)``.
        """
        x = check_points(x, self.d)
        u, log_det, inside = self._latent(x)
        log_g = log_det
        if self.flow is not None:
            log_g = log_g + self.flow.log_prob(u.to(self.flow.dtype)).to(torch.float64)
        return torch.where(inside, log_g, torch.full_like(log_g, -math.inf))

    def sample_and_log_prob(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points ``x = G(T(u))`` and their log-density.

        Args:
            n: number of points.
            generator: source of randomness (on the channel's device).

        Returns:
            ``(x, log_g)``: float64 tensors of shapes ``(n, d)`` and ``(n,)``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"Expected a non-negative integer number of points; got {n!r}.")
        if self.flow is None:
            if self.flow_config is not None:
                raise RuntimeError(
                    "Expected the channel's flow to be built; call channel.build(generator=...) "
                    "first (the integrator does this)."
                )
            u = rand(n, self.d, generator=generator, device=self.device, dtype=torch.float64)
            log_q = torch.zeros(n, dtype=torch.float64, device=self.device)
        else:
            u, log_q = self.flow.sample_and_log_prob(n, generator=generator)
            u, log_q = u.to(torch.float64).clamp(0.0, 1.0), log_q.to(torch.float64)
        x, log_det = self.mapping.forward(u)
        return x, log_q - log_det

    def extra_repr(self) -> str:
        flow = "none" if not self.has_flow else type(self.flow).__name__ if self.flow else "config"
        return f"name={self.name!r}, d={self.d}, flow={flow}"
