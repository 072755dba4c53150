"""|M|² of u c -> u c g against the explicit Feynman diagrams, its symmetries and its limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.physics.kinematics import boost, minkowski_dot
from nisflow.physics.matrix_elements import me2_qqprime_to_qqprimeg
from nisflow.physics.phase_space import RamboOnDiet, two_body_decay

from . import dirac_reference as dr
from . import qcd_reference as qr

ALPHA_S = 0.118
G2 = 4 * math.pi * ALPHA_S


def _born(s, t):
    """Textbook q q' -> q q' (gluon exchange): (1/36) Σ|M|² = (4/9) g⁴ (s² + u²)/t²."""
    u = -s - t
    return 4.0 / 9.0 * G2**2 * (s * s + u * u) / (t * t)


def _lab_points(n, sqrt_s, seed, *, lab=True):
    """``n`` RAMBO points u c -> u c g; with ``lab``, boosted along z by random momentum fractions.

    Returns momenta ``(p1, p2, p3, p4, p5)``, each ``(n, 4)`` float64.
    """
    g = torch.Generator().manual_seed(seed)
    r = torch.rand(n, 5, dtype=torch.float64, generator=g)
    shat = torch.full((n,), sqrt_s**2, dtype=torch.float64)
    if lab:
        x = 0.05 + 0.9 * torch.rand(n, 2, dtype=torch.float64, generator=g)
        shat = shat * x[:, 0] * x[:, 1]
    k, _ = RamboOnDiet(3)(r, torch.sqrt(shat))
    e = 0.5 * torch.sqrt(shat)
    z = torch.zeros_like(e)
    pa = torch.stack([e, z, z, e], -1)
    pb = torch.stack([e, z, z, -e], -1)
    p = torch.cat([pa[:, None], pb[:, None], k], 1)
    if lab:
        beta = torch.stack([z, z, (x[:, 0] - x[:, 1]) / (x[:, 0] + x[:, 1])], -1)
        p = boost(p, beta[:, None, :])
    return tuple(p[:, i] for i in range(5))


def _reference(p):
    return np.array(
        [qr.uc_to_ucg_me2(*(q[i].numpy() for q in p), ALPHA_S) for i in range(p[0].shape[0])]
    )


def test_reference_diagrams_are_gauge_invariant():
    """The five diagrams of the reference sum to zero when ε -> p5 (checks their relative signs)."""
    p = _lab_points(4, 500.0, seed=11)
    for i in range(4):
        moms = [q[i].numpy() for q in p]
        full = qr.uc_to_ucg_me2(*moms, ALPHA_S)
        ward = qr.uc_to_ucg_me2(*moms, ALPHA_S, eps=[moms[4] / moms[4][0]])
        assert abs(ward) < 1e-12 * full
    # colour: f^abc from the Gell-Mann matrices is totally antisymmetric with f^123 = 1
    f = qr.STRUCTURE_F
    assert f[0, 1, 2] == pytest.approx(1.0)
    np.testing.assert_allclose(f, -np.transpose(f, (1, 0, 2)), atol=1e-14)
    np.testing.assert_allclose(f, -np.transpose(f, (0, 2, 1)), atol=1e-14)


@pytest.mark.parametrize("lab", [False, True])
def test_matches_the_feynman_diagrams(lab):
    p = _lab_points(24, 1000.0, seed=3 if lab else 4, lab=lab)
    ref = _reference(p)
    got = me2_qqprime_to_qqprimeg(*p, ALPHA_S).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=0)
    assert ref.min() > 0 and ref.max() / ref.min() > 10  # a varied set of points


def test_symmetries_batching_devices_and_dtypes(device):
    p = _lab_points(256, 1000.0, seed=5)
    me = me2_qqprime_to_qqprimeg(*p, ALPHA_S)
    # exchanging the roles of the two quark lines (q <-> q')
    swapped = me2_qqprime_to_qqprimeg(p[1], p[0], p[3], p[2], p[4], ALPHA_S)
    torch.testing.assert_close(swapped, me, rtol=1e-12, atol=0)
    # Lorentz invariance: a rotation and a boost of every momentum
    g = torch.Generator().manual_seed(6)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=g))
    rot = [torch.cat([x[:, :1], x[:, 1:] @ q.T], -1) for x in p]
    beta = torch.tensor([0.3, -0.5, 0.6], dtype=torch.float64)
    moved = [boost(x, beta) for x in rot]
    torch.testing.assert_close(me2_qqprime_to_qqprimeg(*moved, ALPHA_S), me, rtol=1e-9, atol=0)
    # αs enters as αs³, per point
    a = torch.linspace(0.1, 0.2, 256, dtype=torch.float64)
    torch.testing.assert_close(
        me2_qqprime_to_qqprimeg(*p, a), me * (a / ALPHA_S) ** 3, rtol=1e-12, atol=0
    )
    # any leading shape, any device, float32
    stacked = [x.reshape(16, 16, 4).to(device) for x in p]
    out = me2_qqprime_to_qqprimeg(*stacked, ALPHA_S)
    assert out.shape == (16, 16) and out.device.type == torch.device(device).type
    torch.testing.assert_close(out.reshape(-1).cpu(), me, rtol=1e-12, atol=0)
    out32 = me2_qqprime_to_qqprimeg(*(x.float() for x in stacked), ALPHA_S)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.reshape(-1).cpu().double(), me, rtol=2e-3, atol=0)


def test_soft_gluon_limit_is_the_eikonal_times_the_born():
    """As the gluon gets soft, |M|² -> g² J·J × Born, with the eikonal current J built from the
    gluon's polarisation vectors and the colour charges applied to the Born colour tensor."""
    sqrt_s, e = 500.0, 250.0
    p1 = np.array([e, 0, 0, e])
    p2 = np.array([e, 0, 0, -e])
    colour = qr.colour_correlated_born()
    born_colour = colour["born"]
    charge = {leg: colour["insert"](leg) for leg in (1, 2, 3, 4)}
    # colour conservation of the Born: Σ_legs T_leg B = 0
    assert np.abs(sum(charge.values())).max() < 1e-14
    rng = np.random.default_rng(7)
    for _ in range(3):
        n_k = rng.normal(size=3)
        n_k /= np.linalg.norm(n_k)
        cos_t, phi = rng.uniform(-0.9, 0.9), rng.uniform(-math.pi, math.pi)
        deviations = []
        for soft in (1e-3, 1e-4, 1e-5):
            k = np.concatenate([[1.0], n_k]) * soft * e
            rest = torch.tensor(np.array([sqrt_s, 0, 0, 0]) - k)
            a, b = two_body_decay(rest, 0.0, 0.0, torch.tensor(cos_t), torch.tensor(phi))
            p3, p4 = a.numpy(), b.numpy()
            current = 0.0
            for eps in qr.polarisations(k):
                j = sum(
                    (dr.minkowski(pi, eps) / dr.minkowski(pi, k)) * charge[leg]
                    for leg, pi in ((1, p1), (2, p2), (3, p3), (4, p4))
                )
                current += np.sum(np.abs(j) ** 2)
            eikonal = G2 * current / np.sum(np.abs(born_colour) ** 2)
            s = dr.minkowski(p1 + p2, p1 + p2)
            t = dr.minkowski(p1 - p3, p1 - p3)
            moms = [torch.tensor(v)[None] for v in (p1, p2, p3, p4, k)]
            me = float(me2_qqprime_to_qqprimeg(*moms, ALPHA_S)[0])
            deviations.append(abs(me / (eikonal * _born(s, t)) - 1))
        assert deviations[-1] < 1e-3
        assert deviations[0] > 30 * deviations[-1]  # it vanishes linearly with the gluon energy


