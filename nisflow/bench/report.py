"""Benchmark reports: JSON lines in and out, and markdown tables.

Rows are the dictionaries of :func:`nisflow.bench.runner.run_one`. Several seeds of the same
(function, method) are aggregated: figures are averaged, and the pulls' mean and standard
deviation are shown (honest errors give pulls that look like N(0, 1)).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["read_rows", "write_rows", "aggregate", "markdown_table", "format_number"]

_FIGURES = (
    "estimate",
    "error",
    "rel_var_per_point",
    "unw_eff",
    "survey_s",
    "refine_s",
    "events_per_s",
    "chi2_dof",
)


def read_rows(path: str | Path) -> list[dict]:
    """Read a JSON-lines results file (blank lines ignored)."""
    rows = []
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"Expected one JSON object per line in {path}; line {i}: {exc}"
                ) from None
    return rows


def write_rows(rows: Iterable[dict], path: str | Path, *, append: bool = False) -> None:
    """Write rows as JSON lines."""
    with open(path, "a" if append else "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def aggregate(rows: Iterable[dict]) -> list[dict]:
    """Aggregate rows over seeds, per (function, method), keeping first-seen order.

    Returns:
        One dict per (function, method) with ``function``, ``d``, ``method``, ``n_seeds``,
        ``n_failed``, the mean of every figure, ``exact``, ``pull_mean``, ``pull_std``,
        ``machine`` and ``device``.
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["function"], row["method"]), []).append(row)
    out = []
    for (function, method), group in groups.items():
        ok = [r for r in group if "error_msg" not in r]
        agg: dict = {
            "function": function,
            "d": group[0].get("d"),
            "method": method,
            "n_seeds": len(group),
            "n_failed": len(group) - len(ok),
            "exact": group[0].get("exact"),
            "machine": group[0].get("machine", ""),
            "device": group[0].get("device", ""),
        }
        if not ok:
            agg["error_msg"] = group[0].get("error_msg", "")
        for key in _FIGURES:
            agg[key] = _mean([r.get(key, math.nan) for r in ok])
        pulls = [r["pull"] for r in ok if math.isfinite(r.get("pull", math.nan))]
        agg["pull_mean"] = _mean(pulls)
        agg["pull_std"] = (
            math.sqrt(sum((p - agg["pull_mean"]) ** 2 for p in pulls) / (len(pulls) - 1))
            if len(pulls) > 1
            else math.nan
        )
        out.append(agg)
    return out


def format_number(x: float | None, digits: int = 3) -> str:
    """Compact number: ``digits`` significant digits, ``-`` for missing or nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "inf"
    if abs(x) >= 1e5 or abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def markdown_table(rows: Iterable[dict], *, title: str | None = None) -> str:
    """Markdown report: a compact table as in BENCHMARKS.md and a detailed one.

    The compact table has one row per function and one column per method; a cell reads
    ``rel_var_per_point / unw_eff / survey_s`` and the lowest ``rel_var_per_point`` of a row is in
    bold. The detailed table lists every (function, method) with estimate, error, exact, pull,
    figures and the number of seeds.
    """
    aggs = aggregate(rows)
    if not aggs:
        return "(no results)\n"
    functions = list(dict.fromkeys(a["function"] for a in aggs))
    methods = list(dict.fromkeys(a["method"] for a in aggs))
    by_key = {(a["function"], a["method"]): a for a in aggs}

    lines = []
    if title:
        lines += [f"## {title}", ""]
    machines = sorted({f"{a['machine']} [{a['device']}]" for a in aggs if a["machine"]})
    if machines:
        lines += ["Machine: " + "; ".join(machines), ""]
    lines += ["Cells: rel_var_per_point / unw_eff / survey_s (lower, higher, lower is better).", ""]
    lines.append("| function | " + " | ".join(methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for fn in functions:
        cells = []
        rvpps = [
            by_key[(fn, m)]["rel_var_per_point"]
            for m in methods
            if (fn, m) in by_key and math.isfinite(by_key[(fn, m)]["rel_var_per_point"])
        ]
        best = min(rvpps) if rvpps else math.nan
        for m in methods:
            a = by_key.get((fn, m))
            if a is None:
                cells.append("")
            elif "error_msg" in a:
                cells.append("failed")
            else:
                rv = format_number(a["rel_var_per_point"])
                if a["rel_var_per_point"] == best and len(rvpps) > 1:
                    rv = f"**{rv}**"
                cells.append(
                    f"{rv} / {format_number(a['unw_eff'])} / {format_number(a['survey_s'], 2)}"
                )
        lines.append(f"| {fn} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "| function | method | estimate | error | exact | pull (mean ± std) | rel_var_per_point "
        "| unw_eff | survey_s | refine_s | events/s | chi2/dof | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in aggs:
        if "error_msg" in a:
            lines.append(
                f"| {a['function']} | {a['method']} | failed: {a['error_msg'][:80]} "
                + "| " * 10
                + f"| {a['n_seeds']} |"
            )
            continue
        pull = format_number(a["pull_mean"], 2)
        if math.isfinite(a["pull_std"]):
            pull += f" ± {format_number(a['pull_std'], 2)}"
        lines.append(
            f"| {a['function']} | {a['method']} | {a['estimate']:.6g} | {format_number(a['error'], 2)}"
            f" | {a['exact']:.6g} | {pull} | {format_number(a['rel_var_per_point'])}"
            f" | {format_number(a['unw_eff'])} | {format_number(a['survey_s'], 2)}"
            f" | {format_number(a['refine_s'], 2)} | {format_number(a['events_per_s'], 2)}"
            f" | {format_number(a['chi2_dof'], 2)} | {a['n_seeds'] - a['n_failed']} |"
        )
    return "\n".join(lines) + "\n"
