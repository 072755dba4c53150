"""The γ/Z/Z' channels of Drell-Yan for the multi-channel integrator (MadNIS §5, eq. 60-64).

:class:`~nisflow.physics.DrellYan` is an integrand on [0, 1]^4 whose first coordinate ``x_0`` is
mapped to ``ŝ = m_ll²`` by its own power law (``ν = 2`` by default). A channel of the
multi-channel integrator is a mapping of the unit cube onto that cube: :class:`InvariantMassMap`
draws ``ŝ`` from the channel's own invariant map (the photon's power law, eq. 63, or a resonance's
Breit-Wigner, eq. 61-62, from :mod:`nisflow.physics.invariant_maps`), writes it back in the
integrand's ``x_0`` by the inverse of the process's power law, and leaves ``(x_1, x_2, x_3)``
untouched. Its density on the cube is therefore the channel's density in ``ŝ`` times
``dŝ/dx_0``, and the ratios of the channels' densities at a point are those in ``ŝ``.

:func:`drell_yan_channels` builds the three channels γ (power law), Z and Z' (Breit-Wigners) with
a flow each; :func:`drell_yan_prior` is the MG5aMC-like prior (eq. 8) ``α_i ∝ |P_i(ŝ)|²`` from
the squared propagators of the three diagrams.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..integrator import FlowConfig
from ..mappings import Mapping
from ..multichannel import Channel
from ..physics import DrellYan
from ..physics.invariant_maps import (
    breit_wigner_s,
    breit_wigner_s_inverse,
    power_law_s,
    power_law_s_inverse,
)

__all__ = ["InvariantMassMap", "drell_yan_channels", "drell_yan_prior", "shat_of"]


def _check_power_process(process: DrellYan) -> None:
    if not isinstance(process, DrellYan):
        raise TypeError(f"Expected a nisflow.physics.DrellYan; got {type(process).__name__}.")
    if process.mapping != "power":
        raise ValueError(
            "Expected a DrellYan with mapping='power' (its x_0 is the power-law coordinate the "
            f"channels map onto); got mapping={process.mapping!r}."
        )


class InvariantMassMap(Mapping):
    """Maps [0, 1]^4 onto the cube of a power-law :class:`~nisflow.physics.DrellYan` through ``ŝ``.

    ``u_0 -> ŝ`` by the channel's map on ``[s_min, s_max]``, then ``ŝ -> x_0`` by the inverse of
    the process's power law with exponent ``nu_target``; ``x_k = u_k`` for ``k = 1, 2, 3``.

    Args:
        s_min, s_max: the range of ``ŝ`` in GeV² (the process's ``mll_min²`` and ``s``).
        nu_target: the exponent of the process's own power-law map of ``x_0``.
        kind: ``"power"`` (photon, eq. 63) or ``"breit_wigner"`` (a resonance, eq. 61-62).
        nu: the exponent of the channel's power law (``kind="power"``).
        mass, width: the resonance (``kind="breit_wigner"``), in GeV.

    Example:
        >>> m = InvariantMassMap(225.0, 1.69e8, 2.0, kind="breit_wigner", mass=91.188, width=2.44)
        >>> x, log_det = m(torch.rand(5, 4, dtype=torch.float64))
        >>> x.shape, log_det.shape
        (torch.Size([5, 4]), torch.Size([5]))
    """

    def __init__(
        self,
        s_min: float,
        s_max: float,
        nu_target: float,
        *,
        kind: str = "power",
        nu: float = 2.0,
        mass: float | None = None,
        width: float | None = None,
    ):
        super().__init__(4, 0.0, 1.0)
        if not (0 < s_min < s_max < math.inf):
            raise ValueError(f"Expected 0 < s_min < s_max < inf; got s_min={s_min}, s_max={s_max}.")
        if kind not in ("power", "breit_wigner"):
            raise ValueError(f"Expected kind 'power' or 'breit_wigner'; got {kind!r}.")
        if kind == "breit_wigner" and not (
            mass is not None and width is not None and mass > 0 and width > 0
        ):
            raise ValueError(
                f"Expected a positive mass and width for a Breit-Wigner channel; got mass={mass!r}, "
                f"width={width!r}."
            )
        self.s_min, self.s_max = float(s_min), float(s_max)
        self.nu_target, self.kind, self.nu = float(nu_target), kind, float(nu)
        self.mass = None if mass is None else float(mass)
        self.width = None if width is None else float(width)

    def extra_repr(self) -> str:
        if self.kind == "power":
            return f"power law nu={self.nu:g} on [{self.s_min:g}, {self.s_max:g}] GeV^2"
        return f"Breit-Wigner M={self.mass:g} GeV, Gamma={self.width:g} GeV"

    def _channel_s(self, u: Tensor) -> tuple[Tensor, Tensor]:
        if self.kind == "power":
            return power_law_s(u, self.s_min, self.s_max, self.nu)
        return breit_wigner_s(u, self.mass, self.width, self.s_min, self.s_max)

    def _channel_u(self, s: Tensor) -> tuple[Tensor, Tensor]:
        if self.kind == "power":
            return power_law_s_inverse(s, self.s_min, self.s_max, self.nu)
        return breit_wigner_s_inverse(s, self.mass, self.width, self.s_min, self.s_max)

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        u64 = u.to(torch.float64)
        s, log_ds_du = self._channel_s(u64[:, 0])
        x0, log_dx_ds = power_law_s_inverse(s, self.s_min, self.s_max, self.nu_target)
        x = torch.cat([x0.unsqueeze(-1), u64[:, 1:]], -1)
        return x.to(u.dtype), (log_ds_du + log_dx_ds).to(u.dtype)

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x64 = x.to(torch.float64)
        s, log_ds_dx = power_law_s(x64[:, 0], self.s_min, self.s_max, self.nu_target)
        u0, log_du_ds = self._channel_u(s)
        u = torch.cat([u0.unsqueeze(-1), x64[:, 1:]], -1)
        return u.to(x.dtype), (log_ds_dx + log_du_ds).to(x.dtype)


def drell_yan_channels(
    process: DrellYan, flow: bool | str | FlowConfig | None = True
) -> list[Channel]:
    """The photon, Z and (with a Z') Z' channels of ``process``, each with a flow.

    Args:
        process: a :class:`~nisflow.physics.DrellYan` with ``mapping="power"``.
        flow: the flow of every channel (see :class:`~nisflow.multichannel.Channel`).

    Returns:
        ``[γ, Z]`` or ``[γ, Z, Z']``: channels on [0, 1]^4 named ``"photon"``, ``"Z"``, ``"Z'"``.
    """
    _check_power_process(process)
    s_min, s_max, nu = process.mll_min**2, process.s, process.nu
    maps = [
        ("photon", InvariantMassMap(s_min, s_max, nu, kind="power", nu=2.0)),
        (
            "Z",
            InvariantMassMap(
                s_min, s_max, nu, kind="breit_wigner", mass=process.sm.mz, width=process.sm.wz
            ),
        ),
    ]
    if process.zprime is not None:
        zp = process.zprime
        maps.append(
            (
                "Z'",
                InvariantMassMap(
                    s_min, s_max, nu, kind="breit_wigner", mass=zp.mass, width=zp.width
                ),
            )
        )
    return [Channel(mapping=m, flow=flow, name=name) for name, m in maps]


def shat_of(process: DrellYan, x: Tensor) -> Tensor:
    """``ŝ`` in GeV² at cube points ``x`` of shape ``(n, 4)`` of a power-law ``process``; ``(n,)``."""
    _check_power_process(process)
    return power_law_s(x[:, 0].to(torch.float64), process.mll_min**2, process.s, process.nu)[0]


def drell_yan_prior(process: DrellYan) -> Callable[[Tensor], Tensor]:
    """The MG5aMC-like prior (MadNIS eq. 8) of :func:`drell_yan_channels`.

    Returns:
        ``h(x) -> (n, m)``: the squared propagators ``1/ŝ²``, ``1/|ŝ - M_Z² + i M_Z Γ_Z|²`` and
        (with a Z') ``1/|ŝ - M_Z'² + i M_Z' Γ_Z'|²`` at points ``x`` of shape ``(n, 4)``,
        float64, scaled by ``ŝ²`` (a common factor that leaves the weights unchanged and keeps
        the numbers of order one).
    """
    _check_power_process(process)
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
