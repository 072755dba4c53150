"""Process integrands on the unit hypercube that return differential cross sections in pb.

Each process is a :class:`torch.nn.Module` with an attribute ``d`` and is called on points of shape
``(n, d)`` in [0, 1]^d; it returns ``dσ/dx`` in picobarn, shape ``(n,)``, so that the integral over
the cube is the cross section: ``Integrator(d=p.d, f=p).integrate()``. The map from the cube to
phase space and its Jacobian are inside the process; :meth:`momenta` returns the four-momenta of
the same points.

Drell-Yan (MadNIS §5): ``x = (u_s, u_y, u_θ, u_φ)`` with

* ``ŝ = m_ll²`` from ``u_s`` by a power law ``ŝ^-ν`` on ``[m_ll,min², s]`` (eq. 63, default
  ``ν = 2``; :class:`~nisflow.mappings.MasslessPropagator`) or a Breit-Wigner of a chosen
  resonance (eq. 61; :class:`~nisflow.mappings.RelativisticBreitWigner`);
* ``x1 = τ^(u_y)``, ``x2 = τ^(1-u_y)`` with ``τ = ŝ/s`` (eq. 64; ``dx1 dx2 = -log τ dτ du_y``;
  :class:`~nisflow.mappings.MomentumFractions`, which holds the map of ``ŝ``);
* ``cos θ = 2 u_θ - 1`` and ``φ = 2π u_φ - π``, the ℓ⁻ direction in the partonic frame relative to
  beam 1.

    dσ = Σ_q [f_q(x1) f_q̄(x2) |M_q|²(ŝ, t) + f_q̄(x1) f_q(x2) |M_q|²(ŝ, u)] / (64 π² ŝ) dx1 dx2 dΩ.

Events (:meth:`events`): a point ``x`` fixes the momenta; which partons collided is drawn per
event. The cross section is a sum over *channels* — (flavour, which beam carries the quark) for
Drell-Yan, (which beam carries the d, colour flow) for d d̄ -> d d̄ — and each event's channel is
drawn with probability proportional to that channel's term of the sum at ``x``, so that events
distributed as ``dσ`` carry the flavours in the proportions of the cross section.

The ZüNIS benchmark processes (seed 003 §4.3) at ``√s = 1 TeV`` with the cuts
:data:`~nisflow.physics.cuts.ZUNIS_CUTS` (pT > 0.1 GeV, |η| < 2.4, ΔR > 0.4 for every outgoing
particle, applied as a step function as in the paper): :class:`EMuToEMu` (``d = 2``, flat in
``cos θ`` and ``φ`` like RAMBO for two bodies) and :class:`DDbarToDDbar` (``d = 4``,
``x = (x1, x2, u_θ, u_φ)`` with the momentum fractions taken flat, as ZüNIS did).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_unit_points
from ..mappings import Mapping, MasslessPropagator, MomentumFractions, RelativisticBreitWigner
from .cuts import ZUNIS_CUTS, Cuts
from .kinematics import boost
from .matrix_elements import (
    DOWN,
    QUARKS,
    ZPrime,
    ddbar_to_ddbar,
    ee_to_mumu,
    emu_to_emu,
    qqbar_to_ll,
)
from .parameters import GEV2_TO_PB, StandardModel
from .particles import Beams, PartonEvents
from .pdf import PDF, load_pdf

__all__ = ["HadronicProcess", "EEToMuMu", "DrellYan", "EMuToEMu", "DDbarToDDbar"]

_INCOMING_OUTGOING = dict(
    status=[-1, -1, 1, 1],
    mothers=[[0, 0], [0, 0], [1, 2], [1, 2]],
)


def _sample_channels(weights: Tensor, generator: torch.Generator | None) -> Tensor:
    """One channel index per row, with probability proportional to the row's ``weights``.

    Args:
        weights: non-negative channel terms, shape ``(n, k)``; negative entries count as zero and
            a row without a positive entry picks uniformly.
        generator: randomness (on ``weights``' device).

    Returns:
        int64 indices of shape ``(n,)``.
    """
    w = weights.clamp(min=0)
    empty = ~(w > 0).any(-1, keepdim=True)
    w = torch.where(empty, torch.ones_like(w), w)
    if w.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=w.device)
    return torch.multinomial(w, 1, generator=generator).squeeze(-1)


def _alphas_or_zero(pdf: PDF, q2: Tensor) -> Tensor:
    try:
        return pdf.alphas(q2)
    except ValueError:  # a set without an αs table
        return torch.zeros_like(q2)


def _pdf_set_id(pdf: PDF) -> int:
    try:
        return int(pdf.info.get("SetIndex", 0))
    except (TypeError, ValueError):
        return 0


def _back_to_back(e: Tensor, cos_t: Tensor, phi: Tensor) -> tuple[Tensor, Tensor]:
    """Two massless momenta of energy ``e`` each, the first along ``(θ, φ)``; shapes ``(n, 4)``."""
    sin_t = torch.sqrt((1 - cos_t * cos_t).clamp(min=0))
    vec = torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], -1) * e.unsqueeze(-1)
    return torch.cat([e.unsqueeze(-1), vec], -1), torch.cat([e.unsqueeze(-1), -vec], -1)


class HadronicProcess(nn.Module):
    """What the pp processes share: dσ/dx as the sum of per-channel terms, and the beams.

    Subclasses set ``sqrt_s`` and ``pdf`` and define ``_channels(x) -> (kinematics, terms)``
    with ``terms`` of shape ``(n, n_terms)`` in pb (one column per parton orientation/flavour).
    """

    sqrt_s: float
    pdf: PDF

    def _channels(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """dσ/dx in pb at points of shape ``(n, d)``; returns ``(n,)`` in ``x``'s dtype."""
        _, terms = self._channels(x)
        return terms.sum(-1).to(x.dtype)

    @property
    def beams(self) -> Beams:
        """Two protons of energy ``√s/2`` with the PDF set's LHAPDF id."""
        pdf_id = _pdf_set_id(self.pdf)
        return Beams(ids=(2212, 2212), energies=(self.sqrt_s / 2,) * 2, pdf_sets=(pdf_id, pdf_id))


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

    @property
    def beams(self) -> Beams:
        """Beam 1 is the e- (along +z), beam 2 the e+, each with energy ``√s/2``."""
        return Beams(ids=(11, -11), energies=(self.sqrt_s / 2, self.sqrt_s / 2))

    def events(self, x: Tensor, generator: torch.Generator | None = None) -> PartonEvents:
        """The particles ``e- e+ -> mu- mu+`` at points ``x`` of shape ``(n, 2)``.

        Args:
            x: points of the cube, shape ``(n, 2)``.
            generator: unused (no flavour or colour choice); accepted for a uniform interface.

        Returns:
            :class:`PartonEvents` with 4 particles per event, scale ``√s``.
        """
        p = self.momenta(x.to(torch.float64))
        return PartonEvents.build(
            p,
            torch.tensor([11, -11, 13, -13]),
            colours=torch.zeros(4, 2, dtype=torch.int64),
            scale=self.sqrt_s,
            alpha_qed=self.sm.alpha,
            **_INCOMING_OUTGOING,
        )


class DrellYan(HadronicProcess):
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
        fractions: the :class:`~nisflow.mappings.MomentumFractions` ``(u_s, u_y) -> (x1, x2)``;
            ``fractions.shat_map`` is the mapping ``u_s -> ŝ`` chosen by ``mapping``.
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
        s_min = self.mll_min**2
        if mapping == "power":
            shat_map: Mapping = MasslessPropagator(s_min, self.s, self.nu)
        elif resonance == "z":
            shat_map = RelativisticBreitWigner(self.sm.mz, self.sm.wz, s_min, self.s)
        elif resonance == "zprime" and zprime is not None:
            shat_map = RelativisticBreitWigner(zprime.mass, zprime.width, s_min, self.s)
        else:
            raise ValueError(
                f"Expected resonance 'z', or 'zprime' with a zprime; got resonance={resonance!r}, "
                f"zprime={zprime!r}."
            )
        #: ``(u_s, u_y) -> (x1, x2)`` (eq. 60-64); ``fractions.shat_map`` is the map of ``ŝ``.
        self.fractions = MomentumFractions(shat_map, self.s)

    def _kinematics(self, x: Tensor) -> dict[str, Tensor]:
        x = check_unit_points(x, self.d).to(torch.float64)
        x12, log_j, shat = self.fractions.forward_and_shat(x[:, :2])
        x1, x2 = x12[:, 0], x12[:, 1]
        cos_t = 2 * x[:, 2] - 1
        phi = 2 * math.pi * x[:, 3] - math.pi
        # dx1 dx2 dΩ = (-log τ) (dŝ/s) du_y · 4π du_θ du_φ
        log_jac = log_j + math.log(4 * math.pi)
        return dict(shat=shat, x1=x1, x2=x2, cos_t=cos_t, phi=phi, log_jac=log_jac)

    def _q2(self, shat: Tensor) -> Tensor:
        if self.scale == "mll":
            return shat
        return torch.full_like(shat, float(self.scale) ** 2)

    def _channels(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Kinematics and the terms of dσ/dx per channel, float64 of shape ``(n, 2 n_flavours)``.

        Column ``2j`` is the quark ``flavours[j]`` from beam 1 (antiquark from beam 2), column
        ``2j + 1`` the antiquark from beam 1.
        """
        k = self._kinematics(x)
        shat, x1, x2, cos_t = k["shat"], k["x1"], k["x2"], k["cos_t"]
        q2 = self._q2(shat)
        pids = [f for q in self.flavours for f in (q, -q)]
        f1 = self.pdf.xfx_many(pids, x1, q2) / x1.unsqueeze(-1)
        f2 = self.pdf.xfx_many(pids, x2, q2) / x2.unsqueeze(-1)
        t = -0.5 * shat * (1 - cos_t)
        u = -0.5 * shat * (1 + cos_t)
        norm = torch.exp(k["log_jac"]) * GEV2_TO_PB / (64 * math.pi**2 * shat)
        terms = []
        for j, q in enumerate(self.flavours):
            opts = dict(photon=self.photon, z=self.z, zprime=self.zprime)
            me_t = qqbar_to_ll(shat, t, q, self.sm, **opts)  # quark from beam 1
            me_u = qqbar_to_ll(shat, u, q, self.sm, **opts)  # quark from beam 2
            terms.append(f1[:, 2 * j] * f2[:, 2 * j + 1] * me_t * norm)
            terms.append(f1[:, 2 * j + 1] * f2[:, 2 * j] * me_u * norm)
        return k, torch.stack(terms, -1)

    def _momenta(self, k: dict[str, Tensor]) -> Tensor:
        e_beam = 0.5 * self.sqrt_s
        z = torch.zeros_like(k["x1"])
        pa = torch.stack([k["x1"] * e_beam, z, z, k["x1"] * e_beam], -1)
        pb = torch.stack([k["x2"] * e_beam, z, z, -k["x2"] * e_beam], -1)
        l1, l2 = _back_to_back(0.5 * torch.sqrt(k["shat"]), k["cos_t"], k["phi"])
        beta = torch.stack([z, z, (k["x1"] - k["x2"]) / (k["x1"] + k["x2"])], -1)
        return torch.stack([pa, pb, boost(l1, beta), boost(l2, beta)], 1)

    def momenta(self, x: Tensor) -> Tensor:
        """Lab-frame momenta ``(parton 1, parton 2, e-, e+)``, shape ``(n, 4, 4)``, float64."""
        return self._momenta(self._kinematics(x))

    def events(self, x: Tensor, generator: torch.Generator | None = None) -> PartonEvents:
        """Particles ``q q̄ -> e- e+`` at points ``x`` with the flavours drawn per event.

        The channel (quark flavour, and whether the quark comes from beam 1 or beam 2) of each
        event is drawn with probability proportional to its term of dσ/dx at that point
        (:meth:`_channels`), so the flavour mix of events follows the cross section.

        Args:
            x: points of the cube, shape ``(n, 4)``.
            generator: randomness for the channel draws (on the process's device).

        Returns:
            :class:`PartonEvents` ``(parton 1, parton 2, e-, e+)``; scale μ_F; αs from the PDF set.
        """
        k, terms = self._channels(x)
        choice = _sample_channels(terms, generator)
        flavours = torch.tensor(self.flavours, dtype=torch.int64, device=choice.device)
        q = flavours[choice // 2]
        quark_first = (choice % 2) == 0
        id1 = torch.where(quark_first, q, -q)
        lep = torch.ones_like(id1) * 11
        pdg = torch.stack([id1, -id1, lep, -lep], -1)
        zero, tag = torch.zeros_like(id1), torch.full_like(id1, 501)
        col1 = torch.stack(
            [torch.where(quark_first, tag, zero), torch.where(quark_first, zero, tag)], -1
        )
        colours = torch.stack(
            [col1, col1.flip(-1), torch.zeros_like(col1), torch.zeros_like(col1)], 1
        )
        q2 = self._q2(k["shat"])
        return PartonEvents.build(
            self._momenta(k),
            pdg,
            colours=colours,
            scale=torch.sqrt(q2),
            alpha_qed=self.sm.alpha,
            alpha_qcd=_alphas_or_zero(self.pdf, q2),
            **_INCOMING_OUTGOING,
        )

    def extra_repr(self) -> str:
        return (
            f"sqrt_s={self.sqrt_s}, mll_min={self.mll_min}, scale={self.scale}, "
            f"flavours={self.flavours}, mapping={self.mapping!r}, zprime={self.zprime}"
        )


class EMuToEMu(nn.Module):
    """``e- mu- -> e- mu-`` by t-channel Z exchange at fixed ``√s`` (ZüNIS benchmark); ``d = 2``.

    ``x = (u_θ, u_φ)``: the outgoing e- at ``cos θ = 2 u_θ - 1``, ``φ = 2π u_φ - π`` in the
    centre-of-mass frame (incoming e- along +z), the flat two-body phase space; points failing
    ``cuts`` give zero.

    Args:
        sqrt_s: collision energy in GeV (ZüNIS: 1000).
        cuts: cuts on the two outgoing leptons (default :data:`~nisflow.physics.cuts.ZUNIS_CUTS`;
            ``|η| < 2.4`` bounds ``|cos θ| < tanh 2.4``, ΔR of a back-to-back pair is ≥ π).
        sm: electroweak parameters (MG5aMC defaults).
        photon, z: exchanged bosons (the benchmark is Z only; the photon makes the forward
            region divergent without a pT cut).

    Example:
        >>> p = EMuToEMu(1000.0)
        >>> sigma = p(torch.rand(100000, 2, dtype=torch.float64)).mean()  # pb
    """

    d = 2

    def __init__(
        self,
        sqrt_s: float = 1000.0,
        cuts: Cuts | None = ZUNIS_CUTS,
        sm: StandardModel | None = None,
        *,
        photon: bool = False,
        z: bool = True,
    ):
        super().__init__()
        if not (sqrt_s > 0 and math.isfinite(sqrt_s)):
            raise ValueError(f"Expected a positive finite sqrt_s; got {sqrt_s!r}.")
        self.sqrt_s, self.sm, self.photon, self.z = float(sqrt_s), sm or StandardModel(), photon, z
        self.cuts = cuts or Cuts()

    def momenta(self, x: Tensor) -> Tensor:
        """Momenta ``(e- in, mu- in, e- out, mu- out)``, shape ``(n, 4, 4)``, float64."""
        x = check_unit_points(x, self.d).to(torch.float64)
        e = torch.full_like(x[:, 0], self.sqrt_s / 2)
        pa, pb = _back_to_back(e, torch.ones_like(e), torch.zeros_like(e))
        k1, k2 = _back_to_back(e, 2 * x[:, 0] - 1, 2 * math.pi * x[:, 1] - math.pi)
        return torch.stack([pa, pb, k1, k2], 1)

    def forward(self, x: Tensor) -> Tensor:
        """dσ/dx in pb at points of shape ``(n, 2)``; returns ``(n,)`` in ``x``'s dtype."""
        p = self.momenta(x)
        s = torch.full_like(p[:, 0, 0], self.sqrt_s**2)
        cos_t = 2 * x[:, 0].to(torch.float64) - 1
        t = -0.5 * s * (1 - cos_t)
        me2 = emu_to_emu(s, t, self.sm, photon=self.photon, z=self.z)
        dsigma = me2 / (64 * math.pi**2 * s) * 4 * math.pi * GEV2_TO_PB
        return torch.where(self.cuts.passed(p[:, 2:]), dsigma, torch.zeros_like(dsigma)).to(x.dtype)

    @property
    def beams(self) -> Beams:
        """Beam 1 the e- (along +z), beam 2 the mu-, each of energy ``√s/2``."""
        return Beams(ids=(11, 13), energies=(self.sqrt_s / 2, self.sqrt_s / 2))

    def events(self, x: Tensor, generator: torch.Generator | None = None) -> PartonEvents:
        """The particles ``e- mu- -> e- mu-`` at points ``x`` of shape ``(n, 2)``; scale ``√s``."""
        return PartonEvents.build(
            self.momenta(x),
            torch.tensor([11, 13, 11, 13]),
            colours=torch.zeros(4, 2, dtype=torch.int64),
            scale=self.sqrt_s,
            alpha_qed=self.sm.alpha,
            **_INCOMING_OUTGOING,
        )

    def extra_repr(self) -> str:
        return f"sqrt_s={self.sqrt_s}, cuts={self.cuts}, photon={self.photon}, z={self.z}"


class DDbarToDDbar(HadronicProcess):
    """``p p -> d d̄ -> d d̄`` by s- and t-channel Z exchange with PDFs (ZüNIS benchmark); ``d = 4``.

    ``x = (x1, x2, u_θ, u_φ)``: the momentum fractions of the partons taken flat in [0, 1]² (as
    ZüNIS did: no mapping of the Z peak, the hard part of this integrand), the outgoing d at
    ``cos θ = 2 u_θ - 1``, ``φ = 2π u_φ - π`` in the partonic frame relative to beam 1. Both
    orientations (d from beam 1 or from beam 2) are summed:

        dσ/dx = [f_d(x1) f_d̄(x2) |M|²(ŝ, t) + f_d̄(x1) f_d(x2) |M|²(ŝ, u)] · 4π / (64 π² ŝ)

    with ``ŝ = x1 x2 s``, ``t = -ŝ(1 - cos θ)/2``, ``u = -ŝ(1 + cos θ)/2``, times the step function
    of ``cuts`` on the outgoing pair in the lab frame. The PDFs are used as interpolated, without
    clamping: near ``x -> 1`` the grids give tiny negative values (|dσ/dx| < 1e-9 of its maximum),
    as LHAPDF does.

    Args:
        sqrt_s: hadronic collision energy in GeV (ZüNIS: 1000).
        pdf: a PDF set name (found as :func:`~nisflow.physics.pdf.load_pdf` does) or a PDF.
        cuts: cuts on the outgoing quarks (default :data:`~nisflow.physics.cuts.ZUNIS_CUTS`).
        pdf_path: folders searched for the PDF set before ``$LHAPDF_DATA_PATH``.
        sm: electroweak parameters.
        scale: μ_F in GeV (default M_Z) or ``"shat"`` for μ_F = √ŝ.
        photon, z: exchanged bosons (the benchmark is Z only; gluons are never included).
    """

    d = 4

    def __init__(
        self,
        sqrt_s: float = 1000.0,
        pdf: str | PDF = "NNPDF40_lo_as_01180",
        cuts: Cuts | None = ZUNIS_CUTS,
        pdf_path: str | Sequence[str] | None = None,
        *,
        sm: StandardModel | None = None,
        scale: float | str | None = None,
        photon: bool = False,
        z: bool = True,
    ):
        super().__init__()
        if not (sqrt_s > 0 and math.isfinite(sqrt_s)):
            raise ValueError(f"Expected a positive finite sqrt_s; got {sqrt_s!r}.")
        self.sm = sm or StandardModel()
        self.sqrt_s, self.s = float(sqrt_s), float(sqrt_s) ** 2
        self.pdf = pdf if isinstance(pdf, PDF) else load_pdf(pdf, paths=pdf_path)
        if scale is None:
            scale = self.sm.mz
        if isinstance(scale, str) and scale != "shat":
            raise ValueError(f"Expected scale to be a number in GeV or 'shat'; got {scale!r}.")
        self.scale = scale
        self.cuts = cuts or Cuts()
        self.photon, self.z = photon, z

    def _kinematics(self, x: Tensor) -> dict[str, Tensor]:
        x = check_unit_points(x, self.d).to(torch.float64)
        # x = 0 would give ŝ = 0 and an undefined boost; such points fail any cut anyway
        x1, x2 = x[:, 0].clamp(min=1e-100), x[:, 1].clamp(min=1e-100)
        shat = x1 * x2 * self.s
        cos_t = 2 * x[:, 2] - 1
        phi = 2 * math.pi * x[:, 3] - math.pi
        e_beam = 0.5 * self.sqrt_s
        z = torch.zeros_like(x1)
        pa = torch.stack([x1 * e_beam, z, z, x1 * e_beam], -1)
        pb = torch.stack([x2 * e_beam, z, z, -x2 * e_beam], -1)
        k1, k2 = _back_to_back(0.5 * torch.sqrt(shat), cos_t, phi)
        beta = torch.stack([z, z, (x1 - x2) / (x1 + x2)], -1)
        p = torch.stack([pa, pb, boost(k1, beta), boost(k2, beta)], 1)
        return dict(x1=x1, x2=x2, shat=shat, cos_t=cos_t, p=p)

    def _q2(self, shat: Tensor) -> Tensor:
        if self.scale == "shat":
            return shat
        return torch.full_like(shat, float(self.scale) ** 2)

    def _channels(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Kinematics and dσ/dx per orientation, ``(n, 2)``: d from beam 1, d̄ from beam 1."""
        k = self._kinematics(x)
        shat, cos_t = k["shat"], k["cos_t"]
        q2 = self._q2(shat).clamp(min=self.pdf.q2_min)
        x1 = k["x1"].clamp(min=self.pdf.x_min)
        x2 = k["x2"].clamp(min=self.pdf.x_min)
        f1 = self.pdf.xfx_many([1, -1], x1, q2) / x1.unsqueeze(-1)
        f2 = self.pdf.xfx_many([1, -1], x2, q2) / x2.unsqueeze(-1)
        t = -0.5 * shat * (1 - cos_t)
        u = -0.5 * shat * (1 + cos_t)
        opts = dict(photon=self.photon, z=self.z)
        me_t = ddbar_to_ddbar(shat, t, self.sm, **opts)
        me_u = ddbar_to_ddbar(shat, u, self.sm, **opts)
        norm = 4 * math.pi * GEV2_TO_PB / (64 * math.pi**2 * shat)
        terms = torch.stack([f1[:, 0] * f2[:, 1] * me_t, f1[:, 1] * f2[:, 0] * me_u], -1)
        keep = self.cuts.passed(k["p"][:, 2:]).unsqueeze(-1)
        terms = torch.where(keep, terms * norm.unsqueeze(-1), torch.zeros_like(terms))
        return k, terms

    def momenta(self, x: Tensor) -> Tensor:
        """Lab-frame momenta ``(parton 1, parton 2, d out, d̄ out)``, shape ``(n, 4, 4)``."""
        return self._kinematics(x)["p"]

    def events(self, x: Tensor, generator: torch.Generator | None = None) -> PartonEvents:
        """Particles ``(parton 1, parton 2, d, d̄)`` with orientation and colour flow drawn per event.

        The orientation is drawn in proportion to its term of dσ/dx, and the colour flow between
        annihilation (``d d̄`` in a colour singlet, the s-channel) and exchange (colour flowing
        from the incoming to the outgoing d, the t-channel) in proportion to the squared s- and
        t-channel amplitudes alone (their interference, suppressed by 1/N_c, has no flow).

        Args:
            x: points of the cube, shape ``(n, 4)``.
            generator: randomness for the draws.
        """
        k, terms = self._channels(x)
        shat, cos_t = k["shat"], k["cos_t"]
        t = -0.5 * shat * (1 - cos_t)
        u = -0.5 * shat * (1 + cos_t)
        opts = dict(photon=self.photon, z=self.z, lepton=DOWN)
        flows = []
        for tt in (t, u):  # |A_s|² ∝ q q̄ -> d d̄ at (ŝ, t); |A_t|² is its crossing (t, u)
            uu = -shat - tt
            s_sq = qqbar_to_ll(shat, tt, 1, self.sm, **opts)
            t_sq = qqbar_to_ll(tt, uu, 1, self.sm, **opts)
            total = (s_sq + t_sq).clamp(min=torch.finfo(shat.dtype).tiny)
            flows.append((s_sq / total, t_sq / total))
        weights = torch.stack(
            [
                terms[:, 0] * flows[0][0],
                terms[:, 0] * flows[0][1],
                terms[:, 1] * flows[1][0],
                terms[:, 1] * flows[1][1],
            ],
            -1,
        )
        choice = _sample_channels(weights, generator)
        d_first = choice < 2
        s_flow = (choice % 2) == 0
        one = torch.ones_like(choice)
        id1 = torch.where(d_first, one, -one)
        pdg = torch.stack([id1, -id1, one, -one], -1)
        zero = torch.zeros_like(choice)
        c1, c2 = torch.full_like(choice, 501), torch.full_like(choice, 502)
        # incoming quark (c1, 0); incoming antiquark: (0, c1) when annihilating, (0, c2) otherwise
        q_in = torch.stack([c1, zero], -1)
        qbar_in = torch.stack([zero, torch.where(s_flow, c1, c2)], -1)
        q_out = torch.stack([torch.where(s_flow, c2, c1), zero], -1)
        qbar_out = torch.stack([zero, c2], -1)
        first = d_first.unsqueeze(-1)
        colours = torch.stack(
            [
                torch.where(first, q_in, qbar_in),
                torch.where(first, qbar_in, q_in),
                q_out,
                qbar_out,
            ],
            1,
        )
        q2 = self._q2(shat)
        return PartonEvents.build(
            k["p"],
            pdg,
            colours=colours,
            scale=torch.sqrt(q2),
            alpha_qed=self.sm.alpha,
            alpha_qcd=_alphas_or_zero(self.pdf, q2.clamp(min=self.pdf.q2_min)),
            **_INCOMING_OUTGOING,
        )

    def extra_repr(self) -> str:
        return f"sqrt_s={self.sqrt_s}, scale={self.scale}, cuts={self.cuts}, z={self.z}"
