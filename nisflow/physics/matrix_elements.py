"""Leading-order squared matrix elements, spin-summed and colour-averaged, batched in torch.

All fermions are massless. For massless fermions a vector boson couples one chirality at a time,
so every amplitude below is a sum of *reduced* helicity amplitudes ``A_ij`` (chirality ``i`` on
one fermion line, ``j`` on the other) times a spinor-product factor whose square is ``4 s²``,
``4 t²`` or ``4 u²``. With the vertex ``-i γ^μ (g_L P_L + g_R P_R)`` for every boson (the photon has
``g_L = g_R = e Q``) and propagators ``1/(q² - M² + i M Γ)`` (MG5aMC's fixed-width scheme, also in
the t-channel), for ``f(p1) f̄(p2) -> f'(k1) f̄'(k2)`` through s-channel bosons

    Σ_spins |M|² = 4 [ (|A_LL(s)|² + |A_RR(s)|²) u² + (|A_LR(s)|² + |A_RL(s)|²) t² ],

with ``A_ij(q²) = Σ_bosons g_i^f g_j^f' / (q² - M² + i M Γ)``, ``t = (p1 - k1)²``,
``u = (p1 - k2)²``. Crossing gives the t-channel scattering ``f f' -> f f'``:
``4 [(|A_LL(t)|² + |A_RR(t)|²) s² + (|A_LR(t)|² + |A_RL(t)|²) u²]``.

Every electroweak function takes Mandelstam invariants as tensors of one shape ``S`` and returns
the spin-summed, colour-summed |M|² divided by the number of initial spin and colour states, shape
``S``, in the dtype of ``s`` (computed in its complex counterpart). The QCD three-jet function
:func:`me2_qqprime_to_qqprimeg` takes four-momenta instead (a 2 -> 3 process has five invariants).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .kinematics import minkowski_dot
from .parameters import N_COLORS, ChiralCouplings, StandardModel, z_couplings

__all__ = [
    "Fermion",
    "ELECTRON",
    "MUON",
    "UP",
    "DOWN",
    "STRANGE",
    "CHARM",
    "QUARKS",
    "ZPrime",
    "mandelstam_t",
    "ee_to_mumu",
    "qqbar_to_ll",
    "emu_to_emu",
    "ddbar_to_ddbar",
    "me2_qqprime_to_qqprimeg",
]


@dataclass(frozen=True)
class Fermion:
    """A massless fermion's electroweak quantum numbers: ``t3``, ``charge`` (units of e), ``colors``."""

    name: str
    t3: float
    charge: float
    colors: int = 1


ELECTRON = Fermion("e", -0.5, -1.0)
MUON = Fermion("mu", -0.5, -1.0)
UP = Fermion("u", 0.5, 2.0 / 3.0, N_COLORS)
DOWN = Fermion("d", -0.5, -1.0 / 3.0, N_COLORS)
STRANGE = Fermion("s", -0.5, -1.0 / 3.0, N_COLORS)
CHARM = Fermion("c", 0.5, 2.0 / 3.0, N_COLORS)
QUARKS = {1: DOWN, 2: UP, 3: STRANGE, 4: CHARM}
"""The light quarks by PDG id."""


@dataclass(frozen=True)
class ZPrime:
    """A heavy neutral vector boson Z' with its own mass, width and chiral couplings.

    Couplings are given as multiples of the Standard-model Z couplings of the same fermion
    (``scale_left``, ``scale_right``; ``1, 1`` is the *sequential* Z', the default), or overridden
    per fermion name in ``couplings`` (``{"u": ChiralCouplings(gl, gr), "e": ...}``).

    Args:
        mass: M_Z' in GeV (MadNIS: 400).
        width: Γ_Z' in GeV (MadNIS: 0.5).
        scale_left: factor on the SM Z left-handed couplings.
        scale_right: factor on the SM Z right-handed couplings.
        couplings: explicit couplings by fermion name, taking precedence.
    """

    mass: float = 400.0
    width: float = 0.5
    scale_left: float = 1.0
    scale_right: float = 1.0
    couplings: dict[str, ChiralCouplings] | None = None

    def __post_init__(self) -> None:
        if not (self.mass > 0 and self.width > 0):
            raise ValueError(
                f"Expected a positive Z' mass and width; got mass={self.mass}, width={self.width}."
            )

    def couplings_of(self, sm: StandardModel, f: Fermion) -> ChiralCouplings:
        """The Z' couplings of fermion ``f``."""
        if self.couplings and f.name in self.couplings:
            return self.couplings[f.name]
        z = z_couplings(sm, f.t3, f.charge)
        return ChiralCouplings(self.scale_left * z.left, self.scale_right * z.right)


