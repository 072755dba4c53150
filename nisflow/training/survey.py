"""Survey strategies: where the training points of one survey iteration come from.

Every strategy runs one iteration with ``step(trainer, f, n_points, n_epochs=, generator=)``:
it draws ``n_points`` points, evaluates the integrand ``f`` on them (each point once) and trains
the :class:`~nisflow.training.Trainer` with the q-weighted loss. The strategies (ZüNIS §3.1 and
Alg. 2; MadNIS §3.2–3.3):

``flat``
    q is the uniform density; the same batch is reused for ``n_epochs`` passes.
``forward``
    q is a frozen copy of the current model (its density stored at sampling time); the batch is
    reused for ``n_epochs`` passes. With one epoch and one step per batch this is the original
    NIS gradient (ZüNIS eq. 10).
``adaptive``
    ``flat`` until the model's loss, estimated on a fresh uniform batch before training, is
    lower than the uniform density's loss on the same batch; ``forward`` from then on.
``online``
    fresh points from the current model for every gradient step, each used once.
``buffered``
    one ``online`` pass whose points are kept in a :class:`~nisflow.training.SampleBuffer`,
    then ``n_epochs − 1`` passes over the buffer with the q-weighted loss.

Each iteration returns a :class:`SurveyStep` with the training losses and the integral
estimated from the iteration's points (unbiased for every strategy: each point carries the exact
density it was drawn from).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..result import estimate_from_weights
from ..rng import rand
from .batch import SampleBatch
from .buffer import SampleBuffer
from .trainer import Trainer

__all__ = [
    "SurveyStep",
    "SurveyStrategy",
    "FlatSurvey",
    "ForwardSurvey",
    "AdaptiveSurvey",
    "OnlineSurvey",
    "BufferedSurvey",
    "SURVEY_STRATEGIES",
    "get_survey_strategy",
    "flat_sample",
]

Integrand = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class SurveyStep:
    """What one survey iteration did.

    Attributes:
        sampler: ``"flat"``, ``"model"`` or ``"online"``.
        losses: the loss of every gradient step.
        n_evals: integrand evaluations.
        value: integral estimated from the iteration's points.
        variance: variance of ``value``.
        batch: the evaluated points (for ``use_survey`` and inspection).
    """

    sampler: str
    losses: tuple[float, ...]
    n_evals: int
    value: float
    variance: float
    batch: SampleBatch | None = None

    @property
    def mean_loss(self) -> float:
        """Mean of the finite step losses (``nan`` if none)."""
        finite = [v for v in self.losses if math.isfinite(v)]
        return sum(finite) / len(finite) if finite else math.nan


def flat_sample(
    n: int, d: int, *, generator: torch.Generator | None, device, dtype
) -> tuple[Tensor, Tensor]:
    """``n`` uniform points in [0, 1]^d with their log-density 0 (float64)."""
    x = rand(n, d, generator=generator, device=device, dtype=dtype)
    return x, torch.zeros(n, dtype=torch.float64, device=device)


def _evaluate(f: Integrand, x: Tensor, log_q: Tensor) -> SampleBatch:
    return SampleBatch(x, log_q, f(x).to(torch.float64))


def _step_result(sampler: str, losses: list[float], batch: SampleBatch) -> SurveyStep:
    value, variance = estimate_from_weights(batch.weights)
    return SurveyStep(sampler, tuple(losses), len(batch), value, variance, batch)


class SurveyStrategy:
    """Base class: one survey iteration per :meth:`step`. Subclasses set :attr:`name`."""

    name: str = ""

    def step(
        self,
        trainer: Trainer,
        f: Integrand,
        n_points: int,
        *,
        n_epochs: int = 1,
        generator: torch.Generator | None = None,
    ) -> SurveyStep:  # pragma: no cover - abstract
        """Run one iteration on ``n_points`` new integrand evaluations."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, object]:
        """The strategy's state (plain Python)."""
        return {}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore :meth:`state_dict`."""


class FlatSurvey(SurveyStrategy):
    """q uniform: immune to a bad model, covers the whole hypercube."""

    name = "flat"

    def step(self, trainer, f, n_points, *, n_epochs=1, generator=None):
        x, log_q = flat_sample(
            n_points,
            trainer.d,
            generator=generator,
            device=trainer.flow.device,
            dtype=trainer.flow.dtype,
        )
        batch = _evaluate(f, x, log_q)
        losses = trainer.train_on_batch(
            batch.x, batch.log_q, batch.f, n_epochs=n_epochs, generator=generator
        )
        return _step_result("flat", losses, batch)


class ForwardSurvey(SurveyStrategy):
    """q = the model frozen at sampling time; the batch is reused for ``n_epochs`` passes."""

    name = "forward"

    def step(self, trainer, f, n_points, *, n_epochs=1, generator=None):
        x, log_q = trainer.sample(n_points, generator=generator)
        batch = _evaluate(f, x, log_q)
        losses = trainer.train_on_batch(
            batch.x, batch.log_q, batch.f, n_epochs=n_epochs, generator=generator
        )
        return _step_result("model", losses, batch)


class AdaptiveSurvey(SurveyStrategy):
    """Flat first; the frozen model once its loss (estimated on a fresh flat batch) is lower.

    Attributes:
        switched: whether the strategy samples from the model now.
        comparisons: ``(loss_flat, loss_model)`` measured at each flat iteration.
    """

    name = "adaptive"

    def __init__(self) -> None:
        self.switched = False
        self.comparisons: list[tuple[float, float]] = []

    def step(self, trainer, f, n_points, *, n_epochs=1, generator=None):
        if self.switched:
            return ForwardSurvey().step(
                trainer, f, n_points, n_epochs=n_epochs, generator=generator
            )
        x, log_q = flat_sample(
            n_points,
            trainer.d,
            generator=generator,
            device=trainer.flow.device,
            dtype=trainer.flow.dtype,
        )
        batch = _evaluate(f, x, log_q)
        if bool((batch.f != 0).any()):
            loss_flat = float(trainer.loss(batch.f, batch.log_q, batch.log_q))
            loss_model = trainer.loss_value(batch.x, batch.log_q, batch.f)
            self.comparisons.append((loss_flat, loss_model))
            # Compared before training on this batch, so both estimates are unbiased.
            if math.isfinite(loss_model) and loss_model < loss_flat:
                self.switched = True
        losses = trainer.train_on_batch(
            batch.x, batch.log_q, batch.f, n_epochs=n_epochs, generator=generator
        )
        return _step_result("flat", losses, batch)

    def state_dict(self):
        return {"switched": self.switched}

    def load_state_dict(self, state):
        self.switched = bool(state.get("switched", False))


class OnlineSurvey(SurveyStrategy):
    """Fresh points from the current model for every step (``batch_size`` points per step)."""

    name = "online"

    def _online_pass(self, trainer, f, n_points, generator) -> tuple[list[float], list]:
        size = trainer.batch_size or n_points
        losses: list[float] = []
        batches: list[SampleBatch] = []
        for start in range(0, n_points, size):
            m = min(size, n_points - start)
            x, log_q = trainer.sample(m, generator=generator)
            batch = _evaluate(f, x, log_q)
            batches.append(batch)
            losses += trainer.train_on_batch(
                batch.x, batch.log_q, batch.f, n_epochs=1, batch_size=m
            )
        return losses, batches

    def step(self, trainer, f, n_points, *, n_epochs=1, generator=None):
        losses, batches = self._online_pass(trainer, f, n_points, generator)
        return _step_result("online", losses, SampleBatch.cat(batches))


class BufferedSurvey(OnlineSurvey):
    """An online pass whose points are buffered, then ``n_epochs − 1`` passes over the buffer.

    Args:
        capacity: buffer size in points; ``None`` keeps the whole online pass.
    """

    name = "buffered"

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity

    def step(self, trainer, f, n_points, *, n_epochs=1, generator=None):
        losses, batches = self._online_pass(trainer, f, n_points, generator)
        buffer = SampleBuffer(self.capacity or max(n_points, 1))
        for b in batches:
            buffer.add(b)
        if n_epochs > 1 and len(buffer):
            stored = buffer.batch()
            losses += trainer.train_on_batch(
                stored.x, stored.log_q, stored.f, n_epochs=n_epochs - 1, generator=generator
            )
        buffer.clear()
        return _step_result("online", losses, SampleBatch.cat(batches))


SURVEY_STRATEGIES: dict[str, type[SurveyStrategy]] = {
    "flat": FlatSurvey,
    "forward": ForwardSurvey,
    "adaptive": AdaptiveSurvey,
    "adaptive_variance": AdaptiveSurvey,
    "online": OnlineSurvey,
    "buffered": BufferedSurvey,
}
"""Strategies by name (``adaptive_variance`` is ZüNIS's name for ``adaptive``)."""


def get_survey_strategy(strategy: str | SurveyStrategy) -> SurveyStrategy:
    """A fresh strategy named ``strategy``, or ``strategy`` itself if it is one."""
    if isinstance(strategy, SurveyStrategy):
        return strategy
    if isinstance(strategy, str) and strategy in SURVEY_STRATEGIES:
        return SURVEY_STRATEGIES[strategy]()
    raise ValueError(
        f"Expected a survey strategy in {sorted(SURVEY_STRATEGIES)}; got {strategy!r}."
    )
