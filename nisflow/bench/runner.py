"""The benchmark runner: every method on every function with the same evaluation budget.

A method is a callable ``run(f, d, budget, seed, *, device, n_keep_points) -> RunRecord``
(see :mod:`nisflow.baselines.record`). :data:`METHODS` maps names to them; MadNIS is run only when
the ``madnis`` package is importable. :func:`run_benchmark` produces one JSON-ready row per
(function, method, seed) with the figures of BENCHMARKS.md.
"""

from __future__ import annotations

import importlib.util
import json
import math
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from nisflow.baselines.record import Budget, RunRecord
from nisflow.baselines.uniform import run_uniform, synchronize
from nisflow.baselines.vegas import run_vegas
from nisflow.bench.functions import SUITE_A, BenchFunction, get_function

__all__ = [
    "Method",
    "METHODS",
    "FULL_BUDGET",
    "QUICK_BUDGET",
    "QUICK_FUNCTIONS",
    "BenchResult",
    "run_nisflow",
    "run_madnis",
    "method_unavailable_reason",
    "machine_description",
    "run_one",
    "run_benchmark",
]

#: BENCHMARKS.md's budget: 10^6 survey + 10^6 refine evaluations, 10^6 events for unweighting.
FULL_BUDGET = Budget(1_000_000, 1_000_000, 10, 10, 1_000_000)
#: A budget for CI (``nisflow bench --quick``).
QUICK_BUDGET = Budget(50_000, 50_000, 5, 2, 50_000)
#: Functions of ``--quick``.
QUICK_FUNCTIONS: tuple[str, ...] = SUITE_A


class Method(Protocol):
    """What :data:`METHODS` holds."""

    def __call__(
        self,
        f: Callable[[Tensor], Tensor],
        d: int,
        budget: Budget,
        seed: int = 0,
        *,
        device: torch.device | str = "cpu",
        n_keep_points: int = 0,
    ) -> RunRecord: ...


def _timed(device: torch.device) -> float:
    synchronize(device)
    return time.perf_counter()


