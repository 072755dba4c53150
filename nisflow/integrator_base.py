"""What every nisflow integrator shares: argument checks, seeding, the survey's progress bar and
Ctrl-C handling, the refine loop, unweighting and saving.

:class:`~nisflow.Integrator` (one flow) and
:class:`~nisflow.multichannel.MultiChannelIntegrator` (channels) differ in how they draw points
and train; both subclass :class:`IntegratorBase`, which runs the iterations around those steps
and owns the file format's common part (see :mod:`nisflow.persistence`).
"""

from __future__ import annotations

import os
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar, Protocol, TypeVar

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .integrand import Integrand
from .losses import LOSSES, Loss
from .persistence import DTYPES, load_state, restore_generator, save_state
from .result import IntegrationResult, IterationRecord
from .unweighting import UnweightedEvents, unweight

__all__ = [
    "IntegratorBase",
    "check_count",
    "check_count_or_auto",
    "check_seed",
    "check_dtype",
    "training_with_loss",
    "seeded_generators",
]


class _Training(Protocol):
    loss: str | Loss


TrainingT = TypeVar("TrainingT", bound=_Training)

#: The constructor arguments of the iteration budget that every integrator takes.
_BUDGET = ("n_iter_survey", "n_iter_refine", "n_points_survey", "n_points_refine")


def check_count(v: object, name: str, minimum: int) -> int:
    """``v`` if it is an integer ``>= minimum`` (not a bool).

    Raises:
        ValueError: "Expected {name} to be an integer >= {minimum}; got ...".
    """
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"Expected {name} to be an integer >= {minimum}; got {v!r}.")
    return v


def check_count_or_auto(v: object, name: str) -> int | str | None:
    """``v`` if it is ``None``, ``"auto"`` or a positive integer (not a bool).

    Raises:
        ValueError: "Expected {name} a positive integer, None or 'auto'; got ...".
    """
    if v is None or (isinstance(v, str) and v == "auto"):
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"Expected {name} a positive integer, None or 'auto'; got {v!r}.")
    return v


