"""The runs of the physics benchmark (:mod:`nisflow.bench.physics`): pure functions returning rows.

Each function trains and integrates from scratch with the given seed and returns
:mod:`nisflow.bench.physics_rows` dataclasses; nothing is printed except through ``log``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn

from ..baselines.record import unweighting_efficiency
from ..baselines.uniform import synchronize
from ..baselines.vegas import run_vegas
from ..diagnostics import NisflowReliabilityWarning
from ..integrator import Integrator
from ..multichannel import MultiChannelIntegrator
from ..physics import DrellYan, drell_yan_channels, drell_yan_prior
from ..physics.pdf import PDFNotFoundError
from .physics_config import (
    FULL,
    PROCESSES,
    SETUPS,
    ZPRIME_WIDTH,
    PhysicsBenchConfig,
    PhysicsBudget,
    default_pdf_paths,
    drell_yan_zprime,
)
from .physics_rows import BufferedRow, MethodResult, PhysicsReport, SpeedupRow, WidthScanRow

__all__ = [
    "TABLES",
    "run_nisflow_case",
    "run_vegas_case",
    "compare_with_vegas",
    "speedup_rows",
    "width_scan_rows",
    "buffered_rows",
    "run_physics_bench",
]


def _build_integrator(
    process: nn.Module,
    setup: str,
    config: PhysicsBenchConfig,
    seed: int,
    device: torch.device,
    *,
    n_iter: int,
    n_points: int,
    buffered_epochs: int | None = None,
) -> Integrator | MultiChannelIntegrator:
    """A nisflow integrator for ``process``: ``buffered_epochs`` selects table 3's schedule
    (online for 1, buffered with ``buffered_epochs − 1`` reuses otherwise)."""
    if setup == "single-channel":
        if buffered_epochs is None:
            training = config.training()
        else:
            strategy = "online" if buffered_epochs == 1 else "buffered"
            training = replace(config.training(n_epochs=buffered_epochs), survey_strategy=strategy)
        return Integrator(
            process.d,
            process,
            device=device,
            n_iter_survey=n_iter,
            n_points_survey=n_points,
            seed=seed,
            verbose=False,
            training=training,
        )
    if setup == "three-channel":
        if not isinstance(process, DrellYan):
            raise ValueError(
                f"Expected a DrellYan process for the three-channel set-up; got "
                f"{type(process).__name__}."
            )
        return MultiChannelIntegrator(
            process,
            process.d,
            drell_yan_channels(process),
            channel_weights="trained",
            prior=drell_yan_prior(process),
            n_iter_survey=n_iter,
            n_points_survey=n_points,
            seed=seed,
            device=device,
            verbose=False,
            training=config.multichannel_training(n_epochs=buffered_epochs),
        )
    raise ValueError(f"Expected a set-up in {SETUPS}; got {setup!r}.")


def _finish(
    integ: Integrator | MultiChannelIntegrator,
    method: str,
    budget: PhysicsBudget,
    device: torch.device,
) -> MethodResult:
    """Survey, refine and sample ``integ``; the figures of :class:`MethodResult`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synchronize(device)
        t0 = time.perf_counter()
        integ.survey()
        synchronize(device)
        t1 = time.perf_counter()
        n_train = integ.n_evals
        n_steps = sum(int(r.n_steps or 0) for r in integ.history if r.phase == "survey")
        result = integ.refine(budget.n_iter_refine, budget.n_points_refine)
        n_refine = integ.n_evals - n_train
        _, w, _ = integ.unweighting_sample(budget.n_unweight)
    unreliable = [c for c in caught if issubclass(c.category, NisflowReliabilityWarning)]
    for c in caught:  # pass the others on
        if not issubclass(c.category, NisflowReliabilityWarning):
            warnings.warn_explicit(c.message, c.category, c.filename, c.lineno)
    estimate, error = float(result.mean), float(result.sdev)
    rvpp = n_refine * (error / estimate) ** 2 if estimate != 0 else math.nan
    return MethodResult(
        method,
        estimate,
        error,
        n_train,
        n_refine,
        rvpp,
        unweighting_efficiency(w),
        int(w.numel()),
        t1 - t0,
        n_steps,
        reliable=not unreliable,
    )


def run_nisflow_case(
    process: nn.Module,
    setup: str,
    budget: PhysicsBudget,
    seed: int = 0,
    *,
    config: PhysicsBenchConfig | None = None,
    device: torch.device | str = "cpu",
) -> MethodResult:
    """Train nisflow on ``process`` for the survey budget, then refine and sample.

    Args:
        process: an integrand on [0, 1]^d with attribute ``d`` (a :mod:`nisflow.physics`
            process).
        setup: ``"single-channel"`` (:class:`nisflow.Integrator`) or ``"three-channel"``
            (Drell-Yan's γ/Z/Z' channels, trained weights from the MG5aMC-like prior).
        budget: the evaluations.
        seed: the integrator's seed.
        config: training settings (default :data:`FULL`'s).
        device: torch device of the flows and of the integrand.

    Returns:
        The run's figures; ``method`` is ``"nisflow 1ch"`` or ``"nisflow 3ch"``.
    """
    config = config or FULL
    device = torch.device(device)
    process = process.to(device)
    integ = _build_integrator(
        process,
        setup,
        config,
        seed,
        device,
        n_iter=budget.n_iter_survey,
        n_points=budget.n_points_survey,
    )
    method = "nisflow 1ch" if setup == "single-channel" else "nisflow 3ch"
    return _finish(integ, method, budget, device)