_Boson = tuple[float, float, ChiralCouplings, ChiralCouplings]  # mass, width, line-1, line-2


def mandelstam_t(s: Tensor, cos_theta: Tensor) -> Tensor:
    """``t = -s (1 - cos θ) / 2`` for massless 2 -> 2 scattering at angle θ between p1 and k1."""
    return -0.5 * s * (1.0 - cos_theta)


def _bosons(
    sm: StandardModel, f1: Fermion, f2: Fermion, *, photon: bool, z: bool, zprime: ZPrime | None
) -> list[_Boson]:
    out: list[_Boson] = []
    if photon:
        e = sm.ee
        out.append(
            (
                0.0,
                0.0,
                ChiralCouplings(e * f1.charge, e * f1.charge),
                ChiralCouplings(e * f2.charge, e * f2.charge),
            )
        )
    if z:
        out.append(
            (sm.mz, sm.wz, z_couplings(sm, f1.t3, f1.charge), z_couplings(sm, f2.t3, f2.charge))
        )
    if zprime is not None:
        out.append(
            (zprime.mass, zprime.width, zprime.couplings_of(sm, f1), zprime.couplings_of(sm, f2))
        )
    if not out:
        raise ValueError("Expected at least one exchanged boson (photon, z or zprime); got none.")
    return out


def _reduced_amplitudes(q2: Tensor, bosons: Sequence[_Boson]) -> dict[str, Tensor]:
    """``A_ij(q²) = Σ g_i g'_j / (q² - M² + i M Γ)`` for ``ij`` in LL, LR, RL, RR; complex, shape of q2."""
    cdtype = torch.complex128 if q2.dtype == torch.float64 else torch.complex64
    amps = {
        k: torch.zeros(q2.shape, dtype=cdtype, device=q2.device) for k in ("LL", "LR", "RL", "RR")
    }
    for mass, width, c1, c2 in bosons:
        prop = 1.0 / torch.complex(q2 - mass * mass, torch.full_like(q2, mass * width))
        g1 = {"L": c1.left, "R": c1.right}
        g2 = {"L": c2.left, "R": c2.right}
        for k in amps:
            amps[k] = amps[k] + g1[k[0]] * g2[k[1]] * prop
    return amps


def _abs2(a: Tensor) -> Tensor:
    return a.real**2 + a.imag**2


def _s_channel(s: Tensor, t: Tensor, bosons: Sequence[_Boson]) -> Tensor:
    """Spin-summed |M|² for ``f f̄ -> f' f̄'`` through s-channel bosons (no colour factors)."""
    u = -s - t
    a = _reduced_amplitudes(s, bosons)
    same = _abs2(a["LL"]) + _abs2(a["RR"])
    opposite = _abs2(a["LR"]) + _abs2(a["RL"])
    return 4.0 * (same * u * u + opposite * t * t)


def _t_channel(s: Tensor, t: Tensor, bosons: Sequence[_Boson]) -> Tensor:
    """Spin-summed |M|² for ``f f' -> f f'`` through t-channel bosons (crossing of :func:`_s_channel`)."""
    u = -s - t
    a = _reduced_amplitudes(t, bosons)
    same = _abs2(a["LL"]) + _abs2(a["RR"])
    opposite = _abs2(a["LR"]) + _abs2(a["RL"])
    return 4.0 * (same * s * s + opposite * u * u)


def ee_to_mumu(
    s: Tensor, t: Tensor, sm: StandardModel | None = None, *, photon: bool = True, z: bool = True
) -> Tensor:
    """Spin-averaged |M|² of ``e+ e- -> mu+ mu-`` through γ and Z.

    Args:
        s: ``(p_e- + p_e+)²`` in GeV², any shape ``S``.
        t: ``(p_e- - p_mu-)²`` in GeV², shape ``S``.
        sm: electroweak parameters (default :class:`StandardModel`).
        photon: include the photon.
        z: include the Z.

    Returns:
        ``(1/4) Σ_spins |M|²``, shape ``S``.
    """
    sm = sm or StandardModel()
    return 0.25 * _s_channel(s, t, _bosons(sm, ELECTRON, MUON, photon=photon, z=z, zprime=None))


