"""CUDA-graph replay of the training step: same arithmetic as the eager step, same skip rules.

The GPU tests run where CUDA is present (``-m gpu`` selects them; elsewhere they are skipped);
the others check the parts that need no GPU: when graphs are refused and why, and that a saved
optimizer state loads on the CPU.
"""

from __future__ import annotations

import math

import pytest
import torch

from nisflow import Integrator
from nisflow.integrator import FlowConfig, TrainingConfig
from nisflow.training import Trainer
from nisflow.training.graphs import graph_unsupported_reason, portable_optimizer_state


def _flow(d: int, device: str = "cpu"):
    return FlowConfig().build(d, generator=torch.Generator().manual_seed(7)).to(device)


def _camel(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-((x - 0.3) ** 2).sum(-1) / 0.02) + torch.exp(-((x - 0.7) ** 2).sum(-1) / 0.02)


def _batch(d: int, n: int, device: str, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64).to(device)
    return x.float(), torch.zeros(n, dtype=torch.float64, device=device), _camel(x)


def test_graphs_refused_off_the_gpu_and_for_custom_parts():
    flow = _flow(3)
    trainer = Trainer(flow)
    assert "not on a CUDA device" in trainer.graph_unsupported_reason()
    sgd = torch.optim.SGD(flow.parameters(), lr=0.1)
    assert graph_unsupported_reason(flow, sgd, trainer.loss) is not None
    # on the CPU the option changes nothing: bit-identical training
    a, b = _flow(3), _flow(3)
    x, log_q, f = _batch(3, 3000, "cpu")
    la = Trainer(a, cuda_graphs=True, batch_size=500).train_on_batch(
        x, log_q, f, n_epochs=2, generator=torch.Generator().manual_seed(1)
    )
    lb = Trainer(b, cuda_graphs=False, batch_size=500).train_on_batch(
        x, log_q, f, n_epochs=2, generator=torch.Generator().manual_seed(1)
    )
    assert la == lb
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_portable_state_loads_into_a_cpu_adam_and_steps():
    flow = _flow(2)
    trainer = Trainer(flow, batch_size=100)
    trainer.train_on_batch(*_batch(2, 400, "cpu"))
    state = trainer.optimizer.state_dict()
    for group in state["param_groups"]:
        group["capturable"] = True  # as a CUDA-graph run leaves it
    portable = portable_optimizer_state(state)
    assert all(not g["capturable"] for g in portable["param_groups"])
    fresh = Trainer(_flow(2), batch_size=100)
    fresh.optimizer.load_state_dict(portable)
    losses = fresh.train_on_batch(*_batch(2, 400, "cpu", seed=1))
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    assert all(not g["capturable"] for g in trainer.state_dict()["optimizer"]["param_groups"])


@pytest.mark.gpu
@pytest.mark.parametrize("max_grad_norm", [None, 10.0])
def test_graphed_training_equals_eager_training(max_grad_norm):
    runs = []
    for graphs in (True, False):
        flow = _flow(4, "cuda")
        trainer = Trainer(flow, batch_size=500, max_grad_norm=max_grad_norm, cuda_graphs=graphs)
        x, log_q, f = _batch(4, 4100, "cuda")  # 8 full minibatches and a remainder of 100
        g = torch.Generator(device="cuda").manual_seed(3)
        losses = trainer.train_on_batch(x, log_q, f, n_epochs=4, generator=g)
        runs.append((losses, [p.detach().clone() for p in flow.parameters()], trainer))
    (lg, pg, tg), (le, pe, te) = runs
    assert tg._graph is not None and te._graph is None
    assert tg.n_steps == te.n_steps == len(lg) == 36
    assert max(abs(a - b) / (1 + abs(b)) for a, b in zip(lg, le, strict=True)) < 1e-4
    for a, b in zip(pg, pe, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), float((a - b).abs().max())


