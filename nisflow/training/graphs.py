"""CUDA-graph replay of the trainer's gradient step.

On a GPU, one training step of a small flow on a minibatch of a few thousand points is several
hundred tiny kernels (the flow's inverse pass, the loss, the backward pass, gradient clipping,
Adam). The host launching them, not the GPU running them, sets the pace: on an H200 a survey of
2,500 such steps took the same ~27 s in 2D as in 16D. A CUDA graph records the step once and then
replays it with one launch.

:class:`StepGraph` records two graphs over static input buffers of a fixed minibatch size:

* ``step``: the loss of the minibatch, its backward pass and the gradient clipping, writing the
  loss and whether the step is valid (finite loss and gradient norm) to a small output tensor;
* ``update``: the optimizer step.

The trainer replays ``step``, reads the two numbers (one synchronisation per step, as the eager
step's ``float(loss)``), and replays ``update`` only for a valid step, so a step with a
non-finite loss leaves the model and the optimizer exactly as the eager path does.

Requirements (:func:`graph_unsupported_reason` says which one fails): the flow on a CUDA device,
an unmodified :meth:`~nisflow.flows.Flow.log_prob`, a built-in loss of :mod:`nisflow.losses`
(they never wait for the device) and a plain ``torch.optim.Adam``, which is switched to its
``capturable`` mode (its step counters then live on the GPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..flows.flow import Flow
from ..losses import LOSSES

__all__ = ["StepGraph", "graph_unsupported_reason", "make_capturable", "portable_optimizer_state"]

_HYPER = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")


def graph_unsupported_reason(
    flow: Flow, optimizer: torch.optim.Optimizer | None, loss: Callable
) -> str | None:
    """Why the trainer's step cannot be replayed as a CUDA graph, or ``None`` when it can."""
    if flow.device.type != "cuda":
        return f"the flow is on {flow.device.type}, not on a CUDA device"
    if optimizer is None:
        return "the flow has no trainable parameters"
    if type(optimizer) is not torch.optim.Adam:
        return f"the optimizer is {type(optimizer).__name__}, not torch.optim.Adam"
    for group in optimizer.param_groups:
        if group.get("fused") or group.get("differentiable"):
            return "the Adam optimizer is fused or differentiable"
        if any(not p.is_cuda for p in group["params"]):
            return "some optimized parameters are not on a CUDA device"
    if loss not in LOSSES.values():
        return "the loss is a user callable (built-in losses are known not to synchronise)"
    if type(flow).log_prob is not Flow.log_prob:
        return f"{type(flow).__name__} overrides log_prob"
    return None


def make_capturable(optimizer: torch.optim.Optimizer) -> None:
    """Switch a ``torch.optim.Adam`` to ``capturable=True``, moving its step counters to the GPU."""
    for group in optimizer.param_groups:
        group["capturable"] = True
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "step" in state and state["step"].device != p.device:
                state["step"] = state["step"].to(device=p.device, dtype=torch.float32)


def portable_optimizer_state(state: dict) -> dict:
    """An optimizer ``state_dict`` that loads on any device: ``capturable`` off, steps on the CPU.

    ``capturable=True`` is refused by Adam for CPU parameters, so a state saved from a CUDA-graph
    run is stored without it (the trainer switches it on again when it records a graph).
    """
    groups = [{**g, "capturable": False} if "capturable" in g else g for g in state["param_groups"]]
    per_param = {}
    for key, st in state["state"].items():
        st = dict(st)
        if isinstance(st.get("step"), Tensor):
            st["step"] = st["step"].detach().to("cpu", torch.float32)
        per_param[key] = st
    return {"state": per_param, "param_groups": groups}


def _fingerprint(flow: Flow, optimizer: torch.optim.Optimizer) -> tuple:
    """What the recorded graphs bake in: parameter and state storage, and the hyperparameters."""
    key: list[object] = []
    for group in optimizer.param_groups:
        key.append(tuple(repr(group.get(h)) for h in _HYPER))
        for p in group["params"]:
            key.append(p.data_ptr())
            key.extend(
                t.data_ptr() for t in optimizer.state.get(p, {}).values() if torch.is_tensor(t)
            )
    key.extend(p.data_ptr() for p in flow.parameters())
    return tuple(key)


class StepGraph:
    """The recorded training step of a trainer on minibatches of ``size`` points.

    Recording runs no step: it only captures the kernels. The optimizer must already have taken
    at least one step in capturable mode (so that its state exists), on a side stream, as CUDA
    graphs require (:class:`~nisflow.training.Trainer` does both).

    Args:
        flow: the model (on a CUDA device).
        optimizer: its ``torch.optim.Adam`` (made capturable).
        loss: a built-in loss ``loss(f, log_g, log_q)``.
        max_grad_norm: gradient-norm clipping, as in the eager step (``None``: none).
        size: minibatch size.
    """

    def __init__(
        self,
        flow: Flow,
        optimizer: torch.optim.Optimizer,
        loss: Callable[[Tensor, Tensor, Tensor], Tensor],
        max_grad_norm: float | None,
        size: int,
    ) -> None:
        device = flow.device
        self.size = int(size)
        self.settings = (loss, max_grad_norm)  # what the step graph bakes in besides tensors
        self.x = torch.full((self.size, flow.d), 0.5, dtype=flow.dtype, device=device)
        self.log_q = torch.zeros(self.size, dtype=torch.float64, device=device)
        self.f = torch.ones(self.size, dtype=torch.float64, device=device)
        params = [p for g in optimizer.param_groups for p in g["params"]]
        optimizer.zero_grad(set_to_none=True)  # the backward pass allocates the static grads
        self._step = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._step):
            value = loss(self.f, flow.log_prob_unchecked(self.x), self.log_q)
            value.backward()
            ok = torch.isfinite(value)
            if max_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
                ok = ok & torch.isfinite(norm)
            self._out = torch.stack([value.detach().to(torch.float64), ok.to(torch.float64)])
        self._update = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._update, pool=self._step.pool()):
            optimizer.step()
        self._key = _fingerprint(flow, optimizer)

    def matches(self, flow: Flow, optimizer: torch.optim.Optimizer, size: int) -> bool:
        """Whether the graphs still fit: same size, parameters, optimizer state and settings."""
        return size == self.size and self._key == _fingerprint(flow, optimizer)

    def run(self, x: Tensor, log_q: Tensor, f: Tensor, idx: Tensor | None) -> float:
        """One step on the rows ``idx`` of the batch (all rows if ``None``).

        Returns:
            the minibatch loss before the step, or ``nan`` if the step was skipped (non-finite
            loss or gradient norm; the model and the optimizer are then unchanged).
        """
        if idx is None:
            self.x.copy_(x)
            self.log_q.copy_(log_q)
            self.f.copy_(f)
        else:
            torch.index_select(x, 0, idx, out=self.x)
            torch.index_select(log_q, 0, idx, out=self.log_q)
            torch.index_select(f, 0, idx, out=self.f)
        self._step.replay()
        value, ok = self._out.tolist()
        if not ok:
            return math.nan
        self._update.replay()
        return value
