"""Pulls of repeated refines of one trained flow: is a full-budget bias the refine's or the flow's?

A full-budget run gives one pull per trained flow. This script trains a flow once per
``--train-seeds`` (the ``nisflow bench`` budget: 10 × 1e5 survey points), then refines it
``--repeats`` times with fresh draws (5 × 2e5 points by default) and prints, for each variant, the
pulls' mean with its standard error, their standard deviation and the variance per point.

Variants:
- ``pilot``: the default refine, with its pilots and the sampler they choose;
- ``flow``: the flow forced (no pilots);
- ``f64``: the flow forced, its parameters cast to float64;
- ``NAME=JSON``: the flow forced, one ``SamplingConfig`` field replaced
  (``stratified=false``, ``beta=0``, ``uniform_fraction=0``).

Run ``python bench/gpu/refine_pulls.py --function camel2 --train-seeds 0,1,2 --variants
pilot,f64 --repeats 40 --device cuda --out pulls.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tempfile
import time
import warnings
from pathlib import Path

import torch

from nisflow import Integrator
from nisflow.bench.functions import get_function


def refine_pulls(
    integ_path: Path,
    f,
    exact: float,
    variant: str,
    repeats: int,
    n_iter: int,
    n_points: int,
    device: str = "cpu",
) -> dict[str, object]:
    """Refine the saved integrator ``repeats`` times under ``variant``; its pulls and variances."""
    pulls, rel_vars = [], []
    for r in range(repeats):
        integ = Integrator.load(integ_path, f, device=device, verbose=False)
        integ.refine_sampler = None if variant == "pilot" else "flow"
        if variant == "f64":
            integ.flow.to(torch.float64)
        elif "=" in variant:
            key, value = variant.split("=", 1)
            integ.sampling = dataclasses.replace(integ.sampling, **{key: json.loads(value)})
        integ.generator.manual_seed(10_000 + r)
        res = integ.refine(n_iter, n_points)
        pulls.append((res.mean - exact) / res.sdev)
        rel_vars.append(n_iter * n_points * (res.sdev / res.mean) ** 2)
    n = len(pulls)
    mean = sum(pulls) / n
    sd = math.sqrt(sum((p - mean) ** 2 for p in pulls) / (n - 1)) if n > 1 else float("nan")
    return {
        "variant": variant,
        "repeats": n,
        "mean": mean,
        "mean_error": sd / math.sqrt(n),
        "std": sd,
        "rel_var_per_point": sum(rel_vars) / n,
        "pulls": pulls,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--function", default="camel2")
    ap.add_argument("--train-seeds", default="0")
    ap.add_argument("--variants", default="pilot")
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--survey-points", type=int, default=100_000, help="per survey iteration (10)")
    ap.add_argument("--refine-iters", type=int, default=5)
    ap.add_argument("--refine-points", type=int, default=200_000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    bf = get_function(args.function)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.train_seeds.split(",")):
            integ = Integrator(
                bf.d,
                bf.f,
                device=args.device,
                n_iter_survey=10,
                n_points_survey=args.survey_points,
                seed=seed,
                verbose=False,
            )
            t0 = time.perf_counter()
            integ.survey()
            survey_s = time.perf_counter() - t0
            path = Path(tmp) / f"{args.function}_{seed}.pt"
            integ.save(path)
            # the pull the bench would print: this flow's refine, drawing on from the survey
            first = integ.refine(args.refine_iters, args.refine_points)
            bench_pull = (first.mean - bf.exact) / first.sdev
            print(
                f"{args.function} flow {seed}: survey {survey_s:.1f} s, bench pull "
                f"{bench_pull:+.2f}",
                flush=True,
            )
            for variant in args.variants.split(","):
                row = refine_pulls(
                    path,
                    bf.f,
                    bf.exact,
                    variant,
                    args.repeats,
                    args.refine_iters,
                    args.refine_points,
                    args.device,
                )
                row.update(
                    function=args.function,
                    train_seed=seed,
                    device=args.device,
                    survey_s=survey_s,
                    bench_pull=bench_pull,
                )
                rows.append(row)
                print(
                    f"{args.function} flow {seed} {variant:20s} pull mean {row['mean']:+.2f} "
                    f"± {row['mean_error']:.2f}  std {row['std']:.2f}  "
                    f"rel_var {row['rel_var_per_point']:.3g}",
                    flush=True,
                )
                if args.out:
                    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
