"""The low-level trainer: a flow, a loss and an optimizer (ZüNIS appendix F.2).

A :class:`Trainer` does two things and can be used without an integrator:

* :meth:`Trainer.sample` draws points from the model with their exact log-density (no gradient);
  every sampler of nisflow goes through it, so a change of the sampling density (e.g. a mixture
  with a uniform component) changes training and integration consistently.
* :meth:`Trainer.train_on_batch` takes gradient steps on points sampled and evaluated elsewhere —
  by the trainer itself, uniformly, or read from a file — with the q-weighted loss, so that stored
  evaluations of an expensive integrand are never wasted::

      trainer = Trainer(flow, loss="variance", lr=1e-3)
      x, log_q = trainer.sample(10_000, generator=g)
      losses = trainer.train_on_batch(x, log_q, f(x), n_epochs=5)
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor

from ..flows.coupling import CouplingCell
from ..flows.flow import Flow
from ..losses import Loss, get_loss
from ..sampling import check_uniform_fraction, mix_log_prob, sample_mixture
from .graphs import StepGraph, graph_unsupported_reason, make_capturable, portable_optimizer_state

__all__ = ["Trainer", "auto_batch_size"]

#: the fewest points per gradient step of :func:`auto_batch_size`
MIN_AUTO_BATCH = 2_000
#: points per step and coupling cell of :func:`auto_batch_size`
AUTO_BATCH_PER_CELL = 500


def auto_batch_size(flow: Flow) -> int:
    """Points per gradient step for ``TrainingConfig(batch_size="auto")``, from the flow's depth.

    ``max(2000, 500 n)`` with ``n`` the flow's coupling cells: 2,000 for flows of up to four
    cells (the checkerboard flows of ``d <= 8``), 4,000 for the eight i-flow cells of
    ``9 <= d <= 16``, 5,000 for the ten of ``17 <= d <= 32``.

    Why: on a GPU a step of a small minibatch costs what its kernels cost, tens per cell forward
    and backward, whatever the number of points; so the survey's time grows with cells × steps,
    and more points per step in deeper flows keep it from growing with the cells. On the CPU the
    cost is set by the points, so the survey takes as long. camel16 at the full budget (1e6 +
    1e6, CPU, eight cells, seeds 0, 1, 2), rel_var_per_point / unw_eff:

    * 2,000 points per step: 0.091 / 0.133, 0.083 / 0.154, 0.086 / 0.144;
    * 4,000 points per step: 0.083 / 0.155, 0.090 / 0.139, 0.096 / 0.110;
    * 8,000 points per step: 0.080 / 0.144, 0.113 / 0.088 (seeds 0, 1).

    Args:
        flow: the model; its :class:`~nisflow.flows.coupling.CouplingCell` modules are counted
            (a flow without any gets 2,000).

    Returns:
        A positive number of points.
    """
    n_cells = sum(isinstance(m, CouplingCell) for m in flow.modules())
    return max(MIN_AUTO_BATCH, AUTO_BATCH_PER_CELL * n_cells)


class Trainer:
    """Trains a :class:`~nisflow.flows.Flow` towards ``|f| / I`` with a q-weighted loss.

    Args:
        flow: the model, a flow on [0, 1]^d.
        loss: a name from :data:`nisflow.losses.LOSSES` or a callable ``loss(f, log_g, log_q)``.
        lr: Adam learning rate (ignored if ``optimizer`` is given).
        optimizer: an optimizer over ``flow.parameters()``; Adam if ``None``.
        batch_size: points per gradient step when training on a batch; ``None`` for the whole
            batch.
        max_grad_norm: clip the gradient norm to this value; ``None`` for no clipping.
        chunk_size: the most points pushed through the flow at once without gradient.
        uniform_fraction: the defensive mixture's uniform fraction ``α``: :meth:`sample` draws
            from ``(1 − α) q + α`` (see :mod:`nisflow.sampling`); ``0`` samples the flow alone.
        cuda_graphs: on a CUDA device, replay the gradient step of full-size minibatches as a
            recorded CUDA graph (:mod:`nisflow.training.graphs`; the same arithmetic with one
            launch instead of hundreds). Used only where
            :func:`~nisflow.training.graphs.graph_unsupported_reason` finds nothing against it;
            the first two such steps run eagerly on a side stream as warm-up.
    """

    def __init__(
        self,
        flow: Flow,
        loss: str | Loss = "variance",
        *,
        lr: float = 1e-3,
        optimizer: torch.optim.Optimizer | None = None,
        batch_size: int | None = None,
        max_grad_norm: float | None = None,
        chunk_size: int = 1_000_000,
        uniform_fraction: float = 0.0,
        cuda_graphs: bool = True,
    ):
        if not isinstance(flow, Flow):
            raise TypeError(f"Expected flow to be a nisflow Flow; got {type(flow).__name__}.")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ValueError(f"Expected a positive learning rate; got {lr!r}.")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"Expected batch_size a positive integer or None; got {batch_size!r}.")
        self.flow = flow
        self.loss = get_loss(loss)
        params = [p for p in flow.parameters() if p.requires_grad]
        if optimizer is None and params:
            optimizer = torch.optim.Adam(params, lr=lr)
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.max_grad_norm = max_grad_norm
        self.chunk_size = chunk_size
        self.uniform_fraction = check_uniform_fraction(uniform_fraction)
        self.cuda_graphs = bool(cuda_graphs)
        self.n_steps = 0
        self._graph: StepGraph | None = None
        self._graph_warmup = 0

    @property
    def d(self) -> int:
        """The dimension of the flow."""
        return self.flow.d

    # -- sampling -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points from the model with the exact log-density they were drawn from.

        The density is the defensive mixture ``(1 − α) q + α`` with ``α =``
        :attr:`uniform_fraction` (the flow alone for ``α = 0``). Points are drawn in chunks of
        :attr:`chunk_size`.

        Args:
            n: the number of points.
            generator: the random generator (on the flow's device).

        Returns:
            ``(x, log_q)``: points of shape ``(n, d)`` in the flow's dtype, and float64
            log-densities of shape ``(n,)``.
        """
        xs, lqs = [], []
        for start in range(0, max(n, 1), self.chunk_size):
            m = min(self.chunk_size, n - start)
            x, log_q = sample_mixture(self.flow, m, self.uniform_fraction, generator=generator)
            xs.append(x)
            lqs.append(log_q)
        return torch.cat(xs), torch.cat(lqs)

    @torch.no_grad()
    def log_prob(self, x: Tensor) -> Tensor:
        """Model log-density at ``x`` of shape ``(n, d)``, float64, shape ``(n,)``, no gradient."""
        x = x.to(device=self.flow.device, dtype=self.flow.dtype)
        out = [
            self.flow.log_prob(x[s : s + self.chunk_size]).to(torch.float64)
            for s in range(0, x.shape[0], self.chunk_size)
        ]
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64, device=x.device)

    @torch.no_grad()
    def sampling_log_prob(self, x: Tensor) -> Tensor:
        """Log-density that :meth:`sample` draws from, ``log((1 − α) q(x) + α)``, at ``x`` (n, d).

        Returns float64 values of shape ``(n,)`` (equal to :meth:`log_prob` for ``α = 0``).
        """
        return mix_log_prob(self.log_prob(x), self.uniform_fraction)

    # -- training -----------------------------------------------------------------------------
    @torch.no_grad()
    def loss_value(self, x: Tensor, log_q: Tensor, f: Tensor) -> float:
        """The loss of the current model on a batch, without gradient (e.g. to compare models)."""
        return float(self.loss(f, self.log_prob(x), log_q))

    def train_on_batch(
        self,
        x: Tensor,
        log_q: Tensor,
        f: Tensor,
        *,
        n_epochs: int = 1,
        batch_size: int | None = None,
        generator: torch.Generator | None = None,
    ) -> list[float]:
        """Take gradient steps on points sampled and evaluated elsewhere.

        Each epoch shuffles the batch and takes one step per minibatch of ``batch_size`` points.
        A batch on which ``f`` vanishes carries no information and is skipped; a step whose
        loss is not finite is skipped (the model is left unchanged) and recorded as ``nan``.

        Args:
            x: points in [0, 1]^d, shape ``(n, d)``.
            log_q: the log-density they were drawn from, shape ``(n,)``.
            f: integrand values at ``x``, shape ``(n,)``.
            n_epochs: passes over the batch.
            batch_size: points per step; defaults to the trainer's, else the whole batch.
            generator: randomness for the shuffling.

        Returns:
            The loss of every step, in order.
        """
        n = x.shape[0]
        if x.dim() != 2 or x.shape[1] != self.d or log_q.shape != (n,) or f.shape != (n,):
            raise ValueError(
                f"Expected x of shape (n, {self.d}) and log_q, f of shape (n,); got "
                f"{tuple(x.shape)}, {tuple(log_q.shape)}, {tuple(f.shape)}."
            )
        if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 0:
            raise ValueError(f"Expected n_epochs a non-negative integer; got {n_epochs!r}.")
        if self.optimizer is None or n == 0 or not bool((f != 0).any()):
            return []
        device, dtype = self.flow.device, self.flow.dtype
        x = x.detach().to(device=device, dtype=dtype)
        log_q = log_q.detach().to(device=device, dtype=torch.float64)
        f = f.detach().to(device=device, dtype=torch.float64)
        size = min(batch_size or self.batch_size or n, n)
        graphs = self.cuda_graphs and self.graph_unsupported_reason() is None
        losses: list[float] = []
        for _ in range(n_epochs):
            if size < n:
                gen_device = generator.device if generator is not None else device
                order = torch.randperm(n, generator=generator, device=gen_device).to(device)
            else:
                order = None
            for start in range(0, n, size):
                idx = order[start : start + size] if order is not None else None
                if graphs and min(size, n - start) == size:
                    losses.append(self._graphed_step(x, log_q, f, idx, size))
                else:
                    losses.append(self._eager_step(x, log_q, f, idx))
        return losses

    def graph_unsupported_reason(self) -> str | None:
        """Why :meth:`train_on_batch` cannot replay its steps as CUDA graphs (``None``: it can)."""
        return graph_unsupported_reason(self.flow, self.optimizer, self.loss)

    def _graphed_step(
        self, x: Tensor, log_q: Tensor, f: Tensor, idx: Tensor | None, size: int
    ) -> float:
        """One step through the recorded graph (recorded on first use, after two warm-ups)."""
        assert self.optimizer is not None
        graph = self._graph
        if (
            graph is None
            or not graph.matches(self.flow, self.optimizer, size)
            or graph.settings != (self.loss, self.max_grad_norm)
        ):
            self._graph = None
            make_capturable(self.optimizer)
            if self._graph_warmup < 2 or not self.optimizer.state:
                # CUDA graphs want the first steps (lazy initialisation, optimizer state) taken
                # on a side stream before recording
                device = self.flow.device
                side = torch.cuda.Stream(device)
                side.wait_stream(torch.cuda.current_stream(device))
                with torch.cuda.stream(side):
                    value = self._eager_step(x, log_q, f, idx)
                torch.cuda.current_stream(device).wait_stream(side)
                self._graph_warmup += 1
                return value
            try:
                graph = StepGraph(self.flow, self.optimizer, self.loss, self.max_grad_norm, size)
            except RuntimeError as err:  # e.g. a custom bijection that waits for the device
                warnings.warn(
                    f"Recording the training step as a CUDA graph failed ({err}); training "
                    "continues without CUDA graphs (cuda_graphs=False).",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self.cuda_graphs = False
                return self._eager_step(x, log_q, f, idx)
            self._graph = graph
        value = graph.run(x, log_q, f, idx)
        if math.isfinite(value):
            self.n_steps += 1
        return value

    def _eager_step(self, x: Tensor, log_q: Tensor, f: Tensor, idx: Tensor | None) -> float:
        """:meth:`_step` on the rows ``idx`` of the batch (all rows if ``None``)."""
        return self._step(x, log_q, f) if idx is None else self._step(x[idx], log_q[idx], f[idx])

    def _step(self, x: Tensor, log_q: Tensor, f: Tensor) -> float:
        if self.optimizer is None:
            raise RuntimeError("Expected a trainer with trainable parameters; got none.")
        # a recorded graph owns the gradient buffers: keep them (zeroed) for the eager steps
        self.optimizer.zero_grad(set_to_none=self._graph is None)
        loss = self.loss(f, self.flow.log_prob(x), log_q)
        value = float(loss.detach())
        if not math.isfinite(value):
            return math.nan
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if self.max_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            if not bool(torch.isfinite(norm)):
                self.optimizer.zero_grad(set_to_none=True)
                return math.nan
        self.optimizer.step()
        self.n_steps += 1
        return value

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, object]:
        """Flow and optimizer state (tensors and plain Python only)."""
        return {
            "flow": self.flow.state_dict(),
            "optimizer": (
                portable_optimizer_state(self.optimizer.state_dict())
                if self.optimizer is not None
                else None
            ),
            "n_steps": self.n_steps,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.flow.load_state_dict(state["flow"])  # type: ignore[arg-type]
        if self.optimizer is not None and state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])  # type: ignore[arg-type]
            self._graph = None  # the recorded update step points at the replaced state
        self.n_steps = int(state.get("n_steps", 0))  # type: ignore[arg-type]
