"""MultiChannelIntegrator: the estimator of eq. 15-16, dropping, domain checks, pulls, API."""

from __future__ import annotations

import math

import pytest
import torch

import nisflow
from nisflow import Channel, MultiChannelIntegrator
from nisflow.mappings import BreitWigner, Rectangle
from nisflow.multichannel import MultiChannelTrainingConfig


def camel(x: torch.Tensor, a1: float = 0.35) -> torch.Tensor:
    """MadNIS eq. 45, normalised to one on the real line."""
    x = x[:, 0]

    def gauss(mu: float, s: float) -> torch.Tensor:
        return torch.exp(-((x - mu) ** 2) / (2 * s * s)) / (math.sqrt(2 * math.pi) * s)

    return a1 * gauss(2.0, 0.5) + (1 - a1) * gauss(5.0, 0.1)


def camel_channels(flow=False):
    return [
        Channel(mapping=BreitWigner(2.0, math.sqrt(2) * 0.5), flow=flow),
        Channel(mapping=BreitWigner(5.0, math.sqrt(2) * 0.1), flow=flow),
    ]


def test_exported_from_top_level():
    assert nisflow.Channel is Channel and nisflow.MultiChannelIntegrator is MultiChannelIntegrator


def test_uniform_weights_equal_direct_computation():
    mc = MultiChannelIntegrator(
        camel, d=1, channels=camel_channels(), channel_weights="uniform", seed=3, verbose=False
    )
    state = mc.generator.get_state()
    result = mc.refine(1, 1000)
    # the same draws by hand: channel 0 then channel 1, 500 points each, α = 1/2
    g = torch.Generator().set_state(state)
    value, variance = 0.0, 0.0
    for ch in camel_channels():
        x, log_g = ch.mapping.sample_and_log_prob(500, generator=g)
        w = 0.5 * camel(x) / torch.exp(log_g)
        value += float(w.mean())
        variance += float(w.var()) / 500
    assert result.mean == pytest.approx(value, rel=1e-12)
    assert result.sdev == pytest.approx(math.sqrt(variance), rel=1e-10)


def test_sherpa_prior_gives_the_paper_error():
    # MadNIS Table 1, "optimal": 0.769 % with 10^4 events split evenly (exact value 0.773 %)
    mc = MultiChannelIntegrator(
        camel, d=1, channels=camel_channels(), channel_weights="prior", seed=0, verbose=False
    )
    r = mc.refine(1, 10_000, allocation="uniform")
    assert abs(r.mean - 1.0) < 5 * r.sdev
    assert 0.0070 < r.rel_error < 0.0085


def test_zero_channel_is_dropped_without_nan():
    def box(x):
        return ((x[:, 0] >= 0) & (x[:, 0] <= 1)).double() * 3.0

    channels = [
        Channel(mapping=Rectangle([0.0], [1.0])),
        Channel(mapping=Rectangle([2.0], [3.0]), flow=True),
    ]
    mc = MultiChannelIntegrator(
        box,
        d=1,
        channels=channels,
        channel_weights="trained",
        prior="uniform",
        n_iter_survey=2,
        n_points_survey=200,
        seed=0,
        verbose=False,
    )
    value, error, history = mc.integrate(n_refine=2, n_points_refine=200)
    assert mc.active.tolist() == [True, False]
    assert value == pytest.approx(3.0, rel=1e-12) and error == 0.0
    assert all(math.isfinite(r.value) and math.isfinite(r.variance) for r in history)
    x, w, log_q = mc.sample(50)
    assert bool(torch.isfinite(w).all()) and bool(torch.isfinite(log_q).all())


def test_mapping_that_leaves_the_domain_is_an_error():
    with pytest.raises(
        ValueError, match=r"Expected every channel's mapping to map into the integration domain"
    ):
        MultiChannelIntegrator(
            camel, d=1, channels=camel_channels(), domain=[(0.0, 6.0)], verbose=False
        )


