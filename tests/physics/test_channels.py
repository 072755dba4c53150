"""The γ/Z/Z' channels of Drell-Yan: the invariant-mass channel map, the channels and the prior."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from nisflow.mappings import BreitWigner, MasslessPropagator, RelativisticBreitWigner
from nisflow.physics import (
    DrellYan,
    InvariantMassMap,
    drell_yan_channels,
    drell_yan_prior,
    mass_squared,
    shat_of,
)

F64 = torch.float64
S_MIN, S_MAX = 15.0**2, 13000.0**2


def _power(nu: float = 2.0) -> MasslessPropagator:
    return MasslessPropagator(S_MIN, S_MAX, nu)


def _z() -> RelativisticBreitWigner:
    return RelativisticBreitWigner(91.188, 2.441404, S_MIN, S_MAX)


def _latent(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 4, generator=g, dtype=F64) * 0.98 + 0.01


def test_the_process_map_itself_gives_the_identity():
    u = _latent(200)
    x, log_det = InvariantMassMap(_power(), _power())(u)
    torch.testing.assert_close(x, u, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_det, torch.zeros_like(log_det), rtol=0, atol=1e-9)


CHANNEL_CASES = [
    ("z_on_power", lambda: InvariantMassMap(_z(), _power())),
    ("power_1.5_on_power", lambda: InvariantMassMap(_power(1.5), _power())),
    ("photon_on_z", lambda: InvariantMassMap(_power(), _z())),
    ("z_on_log", lambda: InvariantMassMap(_z(), _power(1.0))),
]


@pytest.mark.parametrize("make", [c[1] for c in CHANNEL_CASES], ids=[c[0] for c in CHANNEL_CASES])
def test_round_trip_and_log_det_against_autograd(make):
    m = make()
    u = _latent(64)
    x, log_det = m(u)
    assert torch.equal(x[:, 1:], u[:, 1:])
    back, log_det_inv = m.inverse(x)
    torch.testing.assert_close(back, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_det_inv, -log_det, rtol=0, atol=1e-10)
    jac = jacobian(lambda v: m(v)[0].sum(0), u).permute(1, 0, 2)
    torch.testing.assert_close(log_det, torch.linalg.slogdet(jac)[1], rtol=0, atol=1e-8)
    x32, log_det32 = m(u.float())
    assert x32.dtype == torch.float32 and log_det32.dtype == torch.float32
    torch.testing.assert_close(x32, x.float(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [c[1] for c in CHANNEL_CASES], ids=[c[0] for c in CHANNEL_CASES])
def test_density_on_the_cube_integrates_to_one(make):
    # coordinates 1-3 are untouched: integrate over x_0, substituted by log ŝ (x_0 = G^-1(ŝ) of
    # the process map) with composite Gauss–Legendre panels fine enough for the Z peak
    m = make()
    t, w = np.polynomial.legendre.leggauss(10)
    panels = 4_000
    left = np.arange(panels)[:, None] / panels
    nodes = torch.as_tensor((left + 0.5 * (t + 1) / panels).reshape(-1))
    weights = torch.as_tensor(np.broadcast_to(0.5 * w / panels, (panels, len(w))).reshape(-1))
    lo, hi = math.log(S_MIN), math.log(S_MAX)
    shat = torch.exp(lo + (hi - lo) * nodes)[:, None].clamp(S_MIN, S_MAX)
    x0, log_dx0_ds = m.process_map.inverse(shat)
    x = torch.cat([x0, torch.full((x0.shape[0], 3), 0.5, dtype=F64)], -1)
    jac = torch.exp(log_dx0_ds) * shat[:, 0] * (hi - lo)  # dx_0 = dx_0/dŝ · ŝ d(log ŝ)
    total = float((m.log_prob(x).exp() * jac * weights).sum())
    assert total == pytest.approx(1.0, abs=1e-8)


def test_a_narrower_channel_covers_part_of_the_cube():
    window = BreitWigner(91.188**2, 91.188 * 2.441404, 80.0**2, 100.0**2)
    m = InvariantMassMap(window, _power())
    x, _ = m.sample_and_log_prob(500, generator=torch.Generator().manual_seed(1))
    mll = torch.sqrt(_power()(x[:, :1])[0][:, 0])
    assert bool(((mll >= 80.0 - 1e-9) & (mll <= 100.0 + 1e-9)).all())
    outside = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.999, 0.1, 0.2, 0.3]], dtype=F64)
    assert not bool(m.contains(outside).any()) and bool(m.contains(x).all())
    assert bool((m.log_prob(outside, strict=False) == -math.inf).all())
    with pytest.raises(ValueError, match=r"got 2 of 2 points outside"):
        m.inverse(outside)


def test_invalid_arguments_are_errors():
    with pytest.raises(ValueError, match="Expected the range of shat_map inside"):
        InvariantMassMap(MasslessPropagator(1.0, S_MAX), _power())
    with pytest.raises(TypeError, match="one-dimensional"):
        InvariantMassMap(torch.nn.Identity(), _power())
    with pytest.raises(ValueError, match=r"Expected u inside the unit hypercube"):
        InvariantMassMap(_z(), _power())(torch.full((2, 4), 1.5, dtype=F64))


@pytest.mark.parametrize("mapping", ["power", "breit_wigner"])
def test_drell_yan_channels_and_prior(pdf_dir, mapping):
    process = DrellYan(zprime=dict(mass=400.0, width=0.05), pdf_path=pdf_dir, mapping=mapping)
    channels = drell_yan_channels(process, flow=False)
    assert [c.name for c in channels] == ["photon", "Z", "Z'"]
    maps = [c.mapping.shat_map for c in channels]
    assert isinstance(maps[0], MasslessPropagator) and maps[0].nu == 2.0
    assert (maps[1].mass, maps[1].resonance_width) == (process.sm.mz, process.sm.wz)
    assert (maps[2].mass, maps[2].resonance_width) == (400.0, 0.05)
    # ŝ of a cube point is m_ll² of the process's momenta at that point
    x = _latent(300, seed=2)
    p = process.momenta(x)
    torch.testing.assert_close(
        shat_of(process, x), mass_squared(p[:, 2] + p[:, 3]), rtol=1e-9, atol=0
    )
    # each channel's density on the cube is its density in ŝ times dŝ/dx_0 of the process
    shat = shat_of(process, x)
    log_ds_dx0 = process.fractions.shat_map(x[:, :1])[1]
    for ch, m in zip(channels, maps, strict=True):
        expected = m.log_prob(shat[:, None]) + log_ds_dx0
        torch.testing.assert_close(ch.mapping.log_prob(x), expected, rtol=0, atol=1e-9)
    # points drawn by the Z' channel sit on the Z' peak, and the prior gives them to that channel
    x, _ = channels[2].sample_and_log_prob(1_000, generator=torch.Generator().manual_seed(0))
    mll = torch.sqrt(shat_of(process, x))
    assert float((mll - 400.0).abs().median()) < 0.1
    alpha = drell_yan_prior(process)(x)
    assert alpha.shape == (1_000, 3) and bool((alpha > 0).all())
    assert float((alpha.argmax(-1) == 2).float().mean()) > 0.9


def test_drell_yan_channels_take_only_drell_yan():
    with pytest.raises(TypeError, match="Expected a nisflow.physics.DrellYan"):
        drell_yan_channels(torch.nn.Identity())
    with pytest.raises(TypeError, match="Expected a nisflow.physics.DrellYan"):
        drell_yan_prior(object())
