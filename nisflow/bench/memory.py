"""Peak memory of a whole integration as the number of points grows.

Run ``python -m nisflow.bench.memory [--dim 8] [--points 1e5,1e6,4e6] [--device cpu]``. Each
size runs in a fresh process (so one run's allocations cannot hide another's): a survey of one
iteration of ``N`` points, a refine of one iteration of ``N`` points and ``sample(N)``, on
BENCHMARKS.md's camel of that dimension. It prints, per ``N``, the peak resident memory of the
process (``ru_maxrss``), the resident memory of the same process right after importing torch and
nisflow, their difference, and on CUDA ``torch.cuda.max_memory_allocated``. Chunked sampling and
evaluation keep the difference bounded by the chunk size (``Integrator(chunk_size=...)``), not by
``N``, except for what the caller asks to keep: the survey batch and the returned sample.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = ["MemoryResult", "measure_peak_memory", "main"]


@dataclass(frozen=True)
class MemoryResult:
    """Peak memory of one run (mebibytes)."""

    d: int
    n_points: int
    device: str
    baseline_rss_mib: float
    peak_rss_mib: float
    run_rss_mib: float
    cuda_peak_mib: float | None
    seconds: float
    estimate: float
    error: float


def _rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _child(d: int, n: int, device: str, chunk_size: int, queue: multiprocessing.Queue) -> None:
    import torch

    from ..integrator import Integrator
    from .functions import get_function

    baseline = _rss_mib()
    bench = get_function(f"camel{d}")
    t0 = time.perf_counter()
    integrator = Integrator(
        d,
        bench.f,
        device=device,
        seed=0,
        n_iter_survey=1,
        n_points_survey=n,
        n_iter_refine=1,
        n_points_refine=n,
        chunk_size=chunk_size,
        verbose=False,
    )
    integrator.survey()
    result = integrator.refine()
    x, w, _ = integrator.sample(n)
    del x, w
    cuda_peak = (
        torch.cuda.max_memory_allocated(device) / 2**20
        if torch.device(device).type == "cuda"
        else None
    )
    peak = _rss_mib()
    queue.put(
        MemoryResult(
            d=d,
            n_points=n,
            device=device,
            baseline_rss_mib=baseline,
            peak_rss_mib=peak,
            run_rss_mib=peak - baseline,
            cuda_peak_mib=cuda_peak,
            seconds=time.perf_counter() - t0,
            estimate=result.mean,
            error=result.sdev,
        )
    )


def measure_peak_memory(
    d: int, n_points: int, *, device: str = "cpu", chunk_size: int = 100_000
) -> MemoryResult:
    """Run survey + refine + sample of ``n_points`` each in a fresh process; return its peaks.

    Raises:
        RuntimeError: if the child process fails (its exit code is named).
    """
    if d < 1 or n_points < 2:
        raise ValueError(f"Expected d >= 1 and n_points >= 2; got d={d}, n_points={n_points}.")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(d, n_points, device, chunk_size, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0 or queue.empty():
        raise RuntimeError(f"The measuring process for N={n_points} failed (exit {proc.exitcode}).")
    return queue.get()


def main(argv: Sequence[str] | None = None) -> list[MemoryResult]:
    """Command-line entry: print a table of peak memory against the number of points."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=8, help="dimension (camel of BENCHMARKS.md)")
    parser.add_argument("--points", default="1e5,1e6,4e6", help="comma-separated sizes N")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--out", default=None, metavar="RESULTS.json", help="write JSON here")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.points.split(",") if s.strip()]
    import torch

    from .throughput import machine_name

    print(
        f"peak memory, camel{args.dim}, device {args.device} ({machine_name(torch.device(args.device))})"
    )
    print(f"{'N':>10} {'baseline MiB':>13} {'peak MiB':>9} {'run MiB':>8} {'cuda MiB':>9} {'s':>7}")
    rows = []
    for n in sizes:
        r = measure_peak_memory(args.dim, n, device=args.device, chunk_size=args.chunk_size)
        rows.append(r)
        cuda = f"{r.cuda_peak_mib:9.0f}" if r.cuda_peak_mib is not None else f"{'-':>9}"
        print(
            f"{n:>10} {r.baseline_rss_mib:>13.0f} {r.peak_rss_mib:>9.0f} {r.run_rss_mib:>8.0f} "
            f"{cuda} {r.seconds:>7.1f}",
            flush=True,
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "machine": machine_name(torch.device(args.device)),
                    "rows": [asdict(r) for r in rows],
                },
                fh,
                indent=1,
            )
    return rows


if __name__ == "__main__":
    main()
