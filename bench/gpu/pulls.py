"""Pulls of the default Integrator (on a GPU: CUDA graphs in the survey): are error bars honest?

``python bench/gpu/pulls.py [--seeds 150] [--first-seed 0] [--functions camel2,camel4]
[--device cuda]``: Suite A functions at a small budget (5 x 2e4 + 5 x 2e4), one seed per run;
prints the mean and standard deviation of (estimate - exact) / error and the share beyond 3.
With ``--out``, the file is rewritten after every seed (``"complete": false`` until the last), so
a run that is stopped keeps the seeds it finished.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from nisflow import Integrator
from nisflow.bench.functions import get_function


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=150)
    ap.add_argument("--functions", default="camel2,camel4")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = []
    for name in a.functions.split(","):
        fn = get_function(name)
        pulls = []
        t = time.perf_counter()
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            integ = Integrator(
                fn.d,
                fn.f,
                device=a.device,
                seed=seed,
                verbose=False,
                n_iter_survey=5,
                n_points_survey=20_000,
                n_iter_refine=5,
                n_points_refine=20_000,
            )
            r = integ.integrate()
            pulls.append((r.mean - fn.exact) / r.sdev)
            row = _summary(name, a, pulls, integ, time.perf_counter() - t)
            if a.out:
                with open(a.out, "w") as fh:
                    json.dump(rows + [row], fh)
        rows.append(row)
        print(json.dumps(row))
        print(
            f"{name}: pull mean {row['mean']:+.3f} (+- {1 / math.sqrt(len(pulls)):.3f}), "
            f"std {row['std']:.3f}, |pull|>3: {row['beyond3']:.3f}",
            flush=True,
        )


def _summary(
    name: str, a: argparse.Namespace, pulls: list[float], integ: Integrator, seconds: float
) -> dict:
    """One function's row from the pulls measured so far (``complete`` once all seeds ran)."""
    p = torch.tensor(pulls, dtype=torch.float64)
    return dict(
        function=name,
        seeds=len(pulls),
        first_seed=a.first_seed,
        device=a.device,
        complete=len(pulls) == a.seeds,
        pulls=pulls,
        mean=float(p.mean()),
        std=float(p.std()) if len(pulls) > 1 else float("nan"),
        beyond3=float((p.abs() > 3).double().mean()),
        graphs=integ.trainer._graph is not None,
        seconds_per_run=seconds / len(pulls),
    )


if __name__ == "__main__":
    main()
