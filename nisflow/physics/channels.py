"""The γ/Z/Z' channels of Drell-Yan for the multi-channel integrator (MadNIS §5, eq. 60-64).

:class:`~nisflow.physics.DrellYan` is an integrand on [0, 1]^4 whose first coordinate ``x_0`` is
mapped to ``ŝ = m_ll²`` by its own mapping ``process.fractions.shat_map`` (a power law with
``ν = 2`` by default). A channel of the multi-channel integrator is a mapping of the unit cube onto
that cube: :class:`InvariantMassMap` draws ``ŝ`` from the channel's own mapping of ``ŝ`` (the
photon's :class:`~nisflow.mappings.MasslessPropagator`, eq. 63, or a resonance's
:class:`~nisflow.mappings.RelativisticBreitWigner`, eq. 61-62), writes it back in the
integrand's ``x_0`` by the inverse of the process's own map, and leaves the other coordinates
untouched. Its density on the cube is therefore the channel's density in ``ŝ`` times
``dŝ/dx_0``, and the ratios of the channels' densities at a point are those in ``ŝ``.

:func:`drell_yan_channels` builds the three channels γ (power law), Z and Z' (Breit-Wigners) with
a flow each; :func:`drell_yan_prior` is the MG5aMC-like prior (eq. 8) ``α_i ∝ |P_i(ŝ)|²`` from
the squared propagators of the three diagrams.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor

from ..checks import check_dimension
from ..integrator import FlowConfig
from ..mappings import Mapping, MasslessPropagator, RelativisticBreitWigner
from ..multichannel import Channel
from .processes import DrellYan

__all__ = ["InvariantMassMap", "drell_yan_channels", "drell_yan_prior", "shat_of"]


def _check_process(process: object) -> DrellYan:
    if not isinstance(process, DrellYan):
        raise TypeError(f"Expected a nisflow.physics.DrellYan; got {type(process).__name__}.")
    return process


def _check_shat_map(m: object, name: str) -> Mapping:
    if not isinstance(m, Mapping) or m.d != 1 or m.domain_in != "unit":
        raise TypeError(
            f"Expected {name} to be a one-dimensional nisflow.mappings.Mapping from [0, 1]; got "
            f"{type(m).__name__} of dimension {getattr(m, 'd', None)}."
        )
    return m


class InvariantMassMap(Mapping):
    """Maps [0, 1]^d onto a process's cube through ``ŝ``, with the channel's own map of ``ŝ``.

    ``u_0 -> ŝ`` by ``shat_map``, then ``ŝ -> x_0`` by the inverse of ``process_map`` (the
    process's own map ``x_0 -> ŝ``); ``x_k = u_k`` for ``k >= 1``. The image is the cube, or the
    part of it whose ``ŝ`` lies in the range of ``shat_map`` when that is narrower.

    Args:
        shat_map: the channel's mapping of [0, 1] onto its range of ``ŝ`` (GeV²).
        process_map: the process's mapping of ``x_0`` onto ``ŝ``; its range must contain that of
            ``shat_map``. Both are copied.
        d: the dimension of the process's cube (4 for Drell-Yan).

    Attributes:
        shat_map, process_map: the two mappings of ``ŝ``.

    Example:
        >>> s_min, s_max = 15.0**2, 13000.0**2
        >>> z = RelativisticBreitWigner(91.188, 2.441404, s_min, s_max)
        >>> m = InvariantMassMap(z, MasslessPropagator(s_min, s_max, 2.0))
        >>> x, log_det = m(torch.rand(5, 4, dtype=torch.float64))
        >>> x.shape, log_det.shape
        (torch.Size([5, 4]), torch.Size([5]))
    """

    def __init__(self, shat_map: Mapping, process_map: Mapping, d: int = 4):
        _check_shat_map(shat_map, "shat_map")
        _check_shat_map(process_map, "process_map")
        super().__init__(check_dimension(d), 0.0, 1.0)
        if process_map.low.item() > shat_map.low.item() or (
            process_map.high.item() < shat_map.high.item()
        ):
            raise ValueError(
                f"Expected the range of shat_map inside the range of process_map, "
                f"{process_map.describe_range()}; got {shat_map.describe_range()}."
            )
        self.shat_map = copy.deepcopy(shat_map)
        self.process_map = copy.deepcopy(process_map)
        self._narrower = not (
            torch.equal(shat_map.low, process_map.low)
            and torch.equal(shat_map.high, process_map.high)
        )

    def contains(self, x: Tensor) -> Tensor:
        """Whether each point (n, d) is in the cube with ``ŝ`` in the channel's range; ``(n,)``."""
        inside = super().contains(x)
        if not self._narrower:
            return inside
        x0 = x[:, :1].clamp(0.0, 1.0)
        with torch.no_grad():
            shat = self.process_map._forward(x0.to(torch.float64))[0]
        return inside & self.shat_map.contains(shat)

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        u64 = u.to(torch.float64)
        shat, log_ds_du = self.shat_map._forward(u64[:, :1])
        x0, log_dx_ds = self.process_map._inverse(shat)
        x = torch.cat([x0, u64[:, 1:]], -1)
        return x.to(u.dtype), (log_ds_du + log_dx_ds).to(u.dtype)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x64 = x.to(torch.float64)
        shat, log_ds_dx = self.process_map._forward(x64[:, :1])
        s_lo, s_hi = self.shat_map.low.to(shat), self.shat_map.high.to(shat)
        u0, log_du_ds = self.shat_map._inverse(torch.minimum(torch.maximum(shat, s_lo), s_hi))
        u = torch.cat([u0, x64[:, 1:]], -1)
        return u.to(x.dtype), (log_ds_dx + log_du_ds).to(x.dtype)


def drell_yan_channels(
    process: DrellYan, flow: bool | str | FlowConfig | None = True
) -> list[Channel]:
    """The photon, Z and (with a Z') Z' channels of ``process``, each with a flow.

    Args:
        process: a :class:`~nisflow.physics.DrellYan` (any ``mapping``: the channels write ``ŝ``
            back through the process's own map of ``x_0``).
        flow: the flow of every channel (see :class:`~nisflow.multichannel.Channel`).

    Returns:
        ``[γ, Z]`` or ``[γ, Z, Z']``: channels on [0, 1]^4 named ``"photon"``, ``"Z"``, ``"Z'"``,
        whose mappings are :class:`InvariantMassMap` with a
        :class:`~nisflow.mappings.MasslessPropagator` (``ν = 2``) or a
        :class:`~nisflow.mappings.RelativisticBreitWigner` on ``[m_ll,min², s]``.
    """
    target = _check_process(process).fractions.shat_map
    s_min, s_max = process.mll_min**2, process.s
    maps: list[tuple[str, Mapping]] = [
        ("photon", MasslessPropagator(s_min, s_max, 2.0)),
        ("Z", RelativisticBreitWigner(process.sm.mz, process.sm.wz, s_min, s_max)),
    ]
    if process.zprime is not None:
        zp = process.zprime
        maps.append(("Z'", RelativisticBreitWigner(zp.mass, zp.width, s_min, s_max)))
    return [
        Channel(mapping=InvariantMassMap(m, target, process.d), flow=flow, name=name)
        for name, m in maps
    ]


def shat_of(process: DrellYan, x: Tensor) -> Tensor:
    """``ŝ`` in GeV² at cube points ``x`` of shape ``(n, 4)`` of ``process``; float64 ``(n,)``."""
    shat_map = _check_process(process).fractions.shat_map
    return shat_map.forward(x[:, :1].to(torch.float64))[0][:, 0]


def drell_yan_prior(process: DrellYan) -> Callable[[Tensor], Tensor]:
    """The MG5aMC-like prior (MadNIS eq. 8) of :func:`drell_yan_channels`.

    Returns:
        ``h(x) -> (n, m)``: the squared propagators ``1/ŝ²``, ``1/|ŝ - M_Z² + i M_Z Γ_Z|²`` and
        (with a Z') ``1/|ŝ - M_Z'² + i M_Z' Γ_Z'|²`` at points ``x`` of shape ``(n, 4)``,
        float64, scaled by ``ŝ²`` (a common factor that leaves the weights unchanged and keeps
        the numbers of order one).
    """
    _check_process(process)
    poles = [(process.sm.mz, process.sm.wz)]
    if process.zprime is not None:
        poles.append((process.zprime.mass, process.zprime.width))

    def h(x: Tensor) -> Tensor:
        s = shat_of(process, x)
        cols = [torch.ones_like(s)]
        for m, w in poles:
            cols.append(s * s / ((s - m * m) ** 2 + (m * w) ** 2))
        return torch.stack(cols, -1)

    return h
