"""Suite B: the MadNIS toys (Tables 1 and 2), our relative errors next to the paper's.

Run::

    python -m nisflow.bench.suite_b [--quick] [--runs 10] [--table 1|2|both]

Table 1 — the 1D camel back (eq. 45) on the real line with two Breit–Wigner channels (eq. 46)
and the cut camel back (eq. 48, ``x >= 2.5``). "Relative error" is the estimated standard
deviation of one refine iteration of 10^4 events divided by its value, averaged over runs
(± the standard deviation over runs), as in the paper. Two facts recovered from the numbers
(the paper's tables are reproduced to three digits only this way):

* the paper's "Uniform" row is *flat sampling on [0, 6]* (its script's "naive integration"):
  it gives 2.56 % / 3.44 %, while uniform channel weights with the two Breit–Wigner channels
  give 5.6 % / 7.1 % (printed as an extra row);
* the cut camel uses equal peaks ``a1 = 0.5`` (the script's ``peak_ratios``): with ``a1 = 0.35``
  the optimal weights give 1.018 %, with 0.5 they give the paper's 1.031 %.

The refine points are split evenly between the channels as in the paper; the column
"stratified" repeats the refine with ``N_i ∝ σ_i`` (eq. 17).

Table 2 — the 2D crossed ring (eq. 49) with flows in every channel and a trained channel-weight
network: 1/2/3 flat channels (a uniform box [-10, 10]^2 before the flow, with a mode-specific
MG-like prior as the paper), ring + flat, ring + line, ring + line + flat (Sherpa-like prior of
the mappings). Our flows are rational-quadratic spline couplings and the training budget is far
smaller than the paper's (see ``--quick`` and the printed settings), so the comparison is
indicative.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..integrator import FlowConfig
from ..mappings import BreitWigner, Chain, Product, Rectangle, Ring, Rotation
from ..multichannel import Channel, MultiChannelIntegrator, MultiChannelTrainingConfig

__all__ = [
    "camel_back",
    "crossed_ring",
    "TABLE1_PAPER",
    "TABLE2_PAPER",
    "run_table1",
    "run_table2",
    "main",
]

TABLE1_PAPER: dict[tuple[str, str], tuple[float, float]] = {
    ("camel", "uniform"): (2.553, 0.017),
    ("camel", "optimal"): (0.769, 0.006),
    ("camel", "NN (flat prior)"): (0.770, 0.005),
    ("camel", "NN (opt. prior)"): (0.767, 0.006),
    ("cut camel", "uniform"): (3.412, 0.048),
    ("cut camel", "optimal"): (1.031, 0.006),
    ("cut camel", "NN (flat prior)"): (1.032, 0.017),
    ("cut camel", "NN (opt. prior)"): (1.030, 0.009),
}
"""MadNIS Table 1: relative error [%] (mean, std over ten runs), 10^4 events."""

TABLE2_PAPER: dict[str, tuple[float, float]] = {
    "flat": (1.17, 0.13),
    "flat, flat": (0.71, 0.15),
    "flat, flat, flat": (0.50, 0.15),
    "ring, flat": (0.30, 0.11),
    "ring, line": (0.14, 0.06),
    "ring, line, flat": (0.29, 0.14),
}
"""MadNIS Table 2: relative error [%] (mean, std over ten runs), 10^4 events."""

# -- integrands -----------------------------------------------------------------------------


def camel_back(a1: float = 0.35, cut: float | None = None) -> Callable[[Tensor], Tensor]:
    """MadNIS eq. 45 (μ = 2, 5; σ = 0.5, 0.1), optionally zero below ``cut`` (eq. 48)."""

    def f(x: Tensor) -> Tensor:
        t = x[:, 0]

        def gauss(mu: float, s: float) -> Tensor:
            return torch.exp(-((t - mu) ** 2) / (2 * s * s)) / (math.sqrt(2 * math.pi) * s)

        v = a1 * gauss(2.0, 0.5) + (1 - a1) * gauss(5.0, 0.1)
        return v if cut is None else torch.where(t >= cut, v, torch.zeros_like(v))

    return f


R0, SIGMA0, SIGMA1, SIGMA2 = 1.0, 0.05, 3.0, 0.05
GAMMA_FACTOR = math.sqrt(40.0)  # eq. 54: channel widths sqrt(40) sigma
FLAT_BOX = 10.0


def crossed_ring(x: Tensor) -> Tensor:
    """MadNIS eq. 49: ``(f_ring + f_line) / 2``, each normalised to one on R^2."""
    x1, x2 = x[:, 0], x[:, 1]
    r = torch.sqrt(x1 * x1 + x2 * x2)
    # ∫ exp(-(r - r0)²/2σ²) 2π r dr = 2π σ [σ e^{-r0²/2σ²} + r0 √(π/2) (1 + erf(r0/√2σ))]
    s, r0 = SIGMA0, R0
    norm = (
        2
        * math.pi
        * s
        * (
            s * math.exp(-(r0**2) / (2 * s * s))
            + r0 * math.sqrt(math.pi / 2) * (1 + math.erf(r0 / (math.sqrt(2) * s)))
        )
    )
    ring = torch.exp(-((r - r0) ** 2) / (2 * s * s)) / norm
    t1 = (x1 - x2) / math.sqrt(2)
    t2 = (x1 + x2) / math.sqrt(2)
    line = torch.exp(-(t1**2) / (2 * SIGMA1**2) - t2**2 / (2 * SIGMA2**2)) / (
        2 * math.pi * SIGMA1 * SIGMA2
    )
    return 0.5 * (ring + line)


def ring_mapping() -> Ring:
    """Eq. 52–53: polar coordinates with a Breit–Wigner in the radius."""
    return Ring(R0, GAMMA_FACTOR * SIGMA0)


def line_mapping() -> Chain:
    """Eq. 50–51: Breit–Wigners along and across the line, rotated onto x1 = -x2."""
    bw = Product([BreitWigner(0.0, GAMMA_FACTOR * SIGMA1), BreitWigner(0.0, GAMMA_FACTOR * SIGMA2)])
    return Chain([bw, Rotation(-math.pi / 4)])


def flat_mapping() -> Rectangle:
    """A uniform box ``[-10, 10]^2`` (the flow does the rest)."""
    return Rectangle([-FLAT_BOX, -FLAT_BOX], [FLAT_BOX, FLAT_BOX])


def _mode_prior(n_flat: int) -> Callable[[Tensor], Tensor]:
    """The mode-specific prior of the flat-channel runs: the ring to the first channel(s)
    (split by the sign of x1 with three channels), the line to the last."""
    ring, line = ring_mapping().double(), line_mapping().double()

    def h(x: Tensor) -> Tensor:
        g_ring = torch.exp(ring.log_prob(x.double(), strict=False))
        g_line = torch.exp(line.log_prob(x.double(), strict=False))
        if n_flat == 2:
            return torch.stack([g_ring, g_line], -1)
        left = torch.sigmoid(-x[:, 0].double() / 0.1)
        return torch.stack([g_ring * left, g_ring * (1 - left), g_line], -1)

    return h


# -- runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One table row: our relative errors [%] over the runs and the paper's number."""

    label: str
    ours: list[float]
    extra: list[float]
    paper: tuple[float, float] | None
    seconds: float

    def fmt(self, values: list[float]) -> str:
        if not values:
            return "-"
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{mean:.3f} ± {std:.3f}"