def check_seed(seed: object) -> int | None:
    """``seed`` if it is an integer (not a bool) or ``None``.

    Raises:
        ValueError: another type.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"Expected seed to be an integer or None; got {seed!r}.")
    return seed


def check_dtype(dtype: object) -> torch.dtype:
    """``dtype`` if it is ``torch.float32`` or ``torch.float64``.

    Raises:
        ValueError: another dtype.
    """
    if dtype not in DTYPES.values():
        raise ValueError(f"Expected dtype torch.float32 or torch.float64; got {dtype!r}.")
    return dtype  # type: ignore[return-value]


def training_with_loss(training: TrainingT, loss: str | Loss | None) -> TrainingT:
    """The training configuration with ``loss`` put in (when given), its loss name checked.

    Args:
        training: a frozen dataclass with a ``loss`` field.
        loss: a name of :data:`nisflow.losses.LOSSES`, a callable, or ``None`` (keep).

    Raises:
        ValueError: an unknown loss name.
    """
    if loss is not None:
        training = replace(training, loss=loss)  # type: ignore[type-var]
    if isinstance(training.loss, str) and training.loss not in LOSSES:
        raise ValueError(
            f"Expected a loss name in {sorted(LOSSES)} or a callable; got {training.loss!r}."
        )
    return training


def seeded_generators(
    seed: int | None, device: torch.device
) -> tuple[torch.Generator, torch.Generator]:
    """The two generators of an integrator: for initial weights and for every draw.

    Args:
        seed: ``None`` for fresh entropy; otherwise the weights' generator is seeded with
            ``seed`` and the draws' with ``seed + 1``.
        device: where the draws' generator lives (the weights' is on the CPU).

    Returns:
        ``(init_generator, generator)``.
    """
    init_generator = torch.Generator()
    generator = torch.Generator(device=device)
    if seed is None:
        init_generator.seed()
        generator.seed()
    else:
        init_generator.manual_seed(seed)
        generator.manual_seed(seed + 1)
    return init_generator, generator


class IntegratorBase(ABC):
    """The survey/refine driver common to nisflow's integrators.

    A subclass sets, in its constructor, the attributes below and defines how to survey
    (:meth:`survey`), how to refine (:meth:`_refine`), how to draw weighted points
    (:meth:`sample`), how to switch its modules between training and evaluation
    (:meth:`_set_mode`) and what it saves (:meth:`_config`, :meth:`_state`).

    Attributes:
        integrand: the wrapped integrand (counts evaluations).
        generator: the generator of every draw.
        history: every survey and refine iteration, in order.
        n_iter_survey: default survey iterations.
        n_points_survey: default points per survey iteration.
        n_iter_refine: default refine iterations.
        n_points_refine: default points per refine iteration.
        chunk_size: the most points handled at once.
        verbose: show progress bars.
        interrupted: whether the last survey was ended by Ctrl-C.
    """

    _FORMAT: ClassVar[str]  # the "format" entry of saved files
    _SAVED_BY: ClassVar[str]  # the method that writes them, for error messages
    _VERSION: ClassVar[int] = 1

    integrand: Integrand
    generator: torch.Generator
    history: list[IterationRecord]
    n_iter_survey: int
    n_points_survey: int
    n_iter_refine: int
    n_points_refine: int
    chunk_size: int
    verbose: bool
    interrupted: bool

    # -- what a subclass defines --------------------------------------------------------------
    @abstractmethod
    def survey(
        self, n_iter: int | None = None, n_points: int | None = None
    ) -> list[IterationRecord]:
        """Train: ``n_iter`` iterations of ``n_points`` integrand evaluations."""

    @abstractmethod
    def _refine(self, n_iter: int | None, n_points: int | None) -> IntegrationResult:
        """Integrate: ``n_iter`` iterations of ``n_points`` points (called by :meth:`refine` and
        :meth:`integrate`, so that a warning it raises with ``stacklevel=4`` points at their
        caller through a ``torch.no_grad`` decorator)."""

    @abstractmethod
    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """``n`` weighted points ``(x, w, log_q)`` of shapes ``(n, d)``, ``(n,)``, ``(n,)``."""

    def unweighting_sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """The weighted points :meth:`unweight` keeps or rejects; by default :meth:`sample`'s."""
        return self.sample(n)

    @abstractmethod
    def _set_mode(self, train: bool) -> None:
        """Put the trained modules in training (``True``) or evaluation mode."""

    @abstractmethod
    def _config(self) -> dict[str, object]:
        """The constructor's arguments as plain data, for :meth:`save`."""

    @abstractmethod
    def _state(self) -> dict[str, object]:
        """The subclass's entries of a saved file (``state_dict``\\ s, tensors, numbers)."""

    # -- the iteration budget -----------------------------------------------------------------
    def _set_budget(
        self, n_iter_survey: int, n_iter_refine: int, n_points_survey: int, n_points_refine: int
    ) -> None:
        """Check and set the default iterations of each phase and points per iteration.

        Raises:
            ValueError: a negative iteration count, fewer than 2 points, or a non-integer.
        """
        self.n_iter_survey = check_count(n_iter_survey, "n_iter_survey", 0)
        self.n_iter_refine = check_count(n_iter_refine, "n_iter_refine", 0)
        self.n_points_survey = check_count(n_points_survey, "n_points_survey", 2)
        self.n_points_refine = check_count(n_points_refine, "n_points_refine", 2)

    def _budget(self) -> dict[str, int]:
        """The budget by constructor argument, for the saved configuration."""
        return {name: getattr(self, name) for name in _BUDGET}

    @staticmethod
    def _saved_budget(config: Mapping[str, Any]) -> dict[str, int]:
        """The budget's constructor arguments from a saved configuration.

        Raises:
            KeyError: one is missing.
        """
        return {name: config[name] for name in _BUDGET}

    # -- properties ---------------------------------------------------------------------------
    @property
    def n_evals(self) -> int:
        """Integrand evaluations so far."""
        return self.integrand.n_evals

    # -- survey and refine --------------------------------------------------------------------
    def integrate(
        self,
        n_survey: int | None = None,
        n_refine: int | None = None,
        *,
        n_points_survey: int | None = None,
        n_points_refine: int | None = None,
    ) -> IntegrationResult:
        """Survey then refine; return the integral (unpacks as ``value, error, history``).

        Args:
            n_survey: survey iterations (default ``n_iter_survey``).
            n_refine: refine iterations (default ``n_iter_refine``).
            n_points_survey: points per survey iteration (default from the constructor).
            n_points_refine: points per refine iteration (default from the constructor).
        """
        self.survey(n_survey, n_points_survey)
        return self._refine(n_refine, n_points_refine)

    def _survey_counts(self, n_iter: int | None, n_points: int | None) -> tuple[int, int]:
        """``(n_iter, n_points)`` of a survey: the defaults where ``None``, checked otherwise."""
        n_iter = self.n_iter_survey if n_iter is None else check_count(n_iter, "n_iter", 0)
        n_points = (
            self.n_points_survey if n_points is None else check_count(n_points, "n_points", 2)
        )
        return n_iter, n_points

    def _refine_counts(self, n_iter: int | None, n_points: int | None) -> tuple[int, int]:
        """``(n_iter, n_points)`` of a refine: the defaults where ``None``, checked otherwise.

        Raises:
            ValueError: a bad count, or no refine iteration at all.
        """
        n_iter = self.n_iter_refine if n_iter is None else check_count(n_iter, "n_iter", 1)
        n_points = (
            self.n_points_refine if n_points is None else check_count(n_points, "n_points", 2)
        )
        if n_iter < 1:
            raise ValueError(f"Expected at least one refine iteration; got {n_iter}.")
        return n_iter, n_points

    @contextmanager
    def _survey_progress(self, n_iter: int, records: Sequence[IterationRecord]) -> Iterator[tqdm]:
        """The survey's progress bar over ``range(n_iter)``; Ctrl-C inside ends the survey.

        On ``KeyboardInterrupt`` :attr:`interrupted` is set and a ``RuntimeWarning`` names how
        many ``records`` were completed; on any exit the bar closes and the modules go back to
        evaluation mode. Use it directly in :meth:`survey` (the warning points at its caller).
        """
        self.interrupted = False
        bar = tqdm(range(n_iter), desc="survey", disable=not self.verbose, leave=False)
        try:
            yield bar
        except KeyboardInterrupt:
            self.interrupted = True
            warnings.warn(
                f"Survey interrupted after {len(records)} complete iteration(s); keeping the "
                "model trained so far.",
                RuntimeWarning,
                stacklevel=4,  # this generator <- contextlib's __exit__ <- survey <- its caller
            )
        finally:
            bar.close()
            self._set_mode(False)

    def _refine_records(
        self, n_iter: int, iteration: Callable[[], tuple[float, float, int, str]]
    ) -> list[IterationRecord]:
        """Run ``n_iter`` refine iterations and record them (also in :attr:`history`).

        Args:
            n_iter: iterations.
            iteration: one iteration, returning ``(value, variance, n_evals, sampler)``.

        Returns:
            The records, indexed on from the refine iterations already in the history.
        """
        start_index = sum(1 for r in self.history if r.phase == "refine")
        records: list[IterationRecord] = []
        for i in tqdm(range(n_iter), desc="refine", disable=not self.verbose, leave=False):
            t0 = time.perf_counter()
            value, variance, n_evals, sampler = iteration()
            record = IterationRecord(
                "refine",
                start_index + i,
                value,
                variance,
                n_evals,
                sampler=sampler,
                seconds=time.perf_counter() - t0,
            )
            records.append(record)
            self.history.append(record)
        return records

    # -- unweighting --------------------------------------------------------------------------
    def unweight(
        self,
        n_events: int,
        *,
        max_weight: str | float = "exact",
        n_reference: int = 100_000,
    ) -> UnweightedEvents:
        """Draw ``n_events`` unweighted events (i.i.d. with density ``|f| / ∫|f|``) by
        hit-or-miss on the points of :meth:`unweighting_sample`.

        Args:
            n_events: events wanted.
            max_weight: ``"exact"`` (the largest weight of the reference sample) or a quantile
                level such as ``0.999`` (over-weight events then carry weight ``|w|/w_max``).
            n_reference: size of the reference sample that fixes the maximum weight.

        Returns:
            The events with the unweighting efficiency and the over-weight fraction.
        """

        def draw(n: int) -> tuple[Tensor, Tensor]:
            x, w, _ = self.unweighting_sample(n)
            return x, w

        return unweight(
            draw,
            n_events,
            max_weight=max_weight,
            n_reference=n_reference,
            chunk_size=self.chunk_size,
            generator=self.generator,
        )

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the trained state: the modules' and optimizer's ``state_dict``, the
        configuration, the random generator's state and the history. The file loads with
        ``torch.load(..., weights_only=True)``; the integrand and other functions are code, not
        state: ``load`` takes them again.
        """
        save_state(
            path,
            file_format=self._FORMAT,
            version=self._VERSION,
            config=self._config(),
            generator=self.generator,
            history=self.history,
            n_evals=self.integrand.n_evals,
            **self._state(),
        )

    @classmethod
    def _read(cls, path: str | os.PathLike) -> dict[str, Any]:
        """The dictionary of a file written by this class's ``save``.

        Raises:
            FileNotFoundError: no such file.
            ValueError: unreadable, another format or another version.
        """
        return load_state(path, file_format=cls._FORMAT, version=cls._VERSION, writer=cls._SAVED_BY)

    def _restore(self, state: Mapping[str, Any]) -> None:
        """Restore the history, the evaluation count and the generator from a saved file."""
        self.history = [IterationRecord(**r) for r in state["history"]]
        self.integrand.n_evals = int(state["n_evals"])
        restore_generator(self.generator, state["generator"])