def qqbar_to_ll(
    s: Tensor,
    t: Tensor,
    quark: int | Fermion,
    sm: StandardModel | None = None,
    *,
    photon: bool = True,
    z: bool = True,
    zprime: ZPrime | None = None,
    lepton: Fermion = ELECTRON,
) -> Tensor:
    """Spin- and colour-averaged |M|² of ``q q̄ -> l- l+`` through γ, Z and an optional Z'.

    Args:
        s: ``(p_q + p_q̄)²`` in GeV², shape ``S``.
        t: ``(p_q - p_l-)²`` in GeV², shape ``S``.
        quark: PDG id 1-4 of the quark (d, u, s, c) or a :class:`Fermion`.
        sm: electroweak parameters.
        photon, z: include these bosons.
        zprime: an optional :class:`ZPrime`.
        lepton: the final-state lepton (default the electron).

    Returns:
        ``1/(4 N_c) Σ |M|²`` (the colour sum gives ``N_c``), shape ``S``.
    """
    sm = sm or StandardModel()
    q = QUARKS[abs(quark)] if isinstance(quark, int) else quark
    bosons = _bosons(sm, q, lepton, photon=photon, z=z, zprime=zprime)
    return _s_channel(s, t, bosons) / (4.0 * q.colors)


def emu_to_emu(
    s: Tensor, t: Tensor, sm: StandardModel | None = None, *, photon: bool = False, z: bool = True
) -> Tensor:
    """Spin-averaged |M|² of ``e- mu- -> e- mu-`` by t-channel Z (and optionally γ) exchange.

    The ZüNIS benchmark (seed 003, §4.3) uses the Z alone. ``t = (p_e,in - p_e,out)²``.
    Shapes as :func:`ee_to_mumu`.
    """
    sm = sm or StandardModel()
    return 0.25 * _t_channel(s, t, _bosons(sm, ELECTRON, MUON, photon=photon, z=z, zprime=None))


def ddbar_to_ddbar(
    s: Tensor, t: Tensor, sm: StandardModel | None = None, *, photon: bool = False, z: bool = True
) -> Tensor:
    """Spin- and colour-averaged |M|² of ``d d̄ -> d d̄`` by s- and t-channel Z (optionally γ).

    ``t = (p_d,in - p_d,out)²``. The s- and t-channel amplitudes interfere only when both fermion
    lines have the same chirality (factor ``u²``); the colour sums give ``N²`` for each square and
    ``N`` for the interference. Shapes as :func:`ee_to_mumu`.
    """
    sm = sm or StandardModel()
    u = -s - t
    bosons = _bosons(sm, DOWN, DOWN, photon=photon, z=z, zprime=None)
    a_s = _reduced_amplitudes(s, bosons)
    a_t = _reduced_amplitudes(t, bosons)
    n = float(N_COLORS)
    total = torch.zeros_like(s)
    for k in ("LL", "RR"):
        inter = (a_s[k] * a_t[k].conj()).real
        total = total + u * u * (n * n * (_abs2(a_s[k]) + _abs2(a_t[k])) + 2.0 * n * inter)
    for k in ("LR", "RL"):
        total = total + n * n * (t * t * _abs2(a_s[k]) + s * s * _abs2(a_t[k]))
    return 4.0 * total / (4.0 * n * n)


