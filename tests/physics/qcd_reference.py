"""Independent reference for ``q q' -> q q' g``: the five Feynman diagrams evaluated numerically.

numpy complex arithmetic, one phase-space point at a time: massless Dirac spinors and gamma
matrices from :mod:`tests.physics.dirac_reference`, explicit transverse polarisation vectors of the
gluon (summed over its two physical states), colour factors from explicit Gell-Mann matrices with
``f^abc = -2i Tr([T^a, T^b] T^c)``. Nothing is shared with
:mod:`nisflow.physics.matrix_elements`.

Feynman rules (Peskin-Schroeder conventions, Feynman gauge): quark-gluon vertex
``i g γ^μ T^a``, quark propagator ``i p-slash / p²``, gluon propagator ``-i g_μν δ^ab / k²``,
three-gluon vertex with all momenta incoming ``g f^abc [g^μν (k-p)^ρ + g^νρ (p-q)^μ +
g^ρμ (q-k)^ν]``.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import dirac_reference as dr

__all__ = [
    "GELL_MANN_T",
    "STRUCTURE_F",
    "polarisations",
    "slash",
    "uc_to_ucg_amplitudes",
    "uc_to_ucg_me2",
    "colour_matrix",
]


def _gell_mann() -> np.ndarray:
    lam = np.zeros((8, 3, 3), dtype=complex)
    lam[0][0, 1] = lam[0][1, 0] = 1
    lam[1][0, 1], lam[1][1, 0] = -1j, 1j
    lam[2][0, 0], lam[2][1, 1] = 1, -1
    lam[3][0, 2] = lam[3][2, 0] = 1
    lam[4][0, 2], lam[4][2, 0] = -1j, 1j
    lam[5][1, 2] = lam[5][2, 1] = 1
    lam[6][1, 2], lam[6][2, 1] = -1j, 1j
    lam[7][0, 0] = lam[7][1, 1] = 1 / np.sqrt(3)
    lam[7][2, 2] = -2 / np.sqrt(3)
    return lam / 2


GELL_MANN_T = _gell_mann()
"""The SU(3) generators ``T^a = λ^a / 2``, shape ``(8, 3, 3)``."""


def _structure_constants(t: np.ndarray) -> np.ndarray:
    comm = np.einsum("aij,bjk->abik", t, t) - np.einsum("bij,ajk->abik", t, t)
    return (-2j * np.einsum("abij,cji->abc", comm, t)).real


STRUCTURE_F = _structure_constants(GELL_MANN_T)
"""``f^abc`` with ``[T^a, T^b] = i f^abc T^c``, shape ``(8, 8, 8)``."""


def slash(a: np.ndarray) -> np.ndarray:
    """``γ^μ a_μ`` for a contravariant four-vector ``a``."""
    return dr.GAMMA[0] * a[0] - dr.GAMMA[1] * a[1] - dr.GAMMA[2] * a[2] - dr.GAMMA[3] * a[3]


def polarisations(k: np.ndarray) -> list[np.ndarray]:
    """Two real, transverse polarisation vectors of a massless vector boson of momentum ``k``."""
    n = k[1:] / np.linalg.norm(k[1:])
    a = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(n, a)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    return [np.concatenate([[0.0], e1]), np.concatenate([[0.0], e2])]


def _colour_tensors() -> np.ndarray:
    """Colour factors of the five diagrams, shape ``(5, 3, 3, 3, 3, 8)``: ``[d, i3, i1, i4, i2, a]``."""
    t, f = GELL_MANN_T, STRUCTURE_F
    tt = np.einsum("aij,cjk->acik", t, t)  # (T^a T^c)_ik
    c1 = np.einsum("acij,ckl->ijkla", tt, t)  # (T^a T^c)_31 T^c_42
    c2 = np.einsum("caij,ckl->ijkla", tt, t)  # (T^c T^a)_31 T^c_42
    c3 = np.einsum("cij,ackl->ijkla", t, tt)  # T^c_31 (T^a T^c)_42
    c4 = np.einsum("cij,cakl->ijkla", t, tt)  # T^c_31 (T^c T^a)_42
    c5 = np.einsum("bca,bij,ckl->ijkla", f, t, t)  # f^bca T^b_31 T^c_42
    return np.stack([c1, c2, c3, c4, c5])


_COLOURS = _colour_tensors()


def colour_matrix() -> np.ndarray:
    """``Σ_colours c_d c_d'^*`` of the five diagrams, shape ``(5, 5)``."""
    c = _COLOURS.reshape(5, -1)
    return c @ c.conj().T


