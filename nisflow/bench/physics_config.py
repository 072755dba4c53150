"""Configuration of the physics benchmark (:mod:`nisflow.bench.physics`): budgets, presets, processes.

:data:`QUICK` and :data:`FULL` are the two presets of ``python -m nisflow.bench.physics``;
:data:`PROCESSES` names the integrands of table 1 and is the hook by which new processes join.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from ..baselines.record import Budget
from ..integrator import TrainingConfig
from ..multichannel import MultiChannelTrainingConfig
from ..physics import DDbarToDDbar, DrellYan, EMuToEMu, UCToUCG

__all__ = [
    "ZPRIME_MASS",
    "ZPRIME_WIDTH",
    "WIDTH_FACTORS",
    "SETUPS",
    "PhysicsBudget",
    "PhysicsBenchConfig",
    "ProcessCase",
    "PROCESSES",
    "register_process",
    "drell_yan_zprime",
    "QUICK",
    "FULL",
    "default_pdf_paths",
]

ZPRIME_MASS = 400.0
"""M_Z' in GeV (MadNIS eq. 56)."""
ZPRIME_WIDTH = 0.5
"""Γ_Z' in GeV (MadNIS eq. 56), the centre of the width scan."""
WIDTH_FACTORS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
"""The factors on Γ_Z' of MadNIS eq. 65."""
SETUPS = ("single-channel", "three-channel")
"""nisflow set-ups: one flow on the process's own cube, or the γ/Z/Z' multi-channel integrator."""

# -- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class PhysicsBudget:
    """Integrand evaluations of one run (the same for nisflow and VEGAS).

    Attributes:
        n_iter_survey: survey (training / adaptation) iterations.
        n_points_survey: evaluations per survey iteration.
        n_iter_refine: refine iterations.
        n_points_refine: evaluations per refine iteration.
        n_unweight: weighted events drawn after training for the unweighting efficiency.
    """

    n_iter_survey: int = 10
    n_points_survey: int = 100_000
    n_iter_refine: int = 10
    n_points_refine: int = 100_000
    n_unweight: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("n_iter_survey", "n_iter_refine", "n_points_survey", "n_points_refine"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Expected {name} to be a positive integer; got {v!r}.")
        if isinstance(self.n_unweight, bool) or not isinstance(self.n_unweight, int):
            raise ValueError(f"Expected n_unweight to be an integer; got {self.n_unweight!r}.")
        if self.n_unweight < 2:
            raise ValueError(f"Expected n_unweight >= 2; got {self.n_unweight}.")

    @property
    def n_survey(self) -> int:
        """Survey evaluations in total."""
        return self.n_iter_survey * self.n_points_survey

    @property
    def n_refine(self) -> int:
        """Refine evaluations in total."""
        return self.n_iter_refine * self.n_points_refine

    def for_vegas(self) -> Budget:
        """The same budget in the form :func:`~nisflow.baselines.vegas.run_vegas` takes."""
        return Budget(
            self.n_survey, self.n_refine, self.n_iter_survey, self.n_iter_refine, self.n_unweight
        )


@dataclass(frozen=True)
class PhysicsBenchConfig:
    """Everything a physics benchmark run depends on besides the seed and the device.

    Attributes:
        budget: evaluations of every run of tables 1 and 2 (and the refine of table 3).
        speedup_cases: ``(process name, set-up)`` pairs of table 1; ``None`` (default): every
            process of :data:`PROCESSES` with each of its set-ups (:meth:`cases`).
        width_factors: factors on Γ_Z' = 0.5 GeV of table 2.
        k_buff: buffered passes per online pass of table 3.
        buffered_setup: ``"three-channel"`` (MadNIS fig. 13) or ``"single-channel"``.
        buffered_iterations: survey iterations of the pure online run (``k_buff = 0``); a run
            with ``k_buff`` gets ``buffered_iterations / (k_buff + 1)`` of them (rounded).
        buffered_points: integrand evaluations per survey iteration in table 3.
        batch_size: points per gradient step everywhere.
        lr: Adam learning rate everywhere.
        n_epochs: passes per survey batch in tables 1 and 2 (nisflow's default, 5).
    """

    budget: PhysicsBudget = field(default_factory=PhysicsBudget)
    speedup_cases: tuple[tuple[str, str], ...] | None = None
    width_factors: tuple[float, ...] = WIDTH_FACTORS
    k_buff: tuple[int, ...] = (0, 1, 2, 3, 4)
    buffered_setup: str = "three-channel"
    buffered_iterations: int = 60
    buffered_points: int = 10_000
    batch_size: int = 2_000
    lr: float = 3e-3
    n_epochs: int = 5

    def __post_init__(self) -> None:
        if self.buffered_setup not in SETUPS:
            raise ValueError(f"Expected buffered_setup in {SETUPS}; got {self.buffered_setup!r}.")
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in self.k_buff):
            raise ValueError(f"Expected non-negative integers k_buff; got {self.k_buff!r}.")
        if any(not (f > 0 and math.isfinite(f)) for f in self.width_factors):
            raise ValueError(f"Expected positive width factors; got {self.width_factors!r}.")
        for name in ("buffered_iterations", "buffered_points", "batch_size", "n_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Expected {name} to be a positive integer; got {v!r}.")
        for process, setup in self.speedup_cases or ():
            if setup not in SETUPS:
                raise ValueError(f"Expected a set-up in {SETUPS}; got {setup!r} for {process!r}.")

    def cases(self) -> tuple[tuple[str, str], ...]:
        """Table 1's ``(process name, set-up)`` pairs (see :attr:`speedup_cases`)."""
        if self.speedup_cases is not None:
            return tuple(self.speedup_cases)
        return tuple((name, setup) for name, case in PROCESSES.items() for setup in case.setups)

    def training(self, *, n_epochs: int | None = None) -> TrainingConfig:
        """The single-channel training settings (the adaptive survey of nisflow's default)."""
        return TrainingConfig(
            n_epochs=self.n_epochs if n_epochs is None else n_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
        )

    def multichannel_training(self, *, n_epochs: int | None = None) -> MultiChannelTrainingConfig:
        """The three-channel training settings (same loss, batch size, epochs and rate)."""
        return MultiChannelTrainingConfig(
            n_epochs=self.n_epochs if n_epochs is None else n_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
        )


