"""Three-jet production ``p p -> u c -> u c g`` (the ZüNIS benchmark, seed 003 §4.3) as an integrand.

:class:`UCToUCG` is a callable on [0, 1]^7 returning dσ/dx in picobarn, like the other processes of
:mod:`nisflow.physics.processes`: ``Integrator(d=p.d, f=p).integrate()`` gives the cross section.

ZüNIS's setup (its MadGraph benchmark: ``generate u c > u c g``, ``e_cm = 1000``, ``pt_cut = 0.1``,
``rap_maxcut = 2.4``, ``delr_cut = 0.4``, TorchPS's RAMBO on diet with ``tau = False``):

* ``x = (x1, x2, r1 .. r5)``: the momentum fractions taken flat in [0, 1]² (no mapping of the
  small-x region), ``ŝ = x1 x2 s``, then RAMBO on diet for three massless partons in the partonic
  centre-of-mass frame from ``r`` (flat, weight
  :func:`~nisflow.physics.phase_space.massless_volume` ``(3, ŝ) = ŝ / (256 π³)``);
* points with ``x1`` or ``x2`` below ``x_min = 1e-4`` give zero (as TorchPS does);
* PDFs at the fixed factorisation scale ``μ_F = M_Z``, αs at ``μ_R = μ_F`` from the PDF set
  (``0.118`` for NNPDF4.0 LO, MadGraph's default); ZüNIS used NNPDF2.3 NLO, the default here is
  the NNPDF4.0 LO set of the project;
* cuts on the three outgoing partons in the lab frame (:data:`~nisflow.physics.cuts.ZUNIS_CUTS`:
  ``pT > 0.1 GeV``, ``|η| < 2.4``, pairwise ``ΔR > 0.4``), as a step function (TorchPS tests
  only the largest signed η against 2.4; here every ``|η|`` is bounded).

    dσ/dx = Σ_orientations f_a(x1) f_b(x2) |M|²(u c -> u c g) Φ3(ŝ) / (2 ŝ) · θ(cuts)

with |M|² of :func:`~nisflow.physics.matrix_elements.me2_qqprime_to_qqprimeg`. The proton-proton
process has the u in either beam (``orientations="both"``, default); ZüNIS integrated the u from
beam 1 and the c from beam 2 only (``orientations="u_first"``).

This integrand is dominated by small ``ŝ``: the cuts allow jets of 0.1 GeV, σ ≈ 3.78e9 pb with the
defaults (VEGAS, 4M evaluations) and about 90% of it comes from ``√ŝ < 1 GeV``, a corner of
measure ~4e-6 of the cube, so the weight varies over many orders of magnitude. It is a benchmark
of importance sampling, not a phenomenological prediction; harder cuts (``Cuts(pt_min=20.0,
eta_max=2.4, delta_r_min=0.4)``) give a physical three-jet cross section (≈ 3.6e2 pb at 1 TeV).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..checks import check_unit_points
from .cuts import ZUNIS_CUTS, Cuts
from .kinematics import boost, minkowski_dot
from .matrix_elements import me2_qqprime_to_qqprimeg
from .parameters import GEV2_TO_PB, StandardModel
from .particles import PartonEvents
from .pdf import PDF, load_pdf
from .phase_space import RamboOnDiet
from .processes import HadronicProcess

__all__ = ["UCToUCG"]

_ORIENTATIONS = ("both", "u_first")
_UP, _CHARM, _GLUON = 2, 4, 21


class UCToUCG(HadronicProcess):
    """``p p -> u c -> u c g`` at leading order with PDFs and three-jet cuts; ``d = 7``.

    Args:
        sqrt_s: hadronic collision energy in GeV (ZüNIS: 1000).
        pdf: a PDF set name (found as :func:`~nisflow.physics.pdf.load_pdf` does) or a
            :class:`~nisflow.physics.pdf.PDF`.
        cuts: cuts on the three outgoing partons (default
            :data:`~nisflow.physics.cuts.ZUNIS_CUTS`); they must bound pT and ΔR from below
            (the process is soft and collinear divergent otherwise).
        pdf_path: folders searched for the PDF set before ``$LHAPDF_DATA_PATH``.
        sm: Standard-model inputs (only ``mz``, the default scale, is used).
        scale: the fixed factorisation and renormalisation scale in GeV (default ``M_Z``).
        alpha_s: the strong coupling; default the PDF set's αs at ``scale``.
        x_min: momentum fractions below it give zero (ZüNIS/TorchPS: ``1e-4``; ``0`` for none).
        orientations: ``"both"`` (u from either beam, the pp cross section) or ``"u_first"``
            (u from beam 1 and c from beam 2 only, as ZüNIS).

    Attributes:
        d: 7, the dimension ``(x1, x2, r1 .. r5)``.
        alpha_s: the strong coupling used (float).

    Example:
        >>> p = UCToUCG(pdf_path="../shared/data/pdfsets")
        >>> x = torch.rand(100000, p.d, dtype=torch.float64)
        >>> dsigma = p(x)            # (100000,) in pb; dsigma.mean() estimates σ
    """

    d = 7

    def __init__(
        self,
        sqrt_s: float = 1000.0,
        pdf: str | PDF = "NNPDF40_lo_as_01180",
        cuts: Cuts | None = ZUNIS_CUTS,
        pdf_path: str | Sequence[str] | None = None,
        *,
        sm: StandardModel | None = None,
        scale: float | None = None,
        alpha_s: float | None = None,
        x_min: float = 1e-4,
        orientations: str = "both",
    ):
        super().__init__()
        if not (sqrt_s > 0 and math.isfinite(sqrt_s)):
            raise ValueError(f"Expected a positive finite sqrt_s; got {sqrt_s!r}.")
        if cuts is None or not (cuts.pt_min > 0 and cuts.delta_r_min > 0):
            raise ValueError(
                "Expected cuts with pt_min > 0 and delta_r_min > 0 (u c -> u c g has soft and "
                f"collinear divergences without them); got {cuts!r}."
            )
        if not (0 <= x_min < 1):
            raise ValueError(f"Expected 0 <= x_min < 1; got {x_min!r}.")
        if orientations not in _ORIENTATIONS:
            raise ValueError(f"Expected orientations in {_ORIENTATIONS}; got {orientations!r}.")
        self.sm = sm or StandardModel()
        self.sqrt_s, self.s = float(sqrt_s), float(sqrt_s) ** 2
        self.pdf = pdf if isinstance(pdf, PDF) else load_pdf(pdf, paths=pdf_path)
        self.scale = float(self.sm.mz if scale is None else scale)
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise ValueError(f"Expected a positive finite scale in GeV; got {scale!r}.")
        if alpha_s is None:
            q2 = torch.tensor([self.scale**2], dtype=torch.float64, device=self.pdf.log_x.device)
            alpha_s = float(self.pdf.alphas(q2)[0])
        if not (0 < alpha_s < 1):
            raise ValueError(f"Expected 0 < alpha_s < 1; got {alpha_s!r}.")
        self.alpha_s = float(alpha_s)
        self.cuts = cuts
        self.x_min = float(x_min)
        self.orientations = orientations
        self.rambo = RamboOnDiet(3)

    def _kinematics(self, x: Tensor) -> dict[str, Tensor]:
        x = check_unit_points(x, self.d).to(torch.float64)
        # x = 0 would give ŝ = 0; such points are below x_min or fail the cuts anyway
        x1, x2 = x[:, 0].clamp(min=1e-100), x[:, 1].clamp(min=1e-100)
        shat = x1 * x2 * self.s
        e_cm = torch.sqrt(shat)
        k, log_w = self.rambo(x[:, 2:], e_cm)  # (n, 3, 4) u, c, g in the partonic frame
        e = 0.5 * e_cm
        z = torch.zeros_like(e)
        pa = torch.stack([e, z, z, e], -1)
        pb = torch.stack([e, z, z, -e], -1)
        p = torch.cat([pa.unsqueeze(1), pb.unsqueeze(1), k], 1)
        beta = torch.stack([z, z, (x1 - x2) / (x1 + x2)], -1)
        lab = boost(p, beta.unsqueeze(1))
        return dict(x1=x1, x2=x2, shat=shat, log_w=log_w, p=p, lab=lab)

    def _channels(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Kinematics and dσ/dx per orientation, ``(n, 2)``: u from beam 1, u from beam 2."""
        k = self._kinematics(x)
        p, x1, x2, shat = k["p"], k["x1"], k["x2"], k["shat"]
        q2 = torch.full_like(shat, self.scale**2)
        f1 = self.pdf.xfx_many([_UP, _CHARM], x1, q2) / x1.unsqueeze(-1)
        f2 = self.pdf.xfx_many([_UP, _CHARM], x2, q2) / x2.unsqueeze(-1)
        u_out, c_out, g_out = p[:, 2], p[:, 3], p[:, 4]
        me_a = me2_qqprime_to_qqprimeg(p[:, 0], p[:, 1], u_out, c_out, g_out, self.alpha_s)
        terms = [f1[:, 0] * f2[:, 1] * me_a]
        if self.orientations == "both":
            me_b = me2_qqprime_to_qqprimeg(p[:, 1], p[:, 0], u_out, c_out, g_out, self.alpha_s)
            terms.append(f1[:, 1] * f2[:, 0] * me_b)
        else:
            terms.append(torch.zeros_like(terms[0]))
        norm = torch.exp(k["log_w"]) / (2 * shat) * GEV2_TO_PB
        keep = self.cuts.passed(k["lab"][:, 2:])
        if self.x_min > 0:
            keep = keep & (x1 >= self.x_min) & (x2 >= self.x_min)
        out = torch.stack(terms, -1) * norm.unsqueeze(-1)
        # cut points can hold degenerate momenta (nan/inf |M|²): they are replaced, not multiplied
        return k, torch.where(keep.unsqueeze(-1), out, torch.zeros_like(out))

    def momenta(self, x: Tensor) -> Tensor:
        """Lab-frame momenta ``(parton 1, parton 2, u, c, g)``, shape ``(n, 5, 4)``, float64."""
        return self._kinematics(x)["lab"]

    def events(self, x: Tensor, generator: torch.Generator | None = None) -> PartonEvents:
        """Particles ``(parton 1, parton 2, u, c, g)`` with orientation and colour flow per event.

        The orientation (u from beam 1 or from beam 2) is drawn in proportion to its term of
        dσ/dx. The leading-colour flow is drawn in proportion to its antenna: the gluon between
        the incoming c and the outgoing u (weight ``p_c,in·p_u,out / (p_c,in·k p_u,out·k)``) or
        between the incoming u and the outgoing c.

        Args:
            x: points of the cube, shape ``(n, 7)``.
            generator: randomness for the draws (on the process's device).

        Returns:
            :class:`PartonEvents` in the lab frame; scale μ_F; αs of the process.
        """
        k, terms = self._channels(x)
        lab = k["lab"]
        w = terms.clamp(min=0)
        empty = ~(w > 0).any(-1, keepdim=True)
        w = torch.where(empty, torch.ones_like(w), w)
        u_first = torch.multinomial(w, 1, generator=generator).squeeze(-1) == 0
        if self.orientations == "u_first":
            u_first = torch.ones_like(u_first)
        u_in = torch.where(u_first.unsqueeze(-1), lab[:, 0], lab[:, 1])
        c_in = torch.where(u_first.unsqueeze(-1), lab[:, 1], lab[:, 0])
        u_out, c_out, gluon = lab[:, 2], lab[:, 3], lab[:, 4]

        def antenna(a: Tensor, b: Tensor) -> Tensor:
            return minkowski_dot(a, b) / (minkowski_dot(a, gluon) * minkowski_dot(b, gluon))

        flows = torch.stack([antenna(c_in, u_out), antenna(u_in, c_out)], -1)
        flows = torch.where(torch.isfinite(flows) & (flows > 0), flows, torch.ones_like(flows))
        c_to_u = torch.multinomial(flows, 1, generator=generator).squeeze(-1) == 0

        n = lab.shape[0]
        dev = lab.device
        up = torch.full((n,), _UP, dtype=torch.int64, device=dev)
        charm = torch.full((n,), _CHARM, dtype=torch.int64, device=dev)
        pdg = torch.stack(
            [
                torch.where(u_first, up, charm),
                torch.where(u_first, charm, up),
                up,
                charm,
                torch.full_like(up, _GLUON),
            ],
            -1,
        )

        def tags(*values: int) -> Tensor:
            return torch.tensor(values, dtype=torch.int64, device=dev)

        zero = torch.zeros(n, 2, dtype=torch.int64, device=dev)
        col_u_in, col_c_in = tags(501, 0).expand(n, 2), tags(502, 0).expand(n, 2)
        flow = c_to_u.unsqueeze(-1)
        # c_in -> g -> u_out and u_in -> c_out, or u_in -> g -> c_out and c_in -> u_out
        col_u_out = torch.where(flow, tags(503, 0), tags(502, 0)) + zero
        col_c_out = torch.where(flow, tags(501, 0), tags(503, 0)) + zero
        col_g = torch.where(flow, tags(502, 503), tags(501, 503)) + zero
        first = u_first.unsqueeze(-1)
        colours = torch.stack(
            [
                torch.where(first, col_u_in, col_c_in),
                torch.where(first, col_c_in, col_u_in),
                col_u_out,
                col_c_out,
                col_g,
            ],
            1,
        )
        return PartonEvents.build(
            lab,
            pdg,
            status=torch.tensor([-1, -1, 1, 1, 1]),
            mothers=torch.tensor([[0, 0], [0, 0], [1, 2], [1, 2], [1, 2]]),
            colours=colours,
            scale=self.scale,
            alpha_qed=self.sm.alpha,
            alpha_qcd=self.alpha_s,
        )

    def extra_repr(self) -> str:
        return (
            f"sqrt_s={self.sqrt_s}, scale={self.scale}, alpha_s={self.alpha_s:.5f}, "
            f"x_min={self.x_min}, orientations={self.orientations!r}, cuts={self.cuts}"
        )