def uc_to_ucg_amplitudes(
    p1: np.ndarray,
    p2: np.ndarray,
    p3: np.ndarray,
    p4: np.ndarray,
    p5: np.ndarray,
    *,
    eps: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Kinematic parts of the five diagrams of ``u(p1) c(p2) -> u(p3) c(p4) g(p5)`` over ``g³``.

    Args:
        p1 .. p5: four-momenta (E, px, py, pz).
        eps: the gluon's polarisation vectors (default :func:`polarisations`); pass ``[p5]`` to
            check the Ward identity.

    Returns:
        complex array ``(5, n_pol, 2, 2, 2, 2)``: ``[diagram, λ, s1, s2, s3, s4]``, including the
        factors ``-i`` (diagrams 1-4) and ``1`` (diagram 5) of the vertices and propagators.
    """
    eps = polarisations(p5) if eps is None else eps
    mk = dr.minkowski
    u1 = [dr.spinor_u(p1, s) for s in (0, 1)]
    u2 = [dr.spinor_u(p2, s) for s in (0, 1)]
    b3 = [dr.bar(dr.spinor_u(p3, s)) for s in (0, 1)]
    b4 = [dr.bar(dr.spinor_u(p4, s)) for s in (0, 1)]
    g = dr.GAMMA
    metric = np.array([1.0, -1.0, -1.0, -1.0])
    t = mk(p1 - p3, p1 - p3).real
    tp = mk(p2 - p4, p2 - p4).real
    k1, k2 = p1 - p3, p2 - p4
    out = np.zeros((5, len(eps), 2, 2, 2, 2), dtype=complex)
    for lam, e in enumerate(eps):
        es = slash(e)
        # line-u objects: J1[mu], emission-from-3 E3[mu], emission-from-1 E1[mu]
        m_out3 = [es @ slash(p3 + p5) @ g[mu] / mk(p3 + p5, p3 + p5).real for mu in range(4)]
        m_in1 = [g[mu] @ slash(p1 - p5) @ es / mk(p1 - p5, p1 - p5).real for mu in range(4)]
        m_out4 = [es @ slash(p4 + p5) @ g[mu] / mk(p4 + p5, p4 + p5).real for mu in range(4)]
        m_in2 = [g[mu] @ slash(p2 - p5) @ es / mk(p2 - p5, p2 - p5).real for mu in range(4)]
        for s1, s2, s3, s4 in itertools.product((0, 1), repeat=4):
            j1 = np.array([b3[s3] @ g[mu] @ u1[s1] for mu in range(4)])
            j2 = np.array([b4[s4] @ g[mu] @ u2[s2] for mu in range(4)])
            a3 = np.array([b3[s3] @ m_out3[mu] @ u1[s1] for mu in range(4)])
            a1 = np.array([b3[s3] @ m_in1[mu] @ u1[s1] for mu in range(4)])
            a4 = np.array([b4[s4] @ m_out4[mu] @ u2[s2] for mu in range(4)])
            a2 = np.array([b4[s4] @ m_in2[mu] @ u2[s2] for mu in range(4)])
            d1 = np.sum(a3 * j2 * metric) / tp
            d2 = np.sum(a1 * j2 * metric) / tp
            d3 = np.sum(j1 * a4 * metric) / t
            d4 = np.sum(j1 * a2 * metric) / t
            q = -p5  # the outgoing gluon's momentum flowing into the vertex
            d5 = (
                mk(j1, j2) * mk(k1 - k2, e)
                + mk(j2, e) * mk(k2 - q, j1)
                + mk(e, j1) * mk(q - k1, j2)
            ) / (t * tp)
            out[:, lam, s1, s2, s3, s4] = [-1j * d1, -1j * d2, -1j * d3, -1j * d4, d5]
    return out


def uc_to_ucg_me2(
    p1: np.ndarray,
    p2: np.ndarray,
    p3: np.ndarray,
    p4: np.ndarray,
    p5: np.ndarray,
    alpha_s: float,
    *,
    eps: list[np.ndarray] | None = None,
) -> float:
    """``1/(4·9) Σ_{spins, colours, polarisations} |M|²`` of ``u c -> u c g`` from the diagrams."""
    amps = uc_to_ucg_amplitudes(p1, p2, p3, p4, p5, eps=eps).reshape(5, -1)
    cm = colour_matrix()
    total = np.einsum("dh,de,eh->", amps, cm, amps.conj()).real
    g2 = 4 * np.pi * alpha_s
    return float(total * g2**3 / 36.0)


def colour_correlated_born() -> dict[str, object]:
    """Colour tensor of the Born ``u c -> u c`` and the colour charges acting on each leg.

    Returns:
        ``born``: ``T^c_31 T^c_42`` of shape ``(3, 3, 3, 3)`` (``[i3, i1, i4, i2]``) and
        ``insert``: a function ``(leg) -> (8, 3, 3, 3, 3)`` giving ``T^a`` applied on that leg
        (outgoing quarks 3, 4: ``T^a`` on the row; incoming quarks 1, 2: ``-T^a`` on the column,
        the charge of the crossed, outgoing antiquark).
    """
    t = GELL_MANN_T
    born = np.einsum("cij,ckl->ijkl", t, t)

    def insert(leg: int) -> np.ndarray:
        if leg == 3:
            return np.einsum("aim,mjkl->aijkl", t, born)
        if leg == 1:
            return -np.einsum("imkl,amj->aijkl", born, t)
        if leg == 4:
            return np.einsum("akm,ijml->aijkl", t, born)
        if leg == 2:
            return -np.einsum("ijkm,aml->aijkl", born, t)
        raise ValueError(f"Expected a leg 1-4; got {leg}.")

    return {"born": born, "insert": insert}
