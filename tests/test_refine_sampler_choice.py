"""The refine's pilot between the flow and the uniform density (``uniform_candidate``)."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow import Integrator, SamplingConfig
from nisflow.bench.functions import get_function
from nisflow.sampling import choose_refine_sampler
from tests.pulls import assert_standard_normal_pulls
from tests.toy_flows import linear_density_flow

SINUSOIDAL2 = get_function("sinusoidal2")


def _linear_density(theta: float):
    """The density of ``linear_density_flow(2, theta)``: a flow matched to it has constant weight."""

    def f(x):
        return (1 + theta * (x - 0.5)).prod(-1)

    return f


def _fixed(f, seed, d=2, theta=1.5, **kwargs):
    flow = linear_density_flow(d, theta=theta)
    return Integrator(d, f, flow=flow, seed=seed, verbose=False, **kwargs)


def test_choice_compares_variance_per_point_and_requires_agreement():
    # per point: flow 1e-4 * 100 = 1e-2, uniform 6e-5 * 400 = 2.4e-2 -> the flow, despite its
    # larger variance of the mean
    assert choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (1.0, 6e-5, 400)}) == "flow"
    assert (
        choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (1.0, 1e-5, 100)}) == "uniform"
    )
    # the flow must win by flow_margin (default 2): uniform 1.6e-2 per point against the flow's
    # 1e-2 is the uniform density; at 2.1e-2 the flow
    assert (
        choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (1.0, 4e-5, 400)}) == "uniform"
    )
    assert (
        choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (1.0, 5.25e-5, 400)}) == "flow"
    )
    margin_1 = {"flow": (1.0, 1e-4, 100), "uniform": (1.0, 4e-5, 400)}
    assert choose_refine_sampler(margin_1, flow_margin=1.0) == "flow"
    # a uniform pilot that disagrees (e.g. missed a peak the flow found) never wins
    far = 1.0 + 3.1 * math.sqrt(1e-4 + 1e-6)
    assert choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (far, 1e-6, 100)}) == "flow"
    near = 1.0 + 2.9 * math.sqrt(1e-4 + 1e-6)
    assert (
        choose_refine_sampler({"flow": (1.0, 1e-4, 100), "uniform": (near, 1e-6, 100)}) == "uniform"
    )


def test_sampling_config_validates_uniform_candidate():
    with pytest.raises(ValueError, match="uniform_candidate"):
        SamplingConfig(uniform_candidate="yes")
    f = SINUSOIDAL2.f
    assert Integrator(2, f, verbose=False).uses_uniform_candidate()
    assert Integrator(1, lambda x: x[:, 0], verbose=False).uses_uniform_candidate()
    assert not Integrator(3, lambda x: x[:, 0], verbose=False).uses_uniform_candidate()
    assert Integrator(
        3, lambda x: x[:, 0], verbose=False, sampling=SamplingConfig(uniform_candidate=True)
    ).uses_uniform_candidate()
    off = SamplingConfig(uniform_candidate=False)
    assert not Integrator(2, f, verbose=False, sampling=off).uses_uniform_candidate()
    assert not Integrator(2, f, verbose=False, uniform_fraction=1.0).uses_uniform_candidate()


def test_smooth_integrand_and_mismatched_flow_choose_the_uniform_density():
    integ = _fixed(SINUSOIDAL2.f, seed=0)
    result = integ.refine(3, 20_000)
    assert integ.refine_sampler == "uniform"
    # pilots of 2,500 points each decide and are recorded, but do not count in the estimate;
    # the rest of the first iteration uses the choice
    assert [(r.sampler, r.n_evals) for r in integ.history] == [
        ("strata", 2_500),
        ("flat/strata", 2_500),
        ("flat/strata", 15_000),
        ("flat/strata", 20_000),
        ("flat/strata", 20_000),
    ]
    assert [r.n_evals for r in result.iterations] == [15_000, 20_000, 20_000]
    assert result.n_evals == 60_000  # every evaluation is counted
    assert abs(result.mean - SINUSOIDAL2.exact) < 4 * result.sdev
    # and it pays: the same budget with the flow alone has a larger error
    flow_only = _fixed(
        SINUSOIDAL2.f, seed=0, sampling=SamplingConfig(uniform_candidate=False)
    ).refine(3, 20_000)
    assert [r.sampler for r in flow_only.iterations] == ["strata"] * 3
    assert result.sdev < 0.5 * flow_only.sdev


def test_matched_flow_keeps_the_flow():
    integ = _fixed(_linear_density(1.5), seed=0)
    result = integ.refine(3, 20_000)
    assert integ.refine_sampler == "flow"
    assert [r.sampler for r in integ.history] == ["strata", "flat/strata"] + ["strata"] * 3
    assert [r.sampler for r in result.iterations] == ["strata"] * 3
    assert result.n_evals == 60_000
    assert abs(result.mean - 1.0) < 4 * result.sdev


def test_uniform_candidate_with_qmc_in_three_dimensions():
    f = _linear_density(-1.0)
    integ = _fixed(f, seed=1, d=3, theta=1.5, sampling=SamplingConfig(uniform_candidate=True))
    result = integ.refine(2, 6_000)  # pilots of 750 points: at least 2 per replicate
    assert [r.sampler for r in integ.history][:2] == ["rqmc", "flat/rqmc"]
    assert integ.refine_sampler in ("flow", "uniform")
    assert abs(result.mean - 1.0) < 5 * result.sdev
    # off by default from 3D on
    auto = _fixed(f, seed=1, d=3, theta=1.5).refine(2, 4_000)
    assert [r.sampler for r in auto.iterations] == ["rqmc", "rqmc"]


def test_the_choice_is_saved_reused_and_reset_by_training(tmp_path):
    integ = Integrator(
        2, SINUSOIDAL2.f, seed=0, verbose=False, n_points_survey=2_000, n_iter_survey=1
    )
    integ.refine(2, 4_000)
    chosen = integ.refine_sampler
    assert chosen in ("flow", "uniform")
    path = tmp_path / "m.pt"
    integ.save(path)
    again = Integrator.load(path, f=SINUSOIDAL2.f, verbose=False)
    assert again.refine_sampler == chosen
    result = again.refine(2, 4_000)  # no second pilot
    assert len(result.iterations) == 2
    assert {r.sampler for r in result.iterations} == {
        "strata" if chosen == "flow" else "flat/strata"
    }
    again.survey(1, 2_000)
    assert again.refine_sampler is None


def test_pulls_with_the_pilot_are_standard_normal():
    torch.set_num_threads(1)
    pulls = []
    for seed in range(200):
        r = _fixed(SINUSOIDAL2.f, seed=seed, theta=0.8).refine(2, 2_000)
        assert len(r.iterations) == 2
        pulls.append((r.mean - SINUSOIDAL2.exact) / r.sdev)
    assert_standard_normal_pulls(pulls)