# -- processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessCase:
    """A process of the benchmark.

    Attributes:
        name: the key in :data:`PROCESSES` (``"emu-emu"``).
        label: how tables print it (``"e- mu- -> e- mu-"``).
        build: ``build(pdf_path) -> integrand`` on [0, 1]^d with an attribute ``d``.
        setups: the set-ups it supports (``"three-channel"`` needs Drell-Yan's channels).
    """

    name: str
    label: str
    build: Callable[[Sequence[str] | None], nn.Module]
    setups: tuple[str, ...] = ("single-channel",)


def drell_yan_zprime(width: float) -> Callable[[Sequence[str] | None], nn.Module]:
    """A builder of Drell-Yan with a Z' of mass :data:`ZPRIME_MASS` and ``width`` (GeV)."""

    def build(pdf_path: Sequence[str] | None) -> nn.Module:
        return DrellYan(zprime=dict(mass=ZPRIME_MASS, width=width), pdf_path=pdf_path)

    return build


PROCESSES: dict[str, ProcessCase] = {
    "emu-emu": ProcessCase("emu-emu", "e- mu- -> e- mu-", lambda _path: EMuToEMu()),
    "ddbar-ddbar": ProcessCase(
        "ddbar-ddbar", "d d~ -> d d~", lambda path: DDbarToDDbar(pdf_path=path)
    ),
    "drell-yan-zprime": ProcessCase(
        "drell-yan-zprime",
        "p p -> e+ e- (Z')",
        drell_yan_zprime(ZPRIME_WIDTH),
        setups=SETUPS,
    ),
    "uc-ucg": ProcessCase(
        "uc-ucg", "u c -> u c g (ZuNIS cuts)", lambda path: UCToUCG(pdf_path=path)
    ),
}
"""The processes of table 1 by name, in table order; each gives one row per set-up.

Other processes join with :func:`register_process` (a configuration without explicit
``speedup_cases`` takes every registered process, and ``--processes NAME`` becomes valid)."""


def register_process(case: ProcessCase) -> None:
    """Add ``case`` to :data:`PROCESSES` (replacing one of the same name): table 1 then has its
    rows whenever the configuration's ``speedup_cases`` is ``None``."""
    if not isinstance(case, ProcessCase):
        raise TypeError(f"Expected a ProcessCase; got {type(case).__name__}.")
    PROCESSES[case.name] = case


QUICK = PhysicsBenchConfig(
    budget=PhysicsBudget(5, 10_000, 2, 25_000, 50_000),
    width_factors=(1e-2, 1.0, 100.0),
    k_buff=(0, 1, 3, 4),
    buffered_iterations=20,
    buffered_points=5_000,
)
"""``--quick``: a few minutes on one CPU core."""

FULL = PhysicsBenchConfig(
    budget=PhysicsBudget(10, 100_000, 10, 100_000, 1_000_000),
    buffered_points=20_000,
)
"""The default: BENCHMARKS.md's 10⁶ + 10⁶ evaluations, all widths, ``k_buff`` = 0 … 4."""


def default_pdf_paths() -> list[str]:
    """Folders that may hold the benchmark's PDF set besides ``$LHAPDF_DATA_PATH``.

    Returns:
        ``$NISFLOW_SHARED/data/pdfsets`` and ``../shared/data/pdfsets`` beside the checkout,
        those that exist.
    """
    candidates = []
    env = os.environ.get("NISFLOW_SHARED")
    if env:
        candidates.append(Path(env) / "data" / "pdfsets")
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data" / "pdfsets")
    return [str(c) for c in candidates if c.is_dir()]