def test_wrong_dimension_and_options():
    with pytest.raises(ValueError, match="Expected channel 0 of dimension 2"):
        MultiChannelIntegrator(camel, d=2, channels=camel_channels(), verbose=False)
    with pytest.raises(ValueError, match="Expected channel_weights in"):
        MultiChannelIntegrator(
            camel, d=1, channels=camel_channels(), channel_weights="x", verbose=False
        )
    with pytest.raises(ValueError, match="Expected prior"):
        MultiChannelIntegrator(camel, d=1, channels=camel_channels(), prior=42, verbose=False)


def test_pull_two_channels_exact_integral():
    # 300 seeds of 200 points: the pulls (estimate - truth)/error are ~ N(0, 1)
    pulls = []
    for seed in range(300):
        mc = MultiChannelIntegrator(
            camel, d=1, channels=camel_channels(), channel_weights="prior", seed=seed, verbose=False
        )
        r = mc.refine(2, 200)
        pulls.append((r.mean - 1.0) / r.sdev)
    p = torch.tensor(pulls)
    assert abs(float(p.mean())) < 5 / math.sqrt(len(pulls))
    assert 0.8 < float(p.std()) < 1.25
    assert float((p.abs() < 2).double().mean()) > 0.9


def test_pull_after_training_flows_and_weights():
    pulls = []
    for seed in range(12):
        mc = MultiChannelIntegrator(
            camel,
            d=1,
            channels=camel_channels(flow=nisflow.FlowConfig(hidden=8, n_bins=4)),
            channel_weights="trained",
            prior="sherpa",
            n_iter_survey=2,
            n_points_survey=400,
            seed=seed,
            verbose=False,
            training=MultiChannelTrainingConfig(batch_size=200, lr=3e-3),
        )
        r = mc.integrate(n_refine=1, n_points_refine=2000)
        pulls.append((r.mean - 1.0) / r.sdev)
    assert max(abs(p) for p in pulls) < 5


def test_training_improves_the_flat_prior():
    mc = MultiChannelIntegrator(
        camel,
        d=1,
        channels=camel_channels(),
        channel_weights="trained",
        prior="uniform",
        n_iter_survey=6,
        n_points_survey=4000,
        seed=0,
        verbose=False,
        training=MultiChannelTrainingConfig(batch_size=256, lr=3e-3),
    )
    before = mc.refine(1, 10_000, allocation="uniform").rel_error
    mc.survey()
    after = mc.refine(1, 10_000, allocation="uniform").rel_error
    assert after < 0.5 * before


def test_result_sample_unweight_save_load(tmp_path):
    mc = MultiChannelIntegrator(
        camel,
        d=1,
        channels=camel_channels(flow=nisflow.FlowConfig(hidden=8, n_bins=4)),
        channel_weights="trained",
        n_iter_survey=1,
        n_points_survey=400,
        seed=5,
        verbose=False,
    )
    result = mc.integrate(n_refine=2, n_points_refine=500)
    value, error, history = result
    assert value == result.mean and error == result.sdev and len(history) == 3
    assert "result:" in result.summary() and math.isfinite(result.chi2_dof) and 0 <= result.Q <= 1
    x, w, log_q = mc.sample(1000)
    assert x.shape == (1000, 1) and w.shape == (1000,) and log_q.shape == (1000,)
    torch.testing.assert_close(w, camel(x) * torch.exp(-log_q))
    assert abs(float(w.mean()) - 1.0) < 5 * float(w.std()) / math.sqrt(1000)
    events = mc.unweight(100, n_reference=2000)
    assert len(events) == 100 and 0 < events.efficiency <= 1

    path = tmp_path / "mc.pt"
    mc.save(path)
    loaded = MultiChannelIntegrator.load(
        path, camel, camel_channels(flow=nisflow.FlowConfig(hidden=8, n_bins=4)), verbose=False
    )
    assert len(loaded.history) == len(mc.history)
    a, b = mc.refine(1, 300), loaded.refine(1, 300)
    assert a.mean == b.mean and a.sdev == b.sdev
    with pytest.raises(ValueError, match="Expected 2 channels"):
        MultiChannelIntegrator.load(path, camel, camel_channels()[:1], verbose=False)
