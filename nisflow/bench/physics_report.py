"""Text tables of the physics benchmark (:mod:`nisflow.bench.physics`): the one printing layer.

Every function takes rows and returns a string; nothing here runs an integrand. Estimates print
as ``value ± error`` with two significant digits of the error, followed by ``!`` when nisflow's
diagnostics warned that the error may not be reliable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .physics_rows import BufferedRow, MethodResult, PhysicsReport, SpeedupRow, WidthScanRow

__all__ = [
    "format_value_error",
    "format_speedup",
    "format_width_scan",
    "format_buffered",
    "format_report",
]


def format_value_error(value: float, error: float) -> str:
    """``value ± error`` rounded to two significant digits of ``error``."""
    if not (math.isfinite(value) and math.isfinite(error)) or error <= 0:
        return f"{value:.6g} ± {error:.2g}"
    decimals = max(0, 1 - math.floor(math.log10(error)))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"


def _est(r: MethodResult) -> str:
    return format_value_error(r.estimate, r.error) + ("" if r.reliable else " !")


def _g(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}g}" if math.isfinite(v) else "nan"


def _pull(v: float) -> str:
    return f"{v:+.2f}" if math.isfinite(v) else "nan"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def format_speedup(rows: Sequence[SpeedupRow]) -> str:
    """Table 1: estimates, pull, ``rel_var_per_point`` and ``unw_eff`` of nisflow and VEGAS."""
    header = [
        "process",
        "nisflow",
        "nisflow σ [pb]",
        "VEGAS σ [pb]",
        "pull",
        "rel_var/pt nisflow",
        "rel_var/pt VEGAS",
        "speed-up",
        "unw_eff nisflow",
        "unw_eff VEGAS",
        "unw gain",
        "train s nisflow/VEGAS",
    ]
    body = [
        [
            r.label,
            r.setup,
            _est(r.nisflow),
            _est(r.vegas),
            _pull(r.pull),
            _g(r.nisflow.rel_var_per_point),
            _g(r.vegas.rel_var_per_point),
            _g(r.variance_ratio),
            _g(r.nisflow.unw_eff),
            _g(r.vegas.unw_eff),
            _g(r.unweighting_gain),
            f"{r.nisflow.train_s:.1f} / {r.vegas.train_s:.1f}",
        ]
        for r in rows
    ]
    return _table(header, body)


def format_width_scan(rows: Sequence[WidthScanRow]) -> str:
    """Table 2: per Z' width, the three methods' estimates, relative errors and pulls."""
    header = [
        "Γ_Z' [GeV]",
        "nisflow 1ch σ [pb]",
        "nisflow 3ch σ [pb]",
        "VEGAS σ [pb]",
        "rel. error 1ch / 3ch / VEGAS",
        "rel_var/pt 1ch / 3ch / VEGAS",
        "pull 1ch−3ch",
        "pull VEGAS−3ch",
    ]
    body = []
    for r in rows:
        methods = (r.single, r.multi, r.vegas)
        body.append(
            [
                f"{r.width:.4g}",
                _est(r.single),
                _est(r.multi),
                _est(r.vegas),
                " / ".join(f"{100 * m.rel_error:.2g}%" for m in methods),
                " / ".join(_g(m.rel_var_per_point) for m in methods),
                _pull(r.single.pull(r.multi)),
                _pull(r.vegas.pull(r.multi)),
            ]
        )
    return _table(header, body)


def format_buffered(rows: Sequence[BufferedRow]) -> str:
    """Table 3: calls and steps of every schedule with the quality it reached."""
    reference = next((r.result for r in rows if r.mode == "buffered" and r.k_buff == 0), None)
    header = [
        "schedule",
        "k_buff",
        "iterations × passes",
        "gradient steps",
        "training calls",
        "calls / online",
        "σ [pb]",
        "pull vs k_buff=0",
        "rel_var/pt",
        "unw_eff",
        "train s",
    ]
    body = []
    for r in rows:
        res = r.result
        if reference is None:
            pull = "nan"
        else:
            pull = "ref" if res is reference else _pull(res.pull(reference))
        ratio = res.n_train / reference.n_train if reference is not None else math.nan
        body.append(
            [
                r.mode,
                str(r.k_buff),
                f"{r.n_iter} × {r.n_epochs}",
                str(res.n_steps),
                f"{res.n_train:,}",
                _g(ratio),
                _est(res),
                pull,
                _g(res.rel_var_per_point),
                _g(res.unw_eff),
                f"{res.train_s:.1f}",
            ]
        )
    return _table(header, body)


def format_report(report: PhysicsReport) -> str:
    """The whole run: header (machine, settings, budget) and the tables that were run."""
    c, b = report.config, report.config.budget
    threads = torch.get_num_threads()
    lines = [
        "nisflow physics benchmarks (BENCHMARKS.md Suite C)",
        f"command: {report.command}" if report.command else "",
        f"machine: {report.machine}; nisflow on {report.device} ({threads} torch thread"
        f"{'s' if threads != 1 else ''}), VEGAS on the CPU; torch {torch.__version__}; "
        f"seed {report.seed}; {report.seconds:.0f} s in total",
        f"budget per run: survey {b.n_iter_survey} × {b.n_points_survey:,} + refine "
        f"{b.n_iter_refine} × {b.n_points_refine:,} evaluations; unw_eff over {b.n_unweight:,} "
        f"weighted events; nisflow: rational-quadratic spline flows, variance loss, "
        f"{c.n_epochs} passes per batch of {c.batch_size:,}, lr {c.lr:g}",
        "rel_var/pt = N_refine (σ/σ_est)²; speed-up = rel_var/pt VEGAS / rel_var/pt nisflow; "
        "unw gain = unw_eff nisflow / unw_eff VEGAS; pull = difference / combined error; "
        "'!' = nisflow's diagnostics flag the error bar; a speed-up means something only where "
        "|pull| is small (a run that misses a narrow peak reports a small error)",
    ]
    lines = [ln for ln in lines if ln]
    if report.speedup:
        lines += [
            "",
            "1. Speed-up over VEGAS at equal integrand evaluations "
            "(1ch: nisflow.Integrator on the process's cube; 3ch: γ/Z/Z' channels, "
            "trained channel weights from the MG5aMC-like prior)",
            "",
            format_speedup(report.speedup),
        ]
    if report.width_scan:
        lines += [
            "",
            "2. Z' width scan (MadNIS fig. 11 right): M_Z' = 400 GeV, fixed couplings, "
            "equal evaluations per method",
            "",
            format_width_scan(report.width_scan),
        ]
    if report.buffered:
        setup = report.buffered[0].setup
        lines += [
            "",
            f"3. Buffered training (MadNIS fig. 13), Drell-Yan + Z' (Γ = 0.5 GeV), {setup}: "
            f"{c.buffered_points:,} calls per iteration; 'buffered' with k_buff reuses takes "
            f"the steps of {c.buffered_iterations} online iterations with (k_buff + 1)× fewer "
            "calls; 'online' spends the same calls as the buffered row above it; refine as above",
            "",
            format_buffered(report.buffered),
        ]
    if report.notes:
        lines += ["", "notes:", *("  " + n for n in report.notes)]
    return "\n".join(lines)
