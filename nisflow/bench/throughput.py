"""Sampling throughput of a coupling flow: points per second, each with its log-density.

Run ``python -m nisflow.bench.throughput [--device cuda] [--dims 2,8,32] [--batch 1000000]
[--dtype float32] [--out results.json]``. For each dimension it builds a
:class:`~nisflow.flows.CouplingFlow` of 6 rational-quadratic spline cells (randomly perturbed
away from the identity, so the splines do real work), warms up, then times
``flow.sample_and_log_prob(batch)`` under ``torch.no_grad`` (with ``torch.cuda.synchronize`` on a
GPU) and prints a table naming the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from ..flows import CouplingFlow

__all__ = ["ThroughputResult", "machine_name", "measure_throughput", "main"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class ThroughputResult:
    """One row of the table: a flow configuration and its sampling speed."""

    d: int
    n_cells: int
    n_bins: int
    hidden: int
    layers: int
    batch: int
    repeats: int
    seconds_per_batch: float
    points_per_second: float


def machine_name(device: torch.device) -> str:
    """The GPU name for a CUDA device, else the CPU model (from ``/proc/cpuinfo`` if readable)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_throughput(
    d: int,
    *,
    batch: int = 1_000_000,
    n_cells: int = 6,
    n_bins: int = 8,
    hidden: int = 64,
    layers: int = 2,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    repeats: int = 5,
    warmup: int = 2,
    seed: int = 0,
) -> ThroughputResult:
    """Time ``sample_and_log_prob(batch)`` of an RQ-spline coupling flow.

    Args:
        d: dimension.
        batch: points per call.
        n_cells: number of coupling cells (checkerboard masks, alternating).
        n_bins: spline bins.
        hidden: conditioner width.
        layers: conditioner hidden layers.
        device: where the flow runs.
        dtype: floating dtype of the flow.
        repeats: timed calls.
        warmup: untimed calls before timing (kernel selection, caches, allocator).
        seed: seeds the flow's construction and the sampling generator.

    Returns:
        the configuration and the measured speed (points with log-density per second).
    """
    device = torch.device(device)
    g = torch.Generator().manual_seed(seed)
    flow = CouplingFlow(
        d, "rq_spline", n_cells=n_cells, n_bins=n_bins, hidden=hidden, layers=layers, generator=g
    )
    with torch.no_grad():  # move away from the identity so the splines do real work
        for p in flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    flow = flow.to(device=device, dtype=dtype).eval()
    sampler = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for _ in range(warmup):
            flow.sample_and_log_prob(batch, generator=sampler)
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            x, log_q = flow.sample_and_log_prob(batch, generator=sampler)
        _sync(device)
        elapsed = time.perf_counter() - start
    if not bool(torch.isfinite(log_q).all()) or x.shape != (batch, d):
        raise RuntimeError(
            f"Expected finite log-densities of shape ({batch},); the benchmark flow failed."
        )
    per_batch = elapsed / repeats
    return ThroughputResult(
        d=d,
        n_cells=n_cells,
        n_bins=n_bins,
        hidden=hidden,
        layers=layers,
        batch=batch,
        repeats=repeats,
        seconds_per_batch=per_batch,
        points_per_second=batch / per_batch,
    )


def main(argv: Sequence[str] | None = None) -> list[ThroughputResult]:
    """Command-line entry point; prints the table and returns its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--dims", default="2,8,32", help="comma-separated dimensions")
    parser.add_argument("--batch", type=int, default=1_000_000, help="points per call")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--cells", type=int, default=6, help="RQ-spline coupling cells")
    parser.add_argument("--bins", type=int, default=8, help="spline bins")
    parser.add_argument("--hidden", type=int, default=64, help="conditioner width")
    parser.add_argument("--layers", type=int, default=2, help="conditioner hidden layers")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per dimension")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per dimension")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    try:
        dims = [int(s) for s in args.dims.split(",") if s.strip()]
    except ValueError:
        parser.error(f"Expected --dims as comma-separated integers; got {args.dims!r}.")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(
            "Expected a CUDA device for --device cuda; torch.cuda.is_available() is False."
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    machine = machine_name(device)
    header = (
        f"nisflow sampling throughput (sample_and_log_prob, torch.no_grad) on {machine}\n"
        f"device={device} dtype={args.dtype} torch={torch.__version__} "
        f"threads={torch.get_num_threads()} cells={args.cells} bins={args.bins} "
        f"hidden={args.hidden}x{args.layers} batch={args.batch} repeats={args.repeats}"
    )
    print(header)
    print(f"{'d':>4} {'s/batch':>10} {'points/s':>12}")
    rows = []
    for d in dims:
        r = measure_throughput(
            d,
            batch=args.batch,
            n_cells=args.cells,
            n_bins=args.bins,
            hidden=args.hidden,
            layers=args.layers,
            device=device,
            dtype=DTYPES[args.dtype],
            repeats=args.repeats,
            warmup=args.warmup,
        )
        rows.append(r)
        print(f"{d:>4} {r.seconds_per_batch:>10.4f} {r.points_per_second:>12.4g}", flush=True)
    if args.out:
        payload = {
            "machine": machine,
            "device": str(device),
            "dtype": args.dtype,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "results": [asdict(r) for r in rows],
        }
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