def run_nisflow(
    f: Callable[[Tensor], Tensor],
    d: int,
    budget: Budget,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    n_keep_points: int = 0,
    **options: object,
) -> RunRecord:
    """Run :class:`nisflow.Integrator` with its defaults on the budget.

    Args:
        f: integrand, ``f(x: Tensor[n, d]) -> Tensor[n]``.
        d: dimension.
        budget: survey/refine evaluations and iterations; ``n_unweight`` weighted points are then
            drawn by :meth:`~nisflow.Integrator.unweighting_sample` (what ``unweight`` uses).
        seed: the integrator's seed.
        device: torch device of the flow and of the integrand evaluation.
        n_keep_points: how many sampled points to keep in ``record.points``.
        **options: extra keyword arguments for ``Integrator`` (``loss=``, ``flow=``, ...).
    """
    from nisflow.integrator import Integrator

    device = torch.device(device)
    integ = Integrator(
        d,
        f,
        device=device,
        n_iter_survey=budget.n_iter_survey,
        n_iter_refine=budget.n_iter_refine,
        n_points_survey=max(1, budget.n_survey // budget.n_iter_survey),
        n_points_refine=budget.n_refine // budget.n_iter_refine,
        seed=seed,
        verbose=False,
        **options,
    )
    t0 = _timed(device)
    survey = integ.survey()
    t1 = _timed(device)
    result = integ.refine()
    t2 = _timed(device)
    # the points unweight() keeps or rejects: unw_eff is the efficiency of hit-or-miss on them
    x, w, _ = (
        integ.unweighting_sample(budget.n_unweight) if budget.n_unweight > 0 else (None, None, None)
    )
    t3 = _timed(device)
    refine = [r for r in result.history if r.phase == "refine"]
    return RunRecord(
        method="nisflow",
        estimate=float(result.mean),
        error=float(result.sdev),
        n_evals_survey=sum(int(r.n_evals) for r in survey),
        n_evals_refine=sum(int(r.n_evals) for r in refine),
        survey_s=t1 - t0,
        refine_s=t2 - t1,
        weights=(w.detach().to("cpu", torch.float64) if w is not None else torch.zeros(0)),
        sample_s=t3 - t2,
        chi2_dof=float(result.chi2_dof),
        history=_survey_history(survey),
        points=(x[:n_keep_points].detach().cpu() if x is not None and n_keep_points else None),
    )


def _survey_history(iterations: Sequence[object]) -> list[tuple[int, float]]:
    """``[(cumulative evaluations, n * variance / value^2)]`` of survey iterations."""
    out: list[tuple[int, float]] = []
    total = 0
    for it in iterations:
        n = int(it.n_evals)
        total += n
        value, variance = float(it.value), float(it.variance)
        out.append((total, n * variance / value**2 if value != 0 else math.nan))
    return out


def run_madnis(
    f: Callable[[Tensor], Tensor],
    d: int,
    budget: Budget,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    n_keep_points: int = 0,
    batch_size: int = 1024,
) -> RunRecord:
    """Run MadNIS 1.0 (``madnis.integrator.Integrator``) with its defaults on the budget.

    MadNIS trains online on batches of ``batch_size``; ``n_survey // batch_size`` steps spend the
    survey budget. It draws from torch's global generator: this function seeds it inside
    ``torch.random.fork_rng`` so the caller's global state is left unchanged.
    """
    from madnis.integrator import Integrator as MadnisIntegrator

    device = torch.device(device)
    steps = max(1, budget.n_survey // batch_size)
    per_iter = max(1, steps // budget.n_iter_survey)
    fork_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(int(seed))
        integ = MadnisIntegrator(f, dims=d, device=device, batch_size=batch_size)
        history: list[tuple[int, float]] = []

        def record(status: object) -> None:
            step = int(status.step) + 1
            if step % per_iter == 0:
                means, variances, _ = integ.integration_history
                i = (integ.integration_history.store_index - 1) % means.shape[0]
                mean, var = float(means[i].sum()), float(variances[i].sum())
                history.append((step * batch_size, var / mean**2 if mean != 0 else math.nan))

        t0 = _timed(device)
        integ.train(steps, callback=record)
        t1 = _timed(device)
        estimate, error = integ.integrate(budget.n_refine)
        t2 = _timed(device)
        batch = integ.sample(budget.n_unweight) if budget.n_unweight > 0 else None
        t3 = _timed(device)
    weights = batch.weights.detach().to("cpu", torch.float64) if batch else torch.zeros(0)
    points = batch.x[:n_keep_points].detach().cpu() if batch is not None and n_keep_points else None
    return RunRecord(
        method="madnis",
        estimate=float(estimate),
        error=float(error),
        n_evals_survey=steps * batch_size,
        n_evals_refine=budget.n_refine,
        survey_s=t1 - t0,
        refine_s=t2 - t1,
        weights=weights,
        sample_s=t3 - t2,
        history=history,
        points=points,
    )


METHODS: dict[str, Method] = {
    "nisflow": run_nisflow,
    "uniform": run_uniform,
    "vegas": run_vegas,
    "madnis": run_madnis,
}


def method_unavailable_reason(name: str) -> str | None:
    """Why a method cannot run here (a missing package), or None when it can."""
    if name not in METHODS:
        return f"Expected a method in {sorted(METHODS)}; got {name!r}"
    module = {"madnis": "madnis", "vegas": "vegas", "nisflow": "nisflow.integrator"}.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return f"{name} skipped: the module {module!r} is not installed"
    return None


def machine_description(device: torch.device | str) -> str:
    """A one-line description of the machine a run used (CPU model, GPU name, torch version)."""
    device = torch.device(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    desc = f"{cpu} ({os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads)"
    if device.type == "cuda":
        desc = f"{torch.cuda.get_device_name(device)}; host {desc}"
    return desc


class BenchResult:
    """One (function, method, seed) outcome: a JSON-ready ``row`` and the full ``record``.

    Attributes:
        row: plain-JSON figures (see :func:`run_one`).
        record: the method's :class:`RunRecord` (None when the method failed).
        function: the :class:`BenchFunction` that was integrated.
    """

    def __init__(self, row: dict, record: RunRecord | None, function: BenchFunction) -> None:
        self.row = row
        self.record = record
        self.function = function


def run_one(
    function: BenchFunction,
    method: str,
    budget: Budget,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    n_keep_points: int = 0,
    machine: str | None = None,
) -> BenchResult:
    """Run one method on one function and compute the benchmark figures.

    The row holds: function, d, method, seed, device, machine, exact, exact_error, estimate, error,
    pull = (estimate - exact) / sqrt(error^2 + exact_error^2), rel_err,
    rel_var_per_point = n_evals_refine * (error / exact)^2, unw_eff, survey_s, refine_s,
    events_per_s, chi2_dof, n_evals_survey, n_evals_refine, n_unweight, history and the budget.
    A method that raises gives a row with ``error_msg`` instead of the figures.
    """
    device = torch.device(device)
    run_device = device if method != "vegas" else torch.device("cpu")
    row: dict = {
        "function": function.name,
        "d": function.d,
        "method": method,
        "seed": int(seed),
        "device": str(run_device),
        "machine": machine if machine is not None else machine_description(run_device),
        "exact": function.exact,
        "exact_error": function.exact_error,
        "budget": asdict(budget),
    }
    try:
        record = METHODS[method](
            function.f, function.d, budget, seed, device=run_device, n_keep_points=n_keep_points
        )
    except Exception as exc:  # a failing method must not stop the suite; the row says why
        row["error_msg"] = f"{type(exc).__name__}: {exc}"[:500]
        return BenchResult(row, None, function)
    row.update(record.summary())
    err = math.hypot(record.error, function.exact_error)
    row["pull"] = (record.estimate - function.exact) / err if err > 0 else math.nan
    row["rel_err"] = record.error / abs(function.exact)
    row["rel_var_per_point"] = record.n_evals_refine * (record.error / function.exact) ** 2
    return BenchResult(row, record, function)


def run_benchmark(
    functions: Sequence[str] = SUITE_A,
    methods: Sequence[str] = ("nisflow", "uniform", "vegas"),
    *,
    seeds: Iterable[int] = (0,),
    budget: Budget = FULL_BUDGET,
    device: torch.device | str = "cpu",
    out: str | Path | None = None,
    n_keep_points: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Run every method on every function for every seed.

    Args:
        functions: names accepted by :func:`nisflow.bench.functions.get_function`.
        methods: names in :data:`METHODS`; unavailable ones are skipped with a note to ``log``.
        seeds: seeds to run.
        budget: the shared evaluation budget.
        device: torch device (VEGAS always adapts on the CPU).
        out: if given, each row is appended to this JSON-lines file as soon as it is done.
        n_keep_points: sampled points kept per 2D run for density plots.
        log: called with one line per finished run and per skipped method.

    Returns:
        The results in run order.
    """
    log = log or (lambda _msg: None)
    device = torch.device(device)
    runnable = []
    for m in methods:
        reason = method_unavailable_reason(m)
        if reason is None:
            runnable.append(m)
        else:
            log(f"note: {reason}")
    machine = machine_description(device)
    results = []
    seeds = list(seeds)
    for name in functions:
        function = get_function(name)
        keep = n_keep_points if function.d == 2 else 0
        for m in runnable:
            for seed in seeds:
                res = run_one(
                    function, m, budget, seed, device=device, n_keep_points=keep, machine=machine
                )
                results.append(res)
                log(_one_line(res.row))
                if out is not None:
                    with open(out, "a") as fh:
                        fh.write(json.dumps(res.row) + "\n")
    return results


def _one_line(row: dict) -> str:
    head = f"{row['function']:<12} {row['method']:<8} seed {row['seed']}"
    if "error_msg" in row:
        return f"{head}  FAILED: {row['error_msg']}"
    return (
        f"{head}  I = {row['estimate']:.6g} +- {row['error']:.2g} (exact {row['exact']:.6g}, "
        f"pull {row['pull']:+.2f})  rel_var/pt {row['rel_var_per_point']:.3g}  "
        f"unw_eff {row['unw_eff']:.3g}  survey {row['survey_s']:.2f}s  refine {row['refine_s']:.2f}s"
    )