def run_vegas_case(
    process: nn.Module, budget: PhysicsBudget, seed: int = 0, *, device: torch.device | str = "cpu"
) -> MethodResult:
    """VEGAS (default VEGAS+) on ``process`` with the same budget.

    Returns:
        The run's figures with the evaluations VEGAS really made (its batches round ``neval``).
    """
    process = process.to(torch.device(device))
    with torch.no_grad():
        rec = run_vegas(process, process.d, budget.for_vegas(), seed, device=device)
    rvpp = rec.n_evals_refine * (rec.error / rec.estimate) ** 2 if rec.estimate != 0 else math.nan
    return MethodResult(
        "VEGAS",
        float(rec.estimate),
        float(rec.error),
        int(rec.n_evals_survey),
        int(rec.n_evals_refine),
        rvpp,
        rec.unweighting_efficiency,
        int(rec.weights.numel()),
        float(rec.survey_s),
    )


def compare_with_vegas(
    process: nn.Module,
    setup: str,
    budget: PhysicsBudget,
    seed: int = 0,
    *,
    config: PhysicsBenchConfig | None = None,
    device: torch.device | str = "cpu",
    name: str = "",
    label: str = "",
) -> SpeedupRow:
    """nisflow (``setup``) and VEGAS on ``process`` at equal evaluations: one row of table 1."""
    nis = run_nisflow_case(process, setup, budget, seed, config=config, device=device)
    veg = run_vegas_case(process, budget, seed, device=device)
    name = name or type(process).__name__
    return SpeedupRow(name, label or name, setup, int(process.d), nis, veg)


def _log(log: Callable[[str], None] | None, msg: str) -> None:
    if log is not None:
        log(msg)