@pytest.mark.gpu
def test_graphed_step_skips_a_non_finite_loss_and_leaves_the_model():
    flow = _flow(3, "cuda")
    trainer = Trainer(flow, batch_size=200)
    trainer.train_on_batch(*_batch(3, 1000, "cuda"), n_epochs=2)
    assert trainer._graph is not None
    before = [p.detach().clone() for p in flow.parameters()]
    exp_avg = [s["exp_avg"].clone() for s in trainer.optimizer.state.values()]
    n_steps = trainer.n_steps
    x, log_q, f = _batch(3, 1000, "cuda", seed=2)
    f[::7] = float("inf")
    losses = trainer.train_on_batch(x, log_q, f)
    assert len(losses) == 5 and all(math.isnan(v) for v in losses)
    assert trainer.n_steps == n_steps
    assert all(torch.equal(a, b) for a, b in zip(before, flow.parameters(), strict=True))
    assert all(
        torch.equal(a, s["exp_avg"])
        for a, s in zip(exp_avg, trainer.optimizer.state.values(), strict=True)
    )
    # and training goes on afterwards
    assert all(math.isfinite(v) for v in trainer.train_on_batch(*_batch(3, 1000, "cuda", seed=3)))


@pytest.mark.gpu
def test_cuda_integrator_with_graphs_is_accurate_and_saves_for_the_cpu(tmp_path):
    d = 2
    # each axis: the integral over [0, 1] of exp(-(x - mu)^2 / 0.02), mu = 0.3 or 0.7
    axis = (
        math.sqrt(0.02 * math.pi)
        / 2
        * (math.erf(0.7 / math.sqrt(0.02)) + math.erf(0.3 / math.sqrt(0.02)))
    )
    exact = 2 * axis**2
    integ = Integrator(
        d,
        _camel,
        device="cuda",
        seed=0,
        n_iter_survey=4,
        n_points_survey=20_000,
        n_iter_refine=3,
        n_points_refine=20_000,
        verbose=False,
    )
    result = integ.integrate()
    assert integ.trainer._graph is not None
    assert abs(result.mean - exact) < 5 * result.sdev + 1e-3 * exact
    path = tmp_path / "model.pt"
    integ.save(path)
    cpu = Integrator.load(path, _camel, device="cpu")
    cpu.survey(n_iter=1)
    assert math.isfinite(cpu.refine(n_iter=1).mean)


@pytest.mark.gpu
def test_cpu_generator_drives_a_cuda_flow_with_the_cpu_numbers():
    flow_cpu, flow_gpu = _flow(3), _flow(3, "cuda")
    with torch.no_grad():
        xc, lc = flow_cpu.sample_and_log_prob(1000, generator=torch.Generator().manual_seed(5))
        xg, lg = flow_gpu.sample_and_log_prob(1000, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(xc, xg.cpu(), atol=1e-5) and torch.allclose(lc, lg.cpu(), atol=1e-4)


def test_training_config_switch_reaches_the_trainer():
    integ = Integrator(2, _camel, training=TrainingConfig(cuda_graphs=False), verbose=False)
    assert integ.trainer.cuda_graphs is False


def test_a_failed_recording_warns_and_falls_back_to_eager_steps(monkeypatch):
    """If recording raises (a custom part that waits for the device), training goes on eagerly."""
    import nisflow.training.trainer as trainer_module

    class Refused:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(trainer_module, "graph_unsupported_reason", lambda *a: None)
    monkeypatch.setattr(trainer_module, "make_capturable", lambda optimizer: None)
    monkeypatch.setattr(trainer_module, "StepGraph", Refused)
    flow, reference = _flow(2), _flow(2)
    trainer = Trainer(flow, batch_size=250, cuda_graphs=False)
    x, log_q, f = _batch(2, 1000, "cpu")
    trainer.train_on_batch(x[:250], log_q[:250], f[:250])  # creates the optimizer state
    trainer.cuda_graphs, trainer._graph_warmup = True, 2  # past the warm-up (a CUDA stream)
    with pytest.warns(RuntimeWarning, match="continues without CUDA graphs"):
        losses = trainer.train_on_batch(x, log_q, f, generator=torch.Generator().manual_seed(0))
    assert trainer.cuda_graphs is False and len(losses) == 4
    eager = Trainer(reference, batch_size=250, cuda_graphs=False)
    eager.train_on_batch(x[:250], log_q[:250], f[:250])
    assert eager.train_on_batch(x, log_q, f, generator=torch.Generator().manual_seed(0)) == losses
