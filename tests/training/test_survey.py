"""Survey strategies: what they sample, how many steps they take, that they learn."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.training import (
    AdaptiveSurvey,
    BufferedSurvey,
    Trainer,
    get_survey_strategy,
)
from tests.toy_flows import linear_density_flow

TARGET = 0.8
EXACT = 3.0  # ∫ 3 (1 + 0.8 (x - 1/2)) dx over [0, 1]


class Counted:
    """f(x) = 3 (1 + 0.8 (x_0 - 1/2)), counting its evaluations."""

    def __init__(self):
        self.n = 0

    def __call__(self, x):
        self.n += x.shape[0]
        return 3 * (1 + TARGET * (x[:, 0].to(torch.float64) - 0.5))


def _theta(trainer):
    return float(trainer.flow.bijections[0].theta.detach())


@pytest.mark.parametrize(
    "name, n_steps, sampler",
    [
        ("flat", 5 * 4, "flat"),
        ("forward", 5 * 4, "model"),
        ("adaptive", 5 * 4, "flat"),
        ("online", 4, "online"),
        ("buffered", 4 + 4 * 4, "online"),
    ],
)
def test_each_strategy_evaluates_once_trains_and_estimates(name, n_steps, sampler):
    trainer = Trainer(linear_density_flow(1), "variance", lr=0.05, batch_size=1000)
    strategy = get_survey_strategy(name)
    f = Counted()
    gen = torch.Generator().manual_seed(0)
    step = strategy.step(trainer, f, 4000, n_epochs=5, generator=gen)
    assert f.n == 4000 and step.n_evals == 4000  # every point evaluated exactly once
    assert len(step.losses) == n_steps and step.sampler == sampler
    assert abs(step.value - EXACT) < 5 * math.sqrt(step.variance)
    assert math.isfinite(step.mean_loss)
    for _ in range(15):
        step = strategy.step(trainer, f, 4000, n_epochs=5, generator=gen)
    assert _theta(trainer) == pytest.approx(TARGET, abs=0.15)
    assert abs(step.value - EXACT) < 5 * math.sqrt(step.variance) + 1e-9


def test_adaptive_switches_when_the_model_beats_flat():
    trainer = Trainer(linear_density_flow(1), "variance", lr=0.05, batch_size=500)
    strategy = AdaptiveSurvey()
    gen = torch.Generator().manual_seed(1)
    samplers = []
    for _ in range(6):
        samplers.append(strategy.step(trainer, Counted(), 2000, n_epochs=3, generator=gen).sampler)
    assert samplers[0] == "flat"  # the untrained model (theta = 0) is exactly flat: no switch
    loss_flat, loss_model = strategy.comparisons[0]
    assert loss_model == pytest.approx(loss_flat, rel=1e-9)
    assert strategy.switched and "model" in samplers
    k = samplers.index("model")
    assert all(s == "flat" for s in samplers[:k]) and all(s == "model" for s in samplers[k:])
    assert strategy.comparisons[-1][1] < strategy.comparisons[-1][0]
    state = strategy.state_dict()
    fresh = AdaptiveSurvey()
    fresh.load_state_dict(state)
    assert fresh.switched


def test_buffered_capacity_limits_retraining():
    trainer = Trainer(linear_density_flow(1), lr=0.01, batch_size=500)
    step = BufferedSurvey(capacity=1000).step(trainer, Counted(), 2000, n_epochs=3)
    assert len(step.losses) == 4 + 2 * 2  # 4 online steps, then 2 epochs over 1000 buffered


def test_zero_integrand_takes_no_step():
    trainer = Trainer(linear_density_flow(2))
    for name in ("flat", "forward", "adaptive", "online", "buffered"):
        step = get_survey_strategy(name).step(
            trainer, lambda x: torch.zeros(x.shape[0], dtype=torch.float64), 100, n_epochs=2
        )
        assert step.losses == () and step.value == 0.0 and step.variance == 0.0


def test_unknown_strategy():
    with pytest.raises(ValueError, match="Expected a survey strategy"):
        get_survey_strategy("backward")
    s = AdaptiveSurvey()
    assert get_survey_strategy(s) is s
