"""Suite A with the Integrator's default settings: one row per function.

Prints, per function of BENCHMARKS.md Suite A: the estimate and its error, the reference value,
the pull, ``rel_var_per_point = N_refine (σ/I)²``, the unweighting efficiency
``mean(w)/max(w)`` over a fresh weighted sample, and the survey wall time. The budget is the
number of integrand evaluations of each phase, split over the default iteration counts::

    python -m nisflow.bench.suite_a_default --budget 2e5
    python -m nisflow.bench.suite_a_default --budget 1e6 --device cuda --functions camel2 camel4
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..integrator import Integrator
from .functions import SUITE_A, get_function

__all__ = ["SuiteARow", "run_function", "main"]


@dataclass(frozen=True)
class SuiteARow:
    """One function's figures."""

    name: str
    mean: float
    sdev: float
    exact: float
    pull: float
    rel_var_per_point: float
    unw_eff: float
    train_s: float
    n_refine: int


def run_function(
    name: str,
    budget: int,
    *,
    seed: int = 0,
    device: str = "cpu",
    n_unweighting: int | None = None,
) -> SuiteARow:
    """Integrate one Suite A function with the default settings at ``budget`` evaluations/phase.

    Args:
        name: a Suite A name, e.g. ``"camel4"``.
        budget: integrand evaluations in the survey and again in the refine phase.
        seed: the integrator's seed.
        device: the torch device.
        n_unweighting: size of the sample for the unweighting efficiency (default ``budget``).
    """
    bench = get_function(name)
    probe = Integrator(bench.d, bench.f, device=device, verbose=False)
    n_survey = max(2, budget // max(probe.n_iter_survey, 1))
    n_refine = max(2, budget // probe.n_iter_refine)
    integrator = Integrator(
        bench.d,
        bench.f,
        device=device,
        seed=seed,
        n_points_survey=n_survey,
        n_points_refine=n_refine,
        verbose=False,
    )
    t0 = time.perf_counter()
    integrator.survey()
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t0
    result = integrator.refine()
    n_ref = n_refine * integrator.n_iter_refine
    _, w, _ = integrator.unweighting_sample(n_unweighting or budget)
    unw_eff = float(w.mean() / w.max()) if float(w.max()) > 0 else 0.0
    pull = (result.mean - bench.exact) / math.hypot(result.sdev, bench.exact_error)
    rel_var = n_ref * (result.sdev / result.mean) ** 2 if result.mean else math.inf
    return SuiteARow(
        name, result.mean, result.sdev, bench.exact, pull, rel_var, unw_eff, train_s, n_ref
    )


def main(argv: Sequence[str] | None = None) -> list[SuiteARow]:
    """Command-line entry: run the suite and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=2e5,
        help="integrand evaluations per phase (survey, and refine)",
    )
    parser.add_argument("--functions", nargs="*", default=list(SUITE_A))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    budget = int(args.budget)
    print(
        f"Suite A, Integrator defaults, budget {budget} + {budget} evaluations, "
        f"seed {args.seed}, device {args.device}"
    )
    header = (
        f"{'function':<12} {'estimate':>12} {'error':>10} {'exact':>12} {'pull':>6} "
        f"{'rel_var/pt':>11} {'unw_eff':>8} {'train_s':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.functions:
        row = run_function(name, budget, seed=args.seed, device=args.device)
        rows.append(row)
        print(
            f"{row.name:<12} {row.mean:>12.6g} {row.sdev:>10.3g} {row.exact:>12.6g} "
            f"{row.pull:>6.2f} {row.rel_var_per_point:>11.4g} {row.unw_eff:>8.4f} "
            f"{row.train_s:>8.1f}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
