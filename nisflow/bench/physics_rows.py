"""The rows of the physics benchmark (:mod:`nisflow.bench.physics`): plain frozen dataclasses.

Every table function of :mod:`nisflow.bench.physics_runs` returns these; every row has
``to_dict()`` for JSON, and :mod:`nisflow.bench.physics_report` prints them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from .physics_config import PhysicsBenchConfig

__all__ = ["MethodResult", "SpeedupRow", "WidthScanRow", "BufferedRow", "PhysicsReport"]


@dataclass(frozen=True)
class MethodResult:
    """One method's run on one integrand.

    Attributes:
        method: ``"nisflow 1ch"``, ``"nisflow 3ch"`` or ``"VEGAS"``.
        estimate: the refine's integral (pb).
        error: its standard deviation (pb).
        n_train: integrand evaluations of the survey (training / adaptation).
        n_refine: integrand evaluations of the refine.
        rel_var_per_point: ``n_refine · (error / estimate)²``.
        unw_eff: ``mean(w) / max(w)`` of the weighted events drawn after training.
        n_unweight: the number of those events.
        train_s: wall seconds of the survey.
        n_steps: gradient steps of the training (0 for VEGAS).
        reliable: ``False`` when nisflow's diagnostics warned that the error may not be reliable.
    """

    method: str
    estimate: float
    error: float
    n_train: int
    n_refine: int
    rel_var_per_point: float
    unw_eff: float
    n_unweight: int
    train_s: float
    n_steps: int = 0
    reliable: bool = True

    @property
    def rel_error(self) -> float:
        """``error / |estimate|`` (nan for a zero estimate)."""
        return self.error / abs(self.estimate) if self.estimate != 0 else math.nan

    def pull(self, other: MethodResult) -> float:
        """``(self − other) / sqrt(σ_self² + σ_other²)``: the agreement of two estimates."""
        err = math.hypot(self.error, other.error)
        return (self.estimate - other.estimate) / err if err > 0 else math.nan

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON fields, with ``rel_error``."""
        return {**asdict(self), "rel_error": self.rel_error}


@dataclass(frozen=True)
class SpeedupRow:
    """Table 1: nisflow against VEGAS on one process at equal evaluations."""

    process: str
    label: str
    setup: str
    d: int
    nisflow: MethodResult
    vegas: MethodResult

    @property
    def variance_ratio(self) -> float:
        """``rel_var_per_point(VEGAS) / rel_var_per_point(nisflow)``: the speed-up."""
        return _ratio(self.vegas.rel_var_per_point, self.nisflow.rel_var_per_point)

    @property
    def unweighting_gain(self) -> float:
        """``unw_eff(nisflow) / unw_eff(VEGAS)``."""
        return _ratio(self.nisflow.unw_eff, self.vegas.unw_eff)

    @property
    def pull(self) -> float:
        """nisflow's estimate minus VEGAS's in units of their combined error."""
        return self.nisflow.pull(self.vegas)

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON fields with the derived figures."""
        return {
            "process": self.process,
            "label": self.label,
            "setup": self.setup,
            "d": self.d,
            "nisflow": self.nisflow.to_dict(),
            "vegas": self.vegas.to_dict(),
            "variance_ratio": self.variance_ratio,
            "unweighting_gain": self.unweighting_gain,
            "pull": self.pull,
        }


@dataclass(frozen=True)
class WidthScanRow:
    """Table 2: one Z' width, three methods at equal evaluations."""

    factor: float
    width: float
    single: MethodResult
    multi: MethodResult
    vegas: MethodResult

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON fields with the pulls against the three-channel result."""
        return {
            "factor": self.factor,
            "width": self.width,
            "single": self.single.to_dict(),
            "multi": self.multi.to_dict(),
            "vegas": self.vegas.to_dict(),
            "pull_single_vs_multi": self.single.pull(self.multi),
            "pull_vegas_vs_multi": self.vegas.pull(self.multi),
        }


@dataclass(frozen=True)
class BufferedRow:
    """Table 3: one training schedule.

    Attributes:
        setup: ``"single-channel"`` or ``"three-channel"``.
        mode: ``"buffered"`` (``k_buff`` passes over each online batch; ``k_buff = 0`` is pure
            online training) or ``"online"`` (the online run with the same integrand calls as
            the buffered run of the same ``k_buff``).
        k_buff: buffered passes per online pass of the buffered run.
        n_iter: survey iterations.
        n_epochs: passes per survey batch (``k_buff + 1`` when buffered, 1 online).
        result: the run; ``result.n_train`` are the integrand calls of training and
            ``result.n_steps`` the gradient steps.
    """

    setup: str
    mode: str
    k_buff: int
    n_iter: int
    n_epochs: int
    result: MethodResult

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON fields."""
        return {
            "setup": self.setup,
            "mode": self.mode,
            "k_buff": self.k_buff,
            "n_iter": self.n_iter,
            "n_epochs": self.n_epochs,
            "result": self.result.to_dict(),
        }


@dataclass
class PhysicsReport:
    """The rows of one benchmark run with what it ran on.

    Attributes:
        machine: the machine's name (:func:`nisflow.bench.throughput.machine_name`).
        device: the torch device of nisflow (VEGAS adapts on the CPU).
        seed: the seed of every run.
        config: the configuration.
        command: the command line, when run from one.
        speedup, width_scan, buffered: the rows of tables 1-3.
        notes: skipped rows and why.
        seconds: wall seconds of the whole run.
    """

    machine: str
    device: str
    seed: int
    config: PhysicsBenchConfig
    command: str = ""
    speedup: list[SpeedupRow] = field(default_factory=list)
    width_scan: list[WidthScanRow] = field(default_factory=list)
    buffered: list[BufferedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "machine": self.machine,
            "device": self.device,
            "seed": self.seed,
            "command": self.command,
            "torch": torch.__version__,
            "config": asdict(self.config),
            "speedup": [r.to_dict() for r in self.speedup],
            "width_scan": [r.to_dict() for r in self.width_scan],
            "buffered": [r.to_dict() for r in self.buffered],
            "notes": list(self.notes),
            "seconds": self.seconds,
        }


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 and math.isfinite(a) else math.nan
