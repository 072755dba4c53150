"""Process integrands on the unit hypercube that return differential cross sections in pb.

Each process is a :class:`torch.nn.Module` with an attribute ``d`` and is called on points of shape
``(n, d)`` in [0, 1]^d; it returns ``dσ/dx`` in picobarn, shape ``(n,)``, so that the integral over
the cube is the cross section: ``Integrator(d=p.d, f=p).integrate()``. The map from the cube to
phase space and its Jacobian are inside the process; :meth:`momenta` returns the four-momenta of
the same points.

Drell-Yan (MadNIS §5): ``x = (u_s, u_y, u_θ, u_φ)`` with

* ``ŝ = m_ll²`` from ``u_s`` by a power law ``ŝ^-ν`` on ``[m_ll,min², s]`` (eq. 63, default
  ``ν = 2``) or a Breit-Wigner of a chosen resonance (eq. 61);
* ``x1 = τ^(u_y)``, ``x2 = τ^(1-u_y)`` with ``τ = ŝ/s`` (eq. 64; ``dx1 dx2 = -log τ dτ du_y``);
* ``cos θ = 2 u_θ - 1`` and ``φ = 2π u_φ - π``, the ℓ⁻ direction in the partonic frame relative to
  beam 1.

    dσ = Σ_q [f_q(x1) f_q̄(x2) |M_q|²(ŝ, t) + f_q̄(x1) f_q(x2) |M_q|²(ŝ, u)] / (64 π² ŝ) dx1 dx2 dΩ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_unit_points
from .invariant_maps import breit_wigner_s, power_law_s
from .kinematics import boost
from .matrix_elements import QUARKS, ZPrime, ee_to_mumu, qqbar_to_ll
from .parameters import GEV2_TO_PB, StandardModel
from .pdf import PDF, load_pdf

__all__ = ["EEToMuMu", "DrellYan"]


def _back_to_back(e: Tensor, cos_t: Tensor, phi: Tensor) -> tuple[Tensor, Tensor]:
    """Two massless momenta of energy ``e`` each, the first along ``(θ, φ)``; shapes ``(n, 4)``."""
    sin_t = torch.sqrt((1 - cos_t * cos_t).clamp(min=0))
    vec = torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], -1) * e.unsqueeze(-1)
    return torch.cat([e.unsqueeze(-1), vec], -1), torch.cat([e.unsqueeze(-1), -vec], -1)


class EEToMuMu(nn.Module):
    """``e+ e- -> mu+ mu-`` through γ and Z at fixed ``√s``; ``x = (u_θ, u_φ)``, ``d = 2``.

    Args:
        sqrt_s: collision energy in GeV.
        sm: electroweak parameters (default MG5aMC's).
        photon, z: include these bosons.

    Example:
        >>> p = EEToMuMu(91.188)
        >>> x = torch.rand(100000, 2, dtype=torch.float64)
        >>> sigma = p(x).mean()     # ≈ 1.99e3 pb on the Z pole (γ + Z, MG5 parameters)
    """

    d = 2

    def __init__(
        self, sqrt_s: float, sm: StandardModel | None = None, *, photon: bool = True, z: bool = True
    ):
        super().__init__()
        if not (sqrt_s > 0 and math.isfinite(sqrt_s)):
            raise ValueError(f"Expected a positive finite sqrt_s; got {sqrt_s!r}.")
        self.sqrt_s, self.sm, self.photon, self.z = float(sqrt_s), sm or StandardModel(), photon, z

    def forward(self, x: Tensor) -> Tensor:
        """dσ/dx in pb at points ``x`` of shape ``(n, 2)``; returns ``(n,)`` in ``x``'s dtype."""
        x = check_unit_points(x, self.d)
        s = torch.full_like(x[:, 0], self.sqrt_s**2, dtype=torch.float64)
        cos_t = 2 * x[:, 0].to(torch.float64) - 1
        t = -0.5 * s * (1 - cos_t)
        me2 = ee_to_mumu(s, t, self.sm, photon=self.photon, z=self.z)
        # dσ/dΩ = |M|²/(64 π² s), dΩ = 4π dx
        return (me2 / (64 * math.pi**2 * s) * 4 * math.pi * GEV2_TO_PB).to(x.dtype)

    def momenta(self, x: Tensor) -> Tensor:
        """Momenta ``(e-, e+, mu-, mu+)`` in the centre-of-mass frame, shape ``(n, 4, 4)``."""
        x = check_unit_points(x, self.d)
        e = torch.full_like(x[:, 0], self.sqrt_s / 2)
        zero, one = torch.zeros_like(e), torch.ones_like(e)
        pa, pb = _back_to_back(e, one, zero)
        k1, k2 = _back_to_back(e, 2 * x[:, 0] - 1, 2 * math.pi * x[:, 1] - math.pi)
        return torch.stack([pa, pb, k1, k2], 1)


class DrellYan(nn.Module):
    """``p p -> γ/Z(/Z') -> e+ e-`` at leading order, with the MadNIS settings by default.

    Args:
        sqrt_s: hadronic collision energy in GeV (13 TeV).
        pdf: a PDF set name (found as :func:`~nisflow.physics.pdf.load_pdf` does) or a
            :class:`~nisflow.physics.pdf.PDF`.
        zprime: ``None`` or a :class:`~nisflow.physics.matrix_elements.ZPrime` or a dict of its
            fields, e.g. ``dict(mass=400.0, width=0.5)`` (sequential couplings by default).
        mll_min: lower cut on the dilepton mass in GeV (15).
        pdf_path: folders searched for the PDF set before ``$LHAPDF_DATA_PATH``.
        sm: electroweak parameters (MG5aMC defaults).
        scale: the factorisation scale μ_F in GeV (fixed, default M_Z), or ``"mll"`` for μ_F = m_ll.
        flavours: PDG ids of the quarks in the initial state (four light flavours d u s c).
        mapping: ``"power"`` (m_ll² ~ s^-ν) or ``"breit_wigner"`` (around ``resonance``).
        nu: the exponent of the power-law mapping.
        resonance: ``"z"`` or ``"zprime"``, the peak of the Breit-Wigner mapping.
        photon, z: include these bosons.

    Attributes:
        d: 4, the dimension ``(u_s, u_y, u_θ, u_φ)``.
    """

    d = 4

    def __init__(
        self,
        sqrt_s: float = 13000.0,
        pdf: str | PDF = "NNPDF40_lo_as_01180",
        zprime: ZPrime | dict | None = None,
        mll_min: float = 15.0,
        pdf_path: str | Sequence[str] | None = None,
        *,
        sm: StandardModel | None = None,
        scale: float | str | None = None,
        flavours: Sequence[int] = (1, 2, 3, 4),
        mapping: str = "power",
        nu: float = 2.0,
        resonance: str = "z",
        photon: bool = True,
        z: bool = True,
    ):
        super().__init__()
        if not (sqrt_s > 0 and math.isfinite(sqrt_s)):
            raise ValueError(f"Expected a positive finite sqrt_s; got {sqrt_s!r}.")
        if not (0 < mll_min < sqrt_s):
            raise ValueError(f"Expected 0 < mll_min < sqrt_s; got mll_min={mll_min!r}.")
        if mapping not in ("power", "breit_wigner"):
            raise ValueError(f"Expected mapping 'power' or 'breit_wigner'; got {mapping!r}.")
        bad = [f for f in flavours if f not in QUARKS]
        if bad or not flavours:
            raise ValueError(
                f"Expected quark flavours among {sorted(QUARKS)} (d, u, s, c); got {list(flavours)}."
            )
        self.sm = sm or StandardModel()
        self.sqrt_s, self.s = float(sqrt_s), float(sqrt_s) ** 2
        self.mll_min = float(mll_min)
        if isinstance(zprime, dict):
            zprime = ZPrime(**zprime)
        self.zprime = zprime
        self.pdf = pdf if isinstance(pdf, PDF) else load_pdf(pdf, paths=pdf_path)
        if scale is None:
            scale = self.sm.mz
        if isinstance(scale, str) and scale != "mll":
            raise ValueError(f"Expected scale to be a number in GeV or 'mll'; got {scale!r}.")
        self.scale = scale
        self.flavours = tuple(int(f) for f in flavours)
        self.mapping, self.nu, self.photon, self.z = mapping, float(nu), photon, z
        if mapping == "breit_wigner":
            if resonance == "z":
                self._bw = (self.sm.mz, self.sm.wz)
            elif resonance == "zprime" and zprime is not None:
                self._bw = (zprime.mass, zprime.width)
            else:
                raise ValueError(
                    f"Expected resonance 'z', or 'zprime' with a zprime; got resonance={resonance!r}, "
                    f"zprime={zprime!r}."
                )

    def _shat(self, u: Tensor) -> tuple[Tensor, Tensor]:
        s_min, s_max = self.mll_min**2, self.s
        if self.mapping == "power":
            return power_law_s(u, s_min, s_max, self.nu)
        return breit_wigner_s(u, *self._bw, s_min, s_max)

    def _kinematics(self, x: Tensor) -> dict[str, Tensor]:
        x = check_unit_points(x, self.d).to(torch.float64)
        shat, log_js = self._shat(x[:, 0])
        tau = shat / self.s
        log_tau = torch.log(tau)
        x1 = torch.exp(x[:, 1] * log_tau)
        x2 = torch.exp((1 - x[:, 1]) * log_tau)
        cos_t = 2 * x[:, 2] - 1
        phi = 2 * math.pi * x[:, 3] - math.pi
        # dx1 dx2 dΩ = (-log τ) (dŝ/s) du_y · 4π du_θ du_φ
        log_jac = log_js + torch.log(-log_tau) - math.log(self.s) + math.log(4 * math.pi)
        return dict(shat=shat, x1=x1, x2=x2, cos_t=cos_t, phi=phi, log_jac=log_jac)

    def forward(self, x: Tensor) -> Tensor:
        """dσ/dx in pb at points of shape ``(n, 4)``; returns ``(n,)`` in ``x``'s dtype."""
        k = self._kinematics(x)
        shat, x1, x2, cos_t = k["shat"], k["x1"], k["x2"], k["cos_t"]
        if self.scale == "mll":
            q2 = shat
        else:
            q2 = torch.full_like(shat, float(self.scale) ** 2)
        pids = [f for q in self.flavours for f in (q, -q)]
        f1 = self.pdf.xfx_many(pids, x1, q2) / x1.unsqueeze(-1)
        f2 = self.pdf.xfx_many(pids, x2, q2) / x2.unsqueeze(-1)
        t = -0.5 * shat * (1 - cos_t)
        u = -0.5 * shat * (1 + cos_t)
        lum_me = torch.zeros_like(shat)
        for j, q in enumerate(self.flavours):
            opts = dict(photon=self.photon, z=self.z, zprime=self.zprime)
            me_t = qqbar_to_ll(shat, t, q, self.sm, **opts)  # quark from beam 1
            me_u = qqbar_to_ll(shat, u, q, self.sm, **opts)  # quark from beam 2
            lum_me = (
                lum_me
                + f1[:, 2 * j] * f2[:, 2 * j + 1] * me_t
                + f1[:, 2 * j + 1] * f2[:, 2 * j] * me_u
            )
        dsigma = lum_me / (64 * math.pi**2 * shat) * torch.exp(k["log_jac"]) * GEV2_TO_PB
        return dsigma.to(x.dtype)

    def momenta(self, x: Tensor) -> Tensor:
        """Lab-frame momenta ``(parton 1, parton 2, e-, e+)``, shape ``(n, 4, 4)``, float64."""
        k = self._kinematics(x)
        e_beam = 0.5 * self.sqrt_s
        z = torch.zeros_like(k["x1"])
        pa = torch.stack([k["x1"] * e_beam, z, z, k["x1"] * e_beam], -1)
        pb = torch.stack([k["x2"] * e_beam, z, z, -k["x2"] * e_beam], -1)
        l1, l2 = _back_to_back(0.5 * torch.sqrt(k["shat"]), k["cos_t"], k["phi"])
        beta = torch.stack([z, z, (k["x1"] - k["x2"]) / (k["x1"] + k["x2"])], -1)
        return torch.stack([pa, pb, boost(l1, beta), boost(l2, beta)], 1)

    def extra_repr(self) -> str:
        return (
            f"sqrt_s={self.sqrt_s}, mll_min={self.mll_min}, scale={self.scale}, "
            f"flavours={self.flavours}, mapping={self.mapping!r}, zprime={self.zprime}"
        )