def me2_qqprime_to_qqprimeg(
    p1: Tensor, p2: Tensor, p3: Tensor, p4: Tensor, p5: Tensor, alpha_s: Tensor | float
) -> Tensor:
    """Spin- and colour-averaged |M|² of ``q(p1) q'(p2) -> q(p3) q'(p4) g(p5)``, distinct flavours.

    Leading order QCD (t-channel gluon exchange between the two quark lines, one real gluon
    radiated from any of the four quarks or from the exchanged gluon; five diagrams), massless
    quarks. ``p1, p2`` are incoming, ``p3, p4, p5`` outgoing, ``p1 + p2 = p3 + p4 + p5``; the
    quark ``q`` runs ``p1 -> p3``, ``q'`` runs ``p2 -> p4``. With ``s = (p1+p2)²``,
    ``s' = (p3+p4)²``, ``t = (p1-p3)²``, ``t' = (p2-p4)²``, ``u = (p1-p4)²``, ``u' = (p2-p3)²``
    and the antenna ``[ab] = (p_a·p_b) / (2 (p_a·p5)(p_b·p5))``,

        (1/(4 N²)) Σ|M|² = (N² - 1)/(2 N²) g⁶ (s² + s'² + u² + u'²)/(t t')
                           × [ (N - 2/N) ([14] + [23]) + (2/N) ([12] + [34]) - (1/N) ([13] + [24]) ],

    ``g² = 4π αs``, ``N = 3`` (the bracket is ``(7/3)(...) + (2/3)(...) - (1/3)(...)``). This is
    the Berends-Kleiss-De Causmaecker-Gastmans-Wu form (Phys. Lett. B103 (1981) 124): the
    four-quark factor times colour-weighted eikonal antennae. It follows from the colour
    decomposition of the five diagrams into the structures ``T^a_{ij} δ_{kl}`` and the
    maximally-helicity-violating form of every partial amplitude, in which the gluon enters as
    the exact eikonal factor ``<ab>/(<a5><5b>)``; the antenna coefficients are the colour
    correlations ``-2 T_a·T_b`` of the Born (charges of the crossed, all-outgoing legs). The soft-gluon limit gives ``2 g² [ ... ] × (4/9) g⁴ (s² + u²)/t²``,
    the Born ``q q' -> q q'`` times the eikonal factor. tests/physics checks it against an
    explicit evaluation of the Feynman diagrams.

    Args:
        p1, p2: incoming quark momenta ``(E, px, py, pz)``, shape ``(..., 4)``.
        p3, p4, p5: outgoing q, q' and gluon momenta, shape ``(..., 4)``.
        alpha_s: the strong coupling, a float or a tensor broadcastable to ``(...)``.

    Returns:
        The averaged |M|² (GeV⁻²), shape ``(...)``, in the momenta's dtype. Degenerate points
        (a gluon soft or collinear to a quark, ``t`` or ``t'`` zero) give inf or nan.

    Example:
        >>> e = 250.0
        >>> p1 = torch.tensor([[e, 0.0, 0.0, e]], dtype=torch.float64)
        >>> p2 = torch.tensor([[e, 0.0, 0.0, -e]], dtype=torch.float64)
        >>> # p3, p4, p5 from RamboOnDiet(3) at e_cm = 2e
        >>> me2 = me2_qqprime_to_qqprimeg(p1, p2, p3, p4, p5, 0.118)
    """
    n = float(N_COLORS)
    k = p5
    dk = [minkowski_dot(p, k) for p in (p1, p2, p3, p4)]

    def antenna(a: int, b: int, pa: Tensor, pb: Tensor) -> Tensor:
        return minkowski_dot(pa, pb) / (2.0 * dk[a] * dk[b])

    s = 2.0 * minkowski_dot(p1, p2)
    s_prime = 2.0 * minkowski_dot(p3, p4)
    t = -2.0 * minkowski_dot(p1, p3)
    t_prime = -2.0 * minkowski_dot(p2, p4)
    u = -2.0 * minkowski_dot(p1, p4)
    u_prime = -2.0 * minkowski_dot(p2, p3)
    four_quark = (s * s + s_prime * s_prime + u * u + u_prime * u_prime) / (t * t_prime)
    leading = antenna(0, 3, p1, p4) + antenna(1, 2, p2, p3)
    same_state = antenna(0, 1, p1, p2) + antenna(2, 3, p3, p4)
    same_line = antenna(0, 2, p1, p3) + antenna(1, 3, p2, p4)
    colour = (n - 2.0 / n) * leading + (2.0 / n) * same_state - (1.0 / n) * same_line
    g2 = 4.0 * math.pi * torch.as_tensor(alpha_s, dtype=s.dtype, device=s.device)
    return (n * n - 1.0) / (2.0 * n * n) * g2**3 * four_quark * colour
