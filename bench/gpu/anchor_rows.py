"""Convert rows of the anchors harness (``../shared/anchors/run_anchors.py``) to bench rows.

``python bench/gpu/anchor_rows.py ANCHORS.jsonl --like SUITE.jsonl >> SUITE.jsonl`` appends, for
example, the ZüNIS runs made in the same call on the same machine to a ``nisflow bench`` results
file, so that the README table shows them in one row per function. Each converted row keeps
``source: anchors`` and takes the machine description and budget from ``--like``'s rows.
"""

from __future__ import annotations

import argparse
import json
import math

DIMS = {"camel2": 2, "sinusoidal2": 2, "slashed2": 2, "camel4": 4, "camel8": 8, "camel16": 16}


def convert(row: dict, like: dict) -> dict:
    """One anchors row as a bench row (figures recomputed against the bench's exact value)."""
    exact = like["exact"]
    out = {
        "function": row["function"],
        "d": DIMS[row["function"]],
        "method": row["method"],
        "seed": row["seed"],
        "device": row["device"],
        "machine": like["machine"],
        "exact": exact,
        "exact_error": like.get("exact_error", 0.0),
        "budget": like["budget"],
        "source": "anchors",
    }
    if "error_msg" in row:
        out["error_msg"] = row["error_msg"]
        return out
    err = math.hypot(row["error"], out["exact_error"])
    out.update(
        estimate=row["estimate"],
        error=row["error"],
        n_evals_survey=row["evals_train"],
        n_evals_refine=row["evals_int"],
        survey_s=row["wall_train"],
        refine_s=row["wall_int"],
        unw_eff=row["unw_eff"],
        pull=(row["estimate"] - exact) / err,
        rel_err=row["error"] / abs(exact),
        rel_var_per_point=row["evals_int"] * (row["error"] / exact) ** 2,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("anchors")
    ap.add_argument("--like", required=True, help="a nisflow bench results file of the same run")
    a = ap.parse_args()
    with open(a.like) as fh:
        like = {}
        for line in fh:
            r = json.loads(line)
            if r.get("device") != "cpu" or r["function"] not in like:
                like[r["function"]] = r
    with open(a.anchors) as fh:
        for line in fh:
            row = json.loads(line)
            print(json.dumps(convert(row, like[row["function"]])))


if __name__ == "__main__":
    main()
