"""Suite C: physics benchmarks of nisflow against VEGAS at equal integrand evaluations.

Run::

    python -m nisflow.bench.physics [--quick] [--out results.txt|results.json] [--device cpu]
                                    [--seed N] [--tables speedup,width,buffered]
    nisflow bench --suite physics [--quick]

Three tables (BENCHMARKS.md Suite C; MadNIS §5), each row with ``estimate ± error`` of every
method so that a reader can check their agreement (the pull between them):

1. **Speed-up over VEGAS** (:func:`speedup_rows`) for e⁻μ⁻ → e⁻μ⁻, d d̄ → d d̄ and Drell-Yan
   with a Z' (M = 400 GeV, Γ = 0.5 GeV), single-channel, and Drell-Yan + Z' with three channels
   γ/Z/Z' (:mod:`nisflow.physics.channels`) and trained channel weights starting from the
   MG5aMC-like prior: the variance ratio ``rel_var_per_point(VEGAS) / rel_var_per_point(nisflow)``
   and the unweighting gain ``unw_eff(nisflow) / unw_eff(VEGAS)``.
2. **Z'-width scan** (:func:`width_scan_rows`, MadNIS fig. 11 right): Γ_Z' = 0.5 GeV ×
   {1e-3, 1e-2, 1e-1, 1, 10, 100}; the relative error of nisflow single-channel, nisflow
   three-channel and VEGAS at equal evaluations. The Z' couplings stay fixed, so its peak cross
   section grows as 1/Γ: at small widths the cross section is dominated by a peak of relative
   width ~1e-9 in the single-channel coordinates.
3. **Buffered training** (:func:`buffered_rows`, MadNIS fig. 13): ``k_buff = 0 … 4`` buffered
   passes after every online pass, with ``n_iter / (k_buff + 1)`` survey iterations so that
   every run takes the same number of gradient steps while calling the integrand
   ``k_buff + 1`` times less; ``k_buff = 0`` is pure online training. Each buffered run is
   paired with an online run that spends the same (reduced) number of integrand calls.
   Quality is the refine's ``rel_var_per_point`` and the unweighting efficiency.

Definitions (BENCHMARKS.md): ``rel_var_per_point = N_refine · (σ_I / I)²`` with the refine
evaluations actually made; ``unw_eff = mean(w) / max(w)`` over ``n_unweight`` weighted events
drawn after training. nisflow uses the library's default flow (rational-quadratic spline
couplings) and training (variance loss, 5 passes per batch of 2,000, lr 3e-3); the single-channel
runs use :class:`nisflow.Integrator` defaults (adaptive survey), the three-channel runs
:class:`nisflow.multichannel.MultiChannelIntegrator` with the same training settings. VEGAS is
the ``vegas`` package's default (VEGAS+), adapting for the survey budget and frozen for the
refine (:func:`nisflow.baselines.vegas.run_vegas`).

Budgets. ``--quick`` (:data:`QUICK`): survey 5 × 10,000 + refine 2 × 25,000 evaluations,
50,000 unweighting events, widths × {1e-2, 1, 100}, ``k_buff`` ∈ {0, 1, 3, 4} with 20 online
iterations of 5,000 points — a few minutes on one CPU core. Default (:data:`FULL`): survey
10 × 100,000 + refine 10 × 100,000 (BENCHMARKS.md's 10⁶ + 10⁶), 10⁶ unweighting events, all six
widths, ``k_buff`` ∈ {0, …, 4} with 60 online iterations of 20,000 points (MadNIS: 60 epochs) —
roughly 40-60 minutes on one CPU core (``bench/results/physics_cpu.txt`` holds a run at a fifth of
the budget: 7 minutes). ``--n-survey``, ``--n-refine``, ``--n-unweight``, ``--widths``,
``--k-buff`` override parts of either.

PDF processes need the NNPDF4.0 LO set ``NNPDF40_lo_as_01180``: it is looked up along
``--pdf-path``, ``$NISFLOW_SHARED/data/pdfsets``, ``../shared/data/pdfsets`` beside the checkout and
``$LHAPDF_DATA_PATH``; without it those rows are skipped with a note.

New processes (u c → u c g) join by :func:`register_process`; see :data:`PROCESSES`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from .physics_config import (
    FULL,
    PROCESSES,
    QUICK,
    SETUPS,
    WIDTH_FACTORS,
    ZPRIME_MASS,
    ZPRIME_WIDTH,
    PhysicsBenchConfig,
    PhysicsBudget,
    ProcessCase,
    default_pdf_paths,
    register_process,
)
from .physics_report import format_report
from .physics_rows import BufferedRow, MethodResult, PhysicsReport, SpeedupRow, WidthScanRow
from .physics_runs import (
    TABLES,
    buffered_rows,
    compare_with_vegas,
    run_nisflow_case,
    run_physics_bench,
    run_vegas_case,
    speedup_rows,
    width_scan_rows,
)

__all__ = [
    "PhysicsBudget",
    "PhysicsBenchConfig",
    "QUICK",
    "FULL",
    "ProcessCase",
    "PROCESSES",
    "register_process",
    "SETUPS",
    "ZPRIME_MASS",
    "ZPRIME_WIDTH",
    "WIDTH_FACTORS",
    "MethodResult",
    "SpeedupRow",
    "WidthScanRow",
    "BufferedRow",
    "PhysicsReport",
    "default_pdf_paths",
    "run_nisflow_case",
    "run_vegas_case",
    "compare_with_vegas",
    "speedup_rows",
    "width_scan_rows",
    "buffered_rows",
    "TABLES",
    "run_physics_bench",
    "format_report",
    "build_parser",
    "config_from_args",
    "main",
]


# -- command line ---------------------------------------------------------------------------


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v)


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m nisflow.bench.physics``."""
    p = argparse.ArgumentParser(
        prog="python -m nisflow.bench.physics", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="small budgets, few scan points")
    p.add_argument("--out", default=None, help="write the tables (.txt) or the rows (.json)")
    p.add_argument("--device", default="cpu", help="torch device of nisflow (cpu, cuda)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run")
    p.add_argument(
        "--tables", default=",".join(TABLES), help="comma-separated: " + ", ".join(TABLES)
    )
    p.add_argument(
        "--processes", default=None, help="table 1's processes (comma-separated PROCESSES names)"
    )
    p.add_argument("--pdf-path", default=None, help="folder(s) holding NNPDF40_lo_as_01180")
    p.add_argument("--n-survey", type=int, default=None, help="survey evaluations per run")
    p.add_argument("--n-refine", type=int, default=None, help="refine evaluations per run")
    p.add_argument("--n-unweight", type=int, default=None, help="events for unw_eff")
    p.add_argument("--widths", type=_floats, default=None, help="factors on the Z' width")
    p.add_argument("--k-buff", type=_ints, default=None, help="k_buff values, e.g. 0,1,2,3,4")
    p.add_argument("--buffered-iterations", type=int, default=None, help="online iterations")
    p.add_argument("--buffered-points", type=int, default=None, help="points per iteration")
    p.add_argument(
        "--buffered-setup", choices=SETUPS, default=None, help="set-up of the buffered table"
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    return p


def config_from_args(args: argparse.Namespace) -> PhysicsBenchConfig:
    """:data:`QUICK` or :data:`FULL` with the command line's overrides."""
    config = QUICK if args.quick else FULL
    b = config.budget
    if args.n_survey is not None:
        b = replace(b, n_points_survey=max(2, args.n_survey // b.n_iter_survey))
    if args.n_refine is not None:
        b = replace(b, n_points_refine=max(2, args.n_refine // b.n_iter_refine))
    if args.n_unweight is not None:
        b = replace(b, n_unweight=args.n_unweight)
    changes: dict[str, object] = {"budget": b}
    if args.processes is not None:
        names = [n for n in args.processes.split(",") if n]
        unknown = [n for n in names if n not in PROCESSES]
        if unknown:
            raise ValueError(f"Expected processes from {sorted(PROCESSES)}; got {unknown}.")
        changes["speedup_cases"] = tuple((n, s) for n in names for s in PROCESSES[n].setups)
    for name in ("widths", "k_buff", "buffered_iterations", "buffered_points", "buffered_setup"):
        value = getattr(args, name)
        if value is not None:
            changes["width_factors" if name == "widths" else name] = value
    return replace(config, **changes)


def main(
    argv: Sequence[str] | None = None, *, prog: str = "python -m nisflow.bench.physics"
) -> int:
    """Run the physics benchmark from the command line; print the tables; 0 on success.

    Args:
        argv: the options (default ``sys.argv[1:]``).
        prog: how the command is named in the report's header.
    """
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        config = config_from_args(args)
        tables = [t for t in args.tables.split(",") if t]
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise ValueError(f"Expected tables from {TABLES}; got {unknown}.")
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    pdf_path = None
    if args.pdf_path:
        pdf_path = args.pdf_path.split(os.pathsep) + default_pdf_paths()
    argv_list = list(argv) if argv is not None else sys.argv[1:]
    command = f"{prog} " + " ".join(argv_list)
    report = run_physics_bench(
        config,
        seed=args.seed,
        device=args.device,
        pdf_path=pdf_path,
        tables=tables,
        command=command.strip(),
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    text = format_report(report)
    print(text, flush=True)
    if args.out:
        out = Path(args.out)
        if out.suffix == ".json":
            out.write_text(json.dumps(report.to_dict(), indent=1) + "\n")
        else:
            out.write_text(text + "\n")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