def _camel_integrator(
    kind: str, f: Callable, seed: int, n_iter: int, n_points: int
) -> MultiChannelIntegrator:
    if kind == "uniform":  # the paper's row: flat sampling on [0, 6]
        return MultiChannelIntegrator(
            f, d=1, channels=[Channel(mapping=Rectangle([0.0], [6.0]))], seed=seed, verbose=False
        )
    channels = [
        Channel(mapping=BreitWigner(2.0, math.sqrt(2) * 0.5)),
        Channel(mapping=BreitWigner(5.0, math.sqrt(2) * 0.1)),
    ]
    mode, prior = {
        "uniform α, BW channels": ("uniform", "uniform"),
        "optimal": ("prior", "sherpa"),
        "NN (flat prior)": ("trained", "uniform"),
        "NN (opt. prior)": ("trained", "sherpa"),
    }[kind]
    return MultiChannelIntegrator(
        f,
        d=1,
        channels=channels,
        channel_weights=mode,
        prior=prior,
        cwnet_hidden=16,
        cwnet_layers=3,
        n_iter_survey=n_iter if mode == "trained" else 0,
        n_points_survey=n_points,
        seed=seed,
        verbose=False,
        training=MultiChannelTrainingConfig(batch_size=128, lr=1e-3, lr_decay=0.01),
    )


