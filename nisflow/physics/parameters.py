"""Standard-model input parameters (MG5aMC's ``sm`` defaults) and derived electroweak couplings.

The inputs are MadGraph5_aMC@NLO's default ``sm`` model scheme (α(M_Z), G_F, M_Z): ``1/α = 132.507``,
``G_F = 1.16639e-5 GeV^-2``, ``M_Z = 91.188 GeV``, ``Γ_Z = 2.441404 GeV``. The W mass and the weak
mixing angle are derived at tree level:

    M_W² = M_Z²/2 + sqrt(M_Z⁴/4 - π α M_Z² / (√2 G_F)),    sin²θ_W = 1 - M_W²/M_Z².

Example:
    >>> sm = StandardModel()
    >>> round(sm.mw, 3), round(sm.sw2, 5)
    (80.419, 0.22224)
    >>> heavy = sm.replace(mz=91.1876)  # overriding one input re-derives the rest
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

__all__ = ["StandardModel", "GEV2_TO_PB", "ChiralCouplings", "z_couplings", "N_COLORS"]

GEV2_TO_PB = 0.3893793721e9
"""Conversion of a cross section from GeV⁻² to picobarn: ``(ħc)² = 0.3893793721 GeV² mb``."""

N_COLORS = 3


@dataclass(frozen=True)
class ChiralCouplings:
    """Left- and right-handed couplings of a vector boson to a fermion.

    The vertex is ``-i γ^μ (left P_L + right P_R)`` with ``P_{L,R} = (1 ∓ γ5)/2``.
    """

    left: float
    right: float

    @property
    def vector(self) -> float:
        """``g_V = (g_L + g_R)/2`` (vertex ``-i γ^μ (g_V - g_A γ5)``)."""
        return 0.5 * (self.left + self.right)

    @property
    def axial(self) -> float:
        """``g_A = (g_L - g_R)/2``."""
        return 0.5 * (self.left - self.right)


@dataclass(frozen=True)
class StandardModel:
    """Electroweak inputs in the (α, G_F, M_Z) scheme; frozen, override with :meth:`replace`.

    Args:
        alpha_inv: ``1/α`` at the Z pole (MG5aMC default 132.507).
        gf: Fermi constant in GeV⁻² (1.16639e-5).
        mz: Z mass in GeV (91.188).
        wz: Z width in GeV (2.441404).
        ww: W width in GeV (2.047600).
        mt: top mass in GeV (173.0), unused at tree level here.
        alpha_s: strong coupling at M_Z (0.118; MG5aMC's default is 0.1184, processes that use a
            PDF take αs from the PDF set instead).
    """

    alpha_inv: float = 132.507
    gf: float = 1.16639e-5
    mz: float = 91.188
    wz: float = 2.441404
    ww: float = 2.0476
    mt: float = 173.0
    alpha_s: float = 0.118

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v <= 0
            ):
                raise ValueError(f"Expected {f.name} to be a positive finite number; got {v!r}.")
        disc = self.mz**4 / 4 - math.pi * self.alpha * self.mz**2 / (math.sqrt(2) * self.gf)
        if disc <= 0:
            raise ValueError(
                f"Expected inputs with M_Z^4/4 > pi alpha M_Z^2/(sqrt2 G_F) (a real W mass); got "
                f"alpha_inv={self.alpha_inv}, gf={self.gf}, mz={self.mz}."
            )

    def replace(self, **changes: float) -> StandardModel:
        """A copy with some inputs changed (derived quantities follow)."""
        return dataclasses.replace(self, **changes)

    @property
    def alpha(self) -> float:
        """Fine-structure constant α = 1/alpha_inv."""
        return 1.0 / self.alpha_inv

    @property
    def ee(self) -> float:
        """Electric charge ``e = sqrt(4πα)``."""
        return math.sqrt(4 * math.pi * self.alpha)

    @property
    def mw(self) -> float:
        """Tree-level W mass in GeV, derived from α, G_F and M_Z."""
        disc = self.mz**4 / 4 - math.pi * self.alpha * self.mz**2 / (math.sqrt(2) * self.gf)
        return math.sqrt(self.mz**2 / 2 + math.sqrt(disc))

    @property
    def sw2(self) -> float:
        """``sin²θ_W = 1 - M_W²/M_Z²``."""
        return 1.0 - self.mw**2 / self.mz**2

    @property
    def cw(self) -> float:
        """``cos θ_W = M_W/M_Z``."""
        return self.mw / self.mz

    @property
    def sw(self) -> float:
        """``sin θ_W``."""
        return math.sqrt(self.sw2)

    @property
    def gs(self) -> float:
        """Strong coupling ``g_s = sqrt(4π α_s)``."""
        return math.sqrt(4 * math.pi * self.alpha_s)


def z_couplings(sm: StandardModel, t3: float, charge: float) -> ChiralCouplings:
    """Tree-level Z couplings of a fermion with weak isospin ``t3`` and electric charge ``charge``.

    ``g_L = e (T3 - Q sin²θ_W) / (sin θ_W cos θ_W)``, ``g_R = -e Q sin²θ_W / (sin θ_W cos θ_W)``.
    """
    g = sm.ee / (sm.sw * sm.cw)
    return ChiralCouplings(left=g * (t3 - charge * sm.sw2), right=-g * charge * sm.sw2)
