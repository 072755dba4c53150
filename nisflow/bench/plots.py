"""Benchmark plots (matplotlib, the ``plots`` extra): PNG files a person can read.

- :func:`plot_variance_history`: relative variance per point against integrand evaluations, from
  each method's survey history; the refine figure is a marker at the end of the survey, and
  methods without a survey (uniform) are a dashed horizontal line.
- :func:`plot_density_2d`: for a 2D function, the normalised target ``f / I`` next to a
  histogram of the points each method samples from its trained density.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor

from nisflow.bench.functions import BenchFunction

__all__ = [
    "require_matplotlib",
    "plot_variance_history",
    "plot_density_2d",
    "plot_results",
    "plot_rows",
]


def require_matplotlib() -> ModuleType:
    """Import matplotlib with the file-only Agg backend, or say how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "Expected the optional package matplotlib for plots "
            f"(install it with: pip install 'nisflow[plots]'); got: {exc}"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_variance_history(rows: Sequence[dict], function: str, path: str | Path) -> Path:
    """Relative variance per point versus evaluations for one function.

    Args:
        rows: benchmark rows (:func:`nisflow.bench.runner.run_one`); those of ``function`` are used,
            every seed drawn as its own line.
        function: function name.
        path: PNG file to write.
    """
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    colors: dict[str, str] = {}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    max_x = 1
    min_x = math.inf
    for row in rows:
        if row.get("function") != function or "error_msg" in row:
            continue
        method = row["method"]
        color = colors.setdefault(method, cycle[len(colors) % len(cycle)])
        label = method if method not in {t.get_label() for t in ax.get_lines()} else None
        hist = [(n, v) for n, v in row.get("history", []) if v is not None and math.isfinite(v)]
        if hist:
            xs, ys = zip(*hist, strict=True)
            ax.plot(xs, ys, "o-", color=color, label=label, ms=3, lw=1.2)
            max_x = max(max_x, max(xs))
            min_x = min(min_x, min(xs))
            ax.plot(
                [row["n_evals_survey"]],
                [row["rel_var_per_point"]],
                "*",
                color=color,
                ms=12,
                label=None,
            )
        else:
            ax.axhline(row["rel_var_per_point"], color=color, ls="--", lw=1.2, label=label)
        max_x = max(max_x, row.get("n_evals_survey", 1))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(left=min_x / 2 if math.isfinite(min_x) else 1, right=max_x * 1.5)
    ax.set_xlabel("integrand evaluations spent in the survey")
    ax.set_ylabel(r"rel. variance per point  $N\,(\sigma/I)^2$")
    ax.set_title(f"{function}: survey history (lines), refine result (stars), uniform (dashed)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_density_2d(
    function: BenchFunction,
    samples: Mapping[str, Tensor],
    path: str | Path,
    *,
    bins: int = 60,
) -> Path:
    """Target density next to the sampled densities, for a 2D function.

    Args:
        function: a 2D :class:`BenchFunction`.
        samples: method name -> sampled points, shape ``(m, 2)``.
        path: PNG file to write.
        bins: histogram bins per axis.
    """
    if function.d != 2:
        raise ValueError(f"Expected a 2D function; got {function.name} with d={function.d}.")
    plt = require_matplotlib()
    import numpy as np

    grid = (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
    gx, gy = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)
    target = (function.f(pts) / function.exact).reshape(bins, bins).numpy()
    vmax = float(target.max())
    panels = [("target f / I", target)]
    for method, x in samples.items():
        x = x.detach().to("cpu", torch.float64).numpy()
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[0, 1], [0, 1]])
        density = h / max(len(x), 1) * bins * bins
        panels.append((f"{method} samples ({len(x)})", density))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.8, 3.6), dpi=110)
    axes = np.atleast_1d(axes)
    image = None
    for i, (ax, (title, img)) in enumerate(zip(axes, panels, strict=True)):
        image = ax.imshow(
            img.T, origin="lower", extent=(0, 1, 0, 1), vmin=0, vmax=vmax, cmap="viridis"
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("$x_1$")
        if i == 0:
            ax.set_ylabel("$x_2$")
        else:
            ax.set_yticklabels([])
    fig.colorbar(image, ax=list(axes), shrink=0.85, label="density")
    fig.suptitle(f"{function.name}: target and sampled densities", fontsize=11)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_results(results: Sequence[object], outdir: str | Path) -> list[Path]:
    """Every plot for a benchmark run: one history plot per function, density plots for 2D.

    Args:
        results: :class:`nisflow.bench.runner.BenchResult` objects.
        outdir: folder for the PNG files (created).

    Returns:
        The files written.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rows = [r.row for r in results]
    written = []
    functions: dict[str, BenchFunction] = {}
    for r in results:
        functions.setdefault(r.function.name, r.function)
    for name, function in functions.items():
        written.append(plot_variance_history(rows, name, outdir / f"{_safe(name)}_variance.png"))
        if function.d == 2:
            samples = {}
            for r in results:
                rec = r.record
                if r.function.name == name and rec is not None and rec.points is not None:
                    samples.setdefault(r.row["method"], rec.points)
            if samples:
                written.append(
                    plot_density_2d(function, samples, outdir / f"{_safe(name)}_density.png")
                )
    return written


def plot_rows(rows: Sequence[dict], outdir: str | Path) -> list[Path]:
    """History plots (one per function) from stored rows, e.g. a results file.

    Density plots need the sampled points, which rows do not hold; use :func:`plot_results`
    during a run for those.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(r["function"] for r in rows))
    return [plot_variance_history(rows, n, outdir / f"{_safe(n)}_variance.png") for n in names]