def run_table1(runs: int, *, quick: bool = False) -> list[tuple[str, Row]]:
    """Table 1: camel and cut camel, five weight choices, ``runs`` seeds each."""
    n_iter, n_points = (5, 6_400) if quick else (20, 12_800)  # paper: 20 × 100 × 128
    kinds = ["uniform", "uniform α, BW channels", "optimal", "NN (flat prior)", "NN (opt. prior)"]
    out = []
    for func, f in (("camel", camel_back(0.35)), ("cut camel", camel_back(0.5, cut=2.5))):
        for kind in kinds:
            t0 = time.perf_counter()
            ours, strat = [], []
            for seed in range(runs):
                mc = _camel_integrator(kind, f, seed, n_iter, n_points)
                mc.survey()
                ours.append(100 * mc.refine(1, 10_000, allocation="uniform").rel_error)
                strat.append(100 * mc.refine(1, 10_000, allocation="stratified").rel_error)
            row = Row(kind, ours, strat, TABLE1_PAPER.get((func, kind)), time.perf_counter() - t0)
            out.append((func, row))
            print(_fmt_row(func, row), flush=True)
    return out


def _ring_channels(label: str, flow: FlowConfig) -> tuple[list[Channel], object]:
    names = [s.strip() for s in label.split(",")]
    maps = {"ring": ring_mapping, "line": line_mapping, "flat": flat_mapping}
    channels = [Channel(mapping=maps[n](), flow=flow) for n in names]
    if all(n == "flat" for n in names):
        prior = "uniform" if len(names) == 1 else _mode_prior(len(names))
    else:
        prior = "sherpa"
    return channels, prior


def run_table2(runs: int, *, quick: bool = False) -> list[tuple[str, Row]]:
    """Table 2: the crossed ring with 1–3 channels, ``runs`` seeds each."""
    n_iter, n_points, n_epochs = (8, 10_000, 2) if quick else (30, 20_000, 3)
    flow = FlowConfig(transform="rq_spline", hidden=32, layers=2)
    out = []
    for label in TABLE2_PAPER:
        t0 = time.perf_counter()
        ours, strat = [], []
        for seed in range(runs):
            channels, prior = _ring_channels(label, flow)
            mc = MultiChannelIntegrator(
                crossed_ring,
                d=2,
                channels=channels,
                channel_weights="trained",
                prior=prior,
                n_iter_survey=n_iter,
                n_points_survey=n_points,
                seed=seed,
                verbose=False,
                training=MultiChannelTrainingConfig(
                    batch_size=2_000, lr=1e-3, lr_decay=0.02, n_epochs=n_epochs
                ),
            )
            mc.survey()
            ours.append(100 * mc.refine(1, 10_000, allocation="uniform").rel_error)
            strat.append(100 * mc.refine(1, 10_000, allocation="stratified").rel_error)
        row = Row(label, ours, strat, TABLE2_PAPER[label], time.perf_counter() - t0)
        out.append(("crossed ring", row))
        print(_fmt_row("crossed ring", row), flush=True)
    return out


def _fmt_row(func: str, row: Row) -> str:
    paper = "-" if row.paper is None else f"{row.paper[0]:.3f} ± {row.paper[1]:.3f}"
    return (
        f"{func:<13} {row.label:<24} {row.fmt(row.ours):>16} {row.fmt(row.extra):>16} "
        f"{paper:>16} {row.seconds:8.1f}s"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: run the tables and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="trainings per row (paper: 10)")
    parser.add_argument("--quick", action="store_true", help="a much smaller training budget")
    parser.add_argument("--table", choices=["1", "2", "both"], default="both")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    header = (
        f"{'function':<13} {'weights / channels':<24} {'ours [%] (even)':>16} "
        f"{'stratified [%]':>16} {'MadNIS [%]':>16} {'time':>9}"
    )
    print(f"Suite B — relative error of 10^4 refine events, mean ± std over {args.runs} runs")
    print(header)
    print("-" * len(header))
    if args.table in ("1", "both"):
        run_table1(args.runs, quick=args.quick)
    if args.table in ("2", "both"):
        run_table2(args.runs, quick=args.quick)


if __name__ == "__main__":
    main()
