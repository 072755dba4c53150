"""IntegratorBase: argument checks, seeding, the survey's Ctrl-C handling, the refine loop,
unweighting and saving, through a plain Monte Carlo integrator built on it."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from nisflow import IntegrationResult, Integrator, TrainingConfig, integrator_base
from nisflow.integrand import Integrand
from nisflow.multichannel import MultiChannelIntegrator
from nisflow.persistence import mismatch_is_value_error
from nisflow.result import IterationRecord


class PlainMC(integrator_base.IntegratorBase):
    """Uniform Monte Carlo on [0, 1]^d: nothing to train, every shared step from the base."""

    _FORMAT = "test.PlainMC"
    _SAVED_BY = "PlainMC.save"

    def __init__(self, d: int, f: Callable, *, seed: int | None = None, **budget: int) -> None:
        budget = {
            "n_iter_survey": 2,
            "n_iter_refine": 3,
            "n_points_survey": 500,
            "n_points_refine": 1000,
            **budget,
        }
        self._set_budget(**budget)
        self.d, self.seed = d, integrator_base.check_seed(seed)
        self.integrand = Integrand(f, d)
        self.chunk_size, self.verbose = 10_000, False
        _, self.generator = integrator_base.seeded_generators(seed, torch.device("cpu"))
        self.history: list[IterationRecord] = []
        self.interrupted = False
        self.modes: list[bool] = []

    def _estimate(self, n: int) -> tuple[float, float]:
        x = torch.rand(n, self.d, generator=self.generator, dtype=torch.float64)
        f = self.integrand(x)
        return float(f.mean()), float(f.var()) / n

    def survey(self, n_iter: int | None = None, n_points: int | None = None):
        n_iter, n_points = self._survey_counts(n_iter, n_points)
        records: list[IterationRecord] = []
        with self._survey_progress(n_iter, records) as bar:
            for i in bar:
                self._set_mode(True)
                value, variance = self._estimate(n_points)
                records.append(IterationRecord("survey", i, value, variance, n_points, "flat"))
                self.history.append(records[-1])
        return records

    @torch.no_grad()
    def _refine(self, n_iter: int | None, n_points: int | None) -> IntegrationResult:
        n_iter, n_points = self._refine_counts(n_iter, n_points)

        def iteration() -> tuple[float, float, int, str]:
            return (*self._estimate(n_points), n_points, "flat")

        records = self._refine_records(n_iter, iteration)
        return IntegrationResult.from_iterations(records, self.history, n_evals=self.n_evals)

    def refine(self, n_iter: int | None = None, n_points: int | None = None) -> IntegrationResult:
        return self._refine(n_iter, n_points)

    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        x = torch.rand(n, self.d, generator=self.generator, dtype=torch.float64)
        return x, self.integrand(x), torch.zeros(n, dtype=torch.float64)

    def _set_mode(self, train: bool) -> None:
        self.modes.append(train)

    def _config(self) -> dict[str, object]:
        return {"d": self.d, "seed": self.seed, **self._budget()}

    def _state(self) -> dict[str, object]:
        return {"note": "plain"}

    @classmethod
    def load(cls, path: str | os.PathLike, f: Callable) -> PlainMC:
        state: dict[str, Any] = cls._read(path)
        with mismatch_is_value_error(path, "this configuration"):
            cfg = state["config"]
            integrator = cls(cfg["d"], f, seed=cfg["seed"], **cls._saved_budget(cfg))
            integrator._restore(state)
        return integrator


def cosine(x: Tensor) -> Tensor:
    """∏ cos(x_i) over [0, 1]^2: integral sin(1)²."""
    return torch.cos(x).prod(-1)


EXACT = math.sin(1.0) ** 2


def test_the_subclasses_share_the_base():
    assert issubclass(Integrator, integrator_base.IntegratorBase)
    assert issubclass(MultiChannelIntegrator, integrator_base.IntegratorBase)
    with pytest.raises(TypeError):
        integrator_base.IntegratorBase()  # type: ignore[abstract]


def test_integrate_survey_then_refine_with_honest_error():
    mc = PlainMC(2, cosine, seed=1)
    value, error, history = mc.integrate()
    assert abs(value - EXACT) < 5 * error
    assert [(r.phase, r.index) for r in history] == [
        ("survey", 0),
        ("survey", 1),
        ("refine", 0),
        ("refine", 1),
        ("refine", 2),
    ]
    assert mc.n_evals == 2 * 500 + 3 * 1000
    assert mc.modes == [True, True, False]  # training in each iteration, evaluation at the end
    # refine indices go on from the history; the result combines only these iterations
    result = mc.refine(2, 400)
    assert [r.index for r in result.iterations] == [3, 4]
    assert all(r.n_evals == 400 for r in result.iterations) and result.n_evals == mc.n_evals
    assert len(result.history) == 7


def test_same_seed_same_numbers():
    a, b = PlainMC(2, cosine, seed=4).integrate(), PlainMC(2, cosine, seed=4).integrate()
    c = PlainMC(2, cosine, seed=5).integrate()
    assert (a.mean, a.sdev) == (b.mean, b.sdev)
    assert a.mean != c.mean


def test_budget_is_checked_and_overridable():
    for name, bad in [
        ("n_iter_survey", -1),
        ("n_iter_refine", 1.5),
        ("n_points_survey", 1),
        ("n_points_refine", True),
    ]:
        with pytest.raises(ValueError, match=f"Expected {name} to be an integer >= "):
            PlainMC(2, cosine, **{name: bad})
    mc = PlainMC(2, cosine, seed=0, n_iter_refine=0)
    with pytest.raises(ValueError, match="Expected at least one refine iteration; got 0."):
        mc.refine()
    with pytest.raises(ValueError, match="Expected n_iter to be an integer >= 1; got 0."):
        mc.refine(0)
    with pytest.raises(ValueError, match="Expected n_points to be an integer >= 2; got 1."):
        mc.refine(1, 1)
    with pytest.raises(ValueError, match="Expected n_iter to be an integer >= 0; got -1."):
        mc.survey(-1)
    assert len(mc.survey(0)) == 0 and mc.refine(1, 10).iterations[0].n_evals == 10


def test_ctrl_c_ends_the_survey_and_keeps_what_was_done():
    calls = {"n": 0}

    def stop_on_third(x: Tensor) -> Tensor:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return cosine(x)

    mc = PlainMC(2, stop_on_third, seed=2, n_iter_survey=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = mc.survey()
    assert mc.interrupted and len(records) == 2 and len(mc.history) == 2
    (warning,) = caught
    assert warning.category is RuntimeWarning
    assert str(warning.message).startswith("Survey interrupted after 2 complete iteration(s)")
    assert warning.filename == __file__  # it points at the caller of survey()
    assert mc.modes[-1] is False  # back in evaluation mode
    mc.survey(1)
    assert not mc.interrupted


def test_unweight_draws_from_f():
    mc = PlainMC(1, lambda x: 2.0 * x[:, 0], seed=3)
    events = mc.unweight(4000, n_reference=20_000)
    assert events.x.shape == (4000, 1)
    # density 2x on [0, 1]: mean 2/3, standard deviation sqrt(1/18)
    mean, sigma = float(events.x.mean()), math.sqrt(1 / 18) / math.sqrt(4000)
    assert abs(mean - 2 / 3) < 5 * sigma
    assert 0.4 < events.efficiency <= 0.55  # E[w] / max w = 1 / 2


def test_save_load_continues_identically(tmp_path):
    path = tmp_path / "plain.pt"
    mc = PlainMC(2, cosine, seed=6, n_points_refine=700)
    mc.integrate()
    mc.save(path)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "test.PlainMC" and raw["note"] == "plain"
    assert raw["config"]["n_points_refine"] == 700
    loaded = PlainMC.load(path, cosine)

    def key(r: IterationRecord) -> tuple:  # loss is nan: compare the rest
        return (r.phase, r.index, r.value, r.variance, r.n_evals, r.sampler, r.seconds)

    assert [key(r) for r in loaded.history] == [key(r) for r in mc.history]
    assert loaded.n_evals == mc.n_evals
    assert loaded.n_points_refine == 700
    a, b = mc.refine(2), loaded.refine(2)
    assert (a.mean, a.sdev) == (b.mean, b.sdev)


def test_load_checks_the_format_and_the_content(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"format": "nisflow.Integrator", "version": 1}, other)
    with pytest.raises(ValueError, match="Expected a file written by PlainMC.save at"):
        PlainMC.load(other, cosine)
    broken = tmp_path / "broken.pt"
    torch.save({"format": "test.PlainMC", "version": 1, "config": {"d": 2}}, broken)
    with pytest.raises(ValueError, match="matching this configuration .* got a mismatch: 'seed'"):
        PlainMC.load(broken, cosine)
    PlainMC(2, cosine, seed=1).save(tmp_path / "good.pt")
    state = torch.load(tmp_path / "good.pt", weights_only=True)
    state["generator"] = torch.zeros(3, dtype=torch.uint8)
    torch.save(state, tmp_path / "bad_rng.pt")
    with pytest.raises(ValueError, match="got a mismatch"):
        PlainMC.load(tmp_path / "bad_rng.pt", cosine)


def test_argument_checks():
    assert integrator_base.check_count(3, "n", 2) == 3
    for bad in (1, 2.0, True, "3"):
        with pytest.raises(ValueError, match=r"Expected n to be an integer >= 2; got "):
            integrator_base.check_count(bad, "n", 2)
    assert integrator_base.check_seed(None) is None and integrator_base.check_seed(7) == 7
    for bad in (1.0, True, "7"):
        with pytest.raises(ValueError, match="Expected seed to be an integer or None; got "):
            integrator_base.check_seed(bad)
    assert integrator_base.check_dtype(torch.float64) is torch.float64
    with pytest.raises(ValueError, match="Expected dtype torch.float32 or torch.float64; got "):
        integrator_base.check_dtype(torch.float16)


def test_training_with_loss():
    config = TrainingConfig()
    assert integrator_base.training_with_loss(config, None) is config
    assert integrator_base.training_with_loss(config, "kl") == TrainingConfig(loss="kl")
    with pytest.raises(ValueError, match=r"Expected a loss name in \[.*\] or a callable; got 'l3'"):
        integrator_base.training_with_loss(config, "l3")
    with pytest.raises(ValueError, match="got 'nope'"):
        integrator_base.training_with_loss(TrainingConfig(loss="nope"), None)


def test_seeded_generators(device):
    init_a, draw_a = integrator_base.seeded_generators(10, device)
    init_b, draw_b = integrator_base.seeded_generators(10, device)
    assert init_a.device.type == "cpu" and draw_a.device.type == device.type
    assert torch.equal(torch.rand(4, generator=init_a), torch.rand(4, generator=init_b))
    a = torch.rand(4, generator=draw_a, device=device)
    assert torch.equal(a, torch.rand(4, generator=draw_b, device=device))
    # weights from the seed, draws from seed + 1 (two different streams)
    assert init_a.initial_seed() == 10 and draw_a.initial_seed() == 11
    _, fresh_a = integrator_base.seeded_generators(None, device)
    _, fresh_b = integrator_base.seeded_generators(None, device)
    assert fresh_a.initial_seed() != fresh_b.initial_seed()
