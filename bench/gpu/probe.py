"""GPU probe: where the sampling time goes, and what the training step costs with/without graphs.

Run on a CUDA machine: ``python bench/gpu/probe.py [--compile]``. Prints
1. the top CUDA kernels of ``sample_and_log_prob(1e6)`` for the default d = 8 flow;
2. sampling throughput by batch size and dtype;
3. the time of 200 training steps eager and as CUDA graphs: the default flows of d = 2 and 8
   (two cells) at 2,000 points per step, and of d = 16 (eight cells) at 2,000 and at its
   ``batch_size="auto"`` 4,000;
4. with ``--compile``: ``torch.compile`` of the flow's forward map (compile time, throughput).
"""

from __future__ import annotations

import argparse
import time

import torch

from nisflow.integrator import FlowConfig
from nisflow.training import Trainer


def _flow(d: int, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    flow = FlowConfig().build(d, generator=g)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return flow.to(device="cuda", dtype=dtype)


def _time(fn, repeats: int = 10) -> float:
    fn()
    fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / repeats


def profile_sampling(d: int = 8, n: int = 1_000_000) -> None:
    flow = _flow(d).eval()
    gen = torch.Generator(device="cuda").manual_seed(0)
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad():
        flow.sample_and_log_prob(n, generator=gen)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
            flow.sample_and_log_prob(n, generator=gen)
            torch.cuda.synchronize()
    print(
        prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=60)
    )


def throughput() -> None:
    print("d  dtype    batch     s/batch   points/s")
    for d in (2, 8):
        for dtype in (torch.float32, torch.float64):
            flow = _flow(d, dtype).eval()
            gen = torch.Generator(device="cuda").manual_seed(0)
            for n in (100_000, 1_000_000, 4_000_000):
                with torch.no_grad():
                    s = _time(
                        lambda n=n, flow=flow, gen=gen: flow.sample_and_log_prob(n, generator=gen),
                        5,
                    )
                print(f"{d:2d} {str(dtype)[6:]:8s} {n:9d} {s:9.4f} {n / s:10.3e}")


def training_steps(d: int = 8, steps: int = 200, batch: int = 2000) -> None:
    for graphs in (False, True):
        flow = _flow(d)
        trainer = Trainer(flow, lr=3e-3, batch_size=batch, max_grad_norm=10.0, cuda_graphs=graphs)
        x = torch.rand(steps * batch, d, device="cuda")
        f = torch.exp(-((x - 0.5) ** 2).sum(-1) / 0.1).double()
        log_q = torch.zeros(x.shape[0], dtype=torch.float64, device="cuda")
        trainer.train_on_batch(x[:10_000], log_q[:10_000], f[:10_000])  # warm-up / recording
        torch.cuda.synchronize()
        t = time.perf_counter()
        losses = trainer.train_on_batch(x, log_q, f)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t
        print(
            f"d={d} cells={len(flow.cells)} batch={batch} graphs={graphs}: "
            f"{dt / steps * 1e3:.3f} ms/step, last loss {losses[-1]:.4f}"
        )


def compiled(d: int = 8, n: int = 1_000_000) -> None:
    flow = _flow(d).eval()
    z = torch.rand(n, d, device="cuda")
    fwd = torch.compile(flow.forward, dynamic=False)
    t = time.perf_counter()
    with torch.no_grad():
        fwd(z)
        torch.cuda.synchronize()
    print(f"compile d={d}: {time.perf_counter() - t:.1f} s")
    with torch.no_grad():
        s = _time(lambda: fwd(torch.rand(n, d, device="cuda")), 10)
        e = _time(lambda: flow.forward(torch.rand(n, d, device="cuda")), 10)
        x1, l1 = fwd(z)
        x2, l2 = flow.forward(z)
    print(
        f"compiled {n / s:.3e} points/s, eager {n / e:.3e}; max |dx| {float((x1 - x2).abs().max()):.2e}"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    print(torch.cuda.get_device_name(0), torch.__version__)
    training_steps(2)
    training_steps(8)
    training_steps(16)
    training_steps(16, batch=4000)
    throughput()
    profile_sampling()
    if a.compile:
        compiled()