def speedup_rows(
    config: PhysicsBenchConfig = FULL,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    pdf_path: Sequence[str] | None = None,
    notes: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[SpeedupRow]:
    """Table 1: every ``config.cases()`` entry against VEGAS.

    Args:
        config: budget, cases and training settings.
        seed: seed of every run.
        device: nisflow's device.
        pdf_path: folders searched for the PDF set (default :func:`default_pdf_paths`).
        notes: receives a line per skipped case (a missing PDF set).
        log: called with a line per finished row.

    Returns:
        The rows in the order of ``config.cases()``.
    """
    pdf_path = default_pdf_paths() if pdf_path is None else list(pdf_path)
    rows = []
    for name, setup in config.cases():
        case = PROCESSES.get(name)
        if case is None:
            raise KeyError(f"Expected a process in {sorted(PROCESSES)}; got {name!r}.")
        if setup not in case.setups:
            raise ValueError(f"Expected a set-up of {name!r} in {case.setups}; got {setup!r}.")
        try:
            process = case.build(pdf_path)
        except PDFNotFoundError as exc:
            _note(notes, log, f"skipped {case.label} ({setup}): {exc}")
            continue
        row = compare_with_vegas(
            process,
            setup,
            config.budget,
            seed,
            config=config,
            device=device,
            name=name,
            label=case.label,
        )
        rows.append(row)
        _log(
            log,
            f"  {case.label} {setup}: nisflow {row.nisflow.estimate:.6g} ± "
            f"{row.nisflow.error:.2g}, VEGAS {row.vegas.estimate:.6g} ± {row.vegas.error:.2g}",
        )
    return rows


def _note(notes: list[str] | None, log: Callable[[str], None] | None, msg: str) -> None:
    if notes is not None:
        notes.append(msg)
    _log(log, "  note: " + msg)


def width_scan_rows(
    config: PhysicsBenchConfig = FULL,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    pdf_path: Sequence[str] | None = None,
    notes: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[WidthScanRow]:
    """Table 2: Drell-Yan with Γ_Z' = 0.5 GeV × ``config.width_factors``.

    Every width is integrated by nisflow single-channel, nisflow three-channel and VEGAS with
    ``config.budget`` each; the Z' couplings (sequential) and every other setting stay fixed.

    Returns:
        One row per factor (none when the PDF set is missing; ``notes`` then says so).
    """
    pdf_path = default_pdf_paths() if pdf_path is None else list(pdf_path)
    rows = []
    for factor in config.width_factors:
        try:
            process = drell_yan_zprime(ZPRIME_WIDTH * factor)(pdf_path)
        except PDFNotFoundError as exc:
            _note(notes, log, f"skipped the Z' width scan: {exc}")
            return rows
        width = float(process.zprime.width)
        single = run_nisflow_case(
            process, "single-channel", config.budget, seed, config=config, device=device
        )
        multi = run_nisflow_case(
            process, "three-channel", config.budget, seed, config=config, device=device
        )
        veg = run_vegas_case(process, config.budget, seed, device=device)
        rows.append(WidthScanRow(float(factor), width, single, multi, veg))
        _log(
            log,
            f"  width {width:.4g} GeV: 1ch {single.estimate:.6g} ± {single.error:.2g}, 3ch "
            f"{multi.estimate:.6g} ± {multi.error:.2g}, VEGAS {veg.estimate:.6g} ± {veg.error:.2g}",
        )
    return rows


def _buffered_run(
    process: nn.Module,
    config: PhysicsBenchConfig,
    seed: int,
    device: torch.device,
    *,
    mode: str,
    k_buff: int,
    n_iter: int,
) -> BufferedRow:
    n_epochs = k_buff + 1 if mode == "buffered" else 1
    integ = _build_integrator(
        process,
        config.buffered_setup,
        config,
        seed,
        device,
        n_iter=n_iter,
        n_points=config.buffered_points,
        buffered_epochs=n_epochs,
    )
    method = "nisflow 1ch" if config.buffered_setup == "single-channel" else "nisflow 3ch"
    result = _finish(integ, method, config.budget, device)
    return BufferedRow(config.buffered_setup, mode, k_buff, n_iter, n_epochs, result)


def buffered_rows(
    config: PhysicsBenchConfig = FULL,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    pdf_path: Sequence[str] | None = None,
    process: nn.Module | None = None,
    equal_calls_online: bool = True,
    notes: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[BufferedRow]:
    """Table 3: buffered training with ``k_buff`` reuses against online training.

    The pure online run takes ``config.buffered_iterations`` survey iterations of
    ``config.buffered_points`` points; a buffered run with ``k_buff`` takes
    ``round(buffered_iterations / (k_buff + 1))`` iterations of ``k_buff + 1`` passes each, so
    the gradient steps stay (about, exactly when divisible) the same and the integrand calls
    drop by ``k_buff + 1``. With ``equal_calls_online`` every ``k_buff > 0`` run is followed by
    an online run with its number of iterations (the same calls, fewer steps).

    Args:
        config: schedule, set-up (``config.buffered_setup``) and refine budget.
        seed: seed of every run.
        device: nisflow's device.
        pdf_path: folders searched for the PDF set.
        process: the integrand (default Drell-Yan + Z' with Γ = 0.5 GeV).
        equal_calls_online: add the online runs at equal calls.
        notes: receives a line when the PDF set is missing.
        log: called with a line per finished row.

    Returns:
        The rows in the order of ``config.k_buff`` (buffered, then its online partner).
    """
    device = torch.device(device)
    if process is None:
        pdf_path = default_pdf_paths() if pdf_path is None else list(pdf_path)
        try:
            process = drell_yan_zprime(ZPRIME_WIDTH)(pdf_path)
        except PDFNotFoundError as exc:
            _note(notes, log, f"skipped buffered training: {exc}")
            return []
    process = process.to(device)
    rows = []
    for k in config.k_buff:
        n_iter = max(1, round(config.buffered_iterations / (k + 1)))
        modes = ["buffered"] + (["online"] if equal_calls_online and k > 0 else [])
        for mode in modes:
            row = _buffered_run(process, config, seed, device, mode=mode, k_buff=k, n_iter=n_iter)
            rows.append(row)
            r = row.result
            _log(
                log,
                f"  k_buff={k} {mode}: {r.n_train} calls, {r.n_steps} steps, "
                f"rel_var/pt {r.rel_var_per_point:.3g}, unw_eff {r.unw_eff:.3g}",
            )
    return rows


TABLES = ("speedup", "width", "buffered")


def run_physics_bench(
    config: PhysicsBenchConfig = FULL,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    pdf_path: Sequence[str] | None = None,
    tables: Sequence[str] = TABLES,
    command: str = "",
    log: Callable[[str], None] | None = None,
) -> PhysicsReport:
    """Run the chosen tables and collect them in a :class:`PhysicsReport`."""
    from .throughput import machine_name

    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"Expected tables from {TABLES}; got {unknown}.")
    device = torch.device(device)
    report = PhysicsReport(machine_name(device), str(device), int(seed), config, command)
    t0 = time.perf_counter()
    common = dict(seed=seed, device=device, pdf_path=pdf_path, notes=report.notes, log=log)
    if "speedup" in tables:
        _log(log, "table 1: speed-up over VEGAS")
        report.speedup = speedup_rows(config, **common)
    if "width" in tables:
        _log(log, "table 2: Z' width scan")
        report.width_scan = width_scan_rows(config, **common)
    if "buffered" in tables:
        _log(log, "table 3: buffered training")
        report.buffered = buffered_rows(config, **common)
    report.seconds = time.perf_counter() - t0
    return report