def test_collinear_limit_is_the_splitting_function_times_the_born():
    """Gluon collinear to the outgoing quark: |M|² -> (2 g²/s35) C_F (1+z²)/(1-z) × Born."""
    sqrt_s, e = 500.0, 250.0
    p1 = torch.tensor([[e, 0, 0, e]], dtype=torch.float64)
    p2 = torch.tensor([[e, 0, 0, -e]], dtype=torch.float64)
    rambo = RamboOnDiet(3)  # particle 0 first, then 1 and 2 from a system of small mass
    deviations = []
    for r0 in (1e-6, 1e-8, 1e-10):
        r = torch.tensor([[r0, 0.3, 0.2, 0.6, 0.7]], dtype=torch.float64)
        k, _ = rambo(r, sqrt_s)
        p4, p3, p5 = k[:, 0], k[:, 1], k[:, 2]
        parent = p3 + p5
        z = p3[:, 0] / parent[:, 0]
        s35 = 2 * minkowski_dot(p3, p5)
        t = minkowski_dot(p1 - parent, p1 - parent)
        split = 2 * G2 / s35 * (4.0 / 3.0) * (1 + z * z) / (1 - z)
        me = me2_qqprime_to_qqprimeg(p1, p2, p3, p4, p5, ALPHA_S)
        deviations.append(float((me / (split * _born(sqrt_s**2, t)) - 1).abs()))
    assert deviations[-1] < 1e-3
    assert deviations[0] > 30 * deviations[-1]  # O(k_T): falls like sqrt(s35)
