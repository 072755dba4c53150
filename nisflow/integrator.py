"""The integrator: survey (train a flow on the integrand), refine (integrate), sample, unweight.

The seed's API works verbatim::

    from nisflow import Integrator
    integrator = Integrator(d=d, f=f, device=device)
    result, uncertainty, history = integrator.integrate()

    integrator = Integrator(d=d, f=f, n_iter_survey=3, n_iter_refine=5)
    integral_data = integrator.integrate(n_survey=10, n_refine=10)

The **survey** trains the flow for ``n_iter_survey`` iterations of ``n_points_survey`` integrand
evaluations each, with the strategy and loss of :class:`TrainingConfig` (ZüNIS §3.1, Alg. 2;
MadNIS §3.2–3.3). The **refine** phase draws ``n_points_refine`` fresh points per iteration from
the trained flow, estimates the integral from the weights ``f/q`` in float64 and combines the
iterations by inverse-variance weighting with χ²/dof and Q (as vegas). Survey points are not
used unless ``use_survey=True``: the refine points are independent of the training, which makes
the error estimate honest (ZüNIS appendix F.3).

Every point used for integration, sampling and unweighting is drawn by one method,
:meth:`nisflow.training.Trainer.sample`, which returns the exact log-density it sampled from.
"""

from __future__ import annotations

import os
import pickle
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .checks import check_dimension
from .flows.flow import Flow
from .integrand import Integrand
from .losses import LOSSES, Loss
from .result import IntegrationResult, IterationRecord, estimate_from_weights
from .training.survey import SURVEY_STRATEGIES, SurveyStrategy, get_survey_strategy
from .training.trainer import Trainer
from .unweighting import UnweightedEvents, unweight

__all__ = ["Integrator", "FlowConfig", "TrainingConfig"]

_FORMAT = "nisflow.Integrator"
_VERSION = 1
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class FlowConfig:
    """The default flow: a :class:`~nisflow.flows.coupling_flow.CouplingFlow`.

    Attributes:
        transform: ``"rq_spline"``, ``"pwlinear"``, ``"pwquad"`` or ``"affine"``.
        n_cells: coupling cells (``None``: enough to transform every coordinate).
        n_bins: bins of the binned transforms (``None``: the transform's default).
        mask: ``"checkerboard"``, ``"iflow"`` or ``"random"``.
        permutation: ``None``, ``"exchange"``, ``"random"``, ``"soft"`` or ``"rotation"``.
        hidden: width of the conditioner networks.
        layers: hidden layers of the conditioner networks.
    """

    transform: str = "rq_spline"
    n_cells: int | None = None
    n_bins: int | None = None
    mask: str = "checkerboard"
    permutation: str | None = None
    hidden: int = 64
    layers: int = 2

    def build(self, d: int, *, generator: torch.Generator | None = None) -> Flow:
        """Construct the flow for dimension ``d`` (network weights from ``generator``)."""
        from .flows.coupling_flow import CouplingFlow

        return CouplingFlow(
            d,
            self.transform,
            n_cells=self.n_cells,
            n_bins=self.n_bins,
            mask=self.mask,
            permutation=self.permutation,
            hidden=self.hidden,
            layers=self.layers,
            generator=generator,
        )


@dataclass(frozen=True)
class TrainingConfig:
    """How the survey trains the flow.

    The defaults follow ZüNIS (variance loss, adaptive strategy, 5 epochs per batch) with
    minibatches of 2,000 points and a learning rate of 3e-3: on Suite A at 2e5 + 2e5
    evaluations these gave 3–5× lower ``rel_var_per_point`` than 10,000-point steps at 1e-3
    (more gradient steps per evaluation). A later benchmark pass is expected to refine them.

    Attributes:
        loss: a name of :data:`nisflow.losses.LOSSES` or a callable ``loss(f, log_g, log_q)``.
        survey_strategy: ``"flat"``, ``"forward"``, ``"adaptive"``, ``"online"`` or
            ``"buffered"`` (see :mod:`nisflow.training.survey`).
        n_epochs: passes over each survey batch (buffered: 1 online + ``n_epochs − 1``
            buffered).
        batch_size: points per gradient step (``None``: the whole survey batch).
        lr: Adam learning rate.
        max_grad_norm: gradient clipping (``None``: none).
    """

    loss: str | Loss = "variance"
    survey_strategy: str = "adaptive"
    n_epochs: int = 5
    batch_size: int | None = 2_000
    lr: float = 3e-3
    max_grad_norm: float | None = 10.0


class Integrator:
    """Neural importance sampling integrator for ``∫ f(x) dx`` over a box in ``d`` dimensions.

    Args:
        d: the dimension.
        f: the integrand, ``f(x)`` with ``x`` of shape ``(n, d)`` returning ``(n,)`` or
            ``(n, 1)``; a torch or numpy callable.
        device: where the flow lives and the points are drawn (default CPU).
        flow: a transform name for the default :class:`FlowConfig`, a :class:`FlowConfig`, or
            any :class:`~nisflow.flows.Flow` on [0, 1]^d.
        loss: the training loss (overrides ``training.loss``).
        survey_strategy: the survey strategy (overrides ``training.survey_strategy``).
        n_iter_survey: survey iterations.
        n_iter_refine: refine iterations.
        n_points_survey: integrand evaluations per survey iteration.
        n_points_refine: integrand evaluations per refine iteration.
        seed: seeds the flow's initial weights and every random draw: same seed, same numbers.
        domain: ``None`` for [0, 1]^d, or ``d`` pairs ``(a, b)`` of limits.
        use_survey: also combine the survey iterations' estimates into the result.
        verbose: show progress bars.
        training: a :class:`TrainingConfig` (epochs, batch size, learning rate, ...).
        dtype: the flow's dtype (estimates are float64 whatever it is).
        nonfinite: ``"raise"`` or ``"zero"`` for NaN/inf integrand values.
        chunk_size: the most points evaluated or pushed through the flow at once.
    """

    def __init__(
        self,
        d: int,
        f: Callable,
        *,
        device: str | torch.device | None = None,
        flow: str | FlowConfig | Flow = "rq_spline",
        loss: str | Loss | None = None,
        survey_strategy: str | None = None,
        n_iter_survey: int = 10,
        n_iter_refine: int = 5,
        n_points_survey: int = 100_000,
        n_points_refine: int = 100_000,
        seed: int | None = None,
        domain: Sequence[Sequence[float]] | None = None,
        use_survey: bool = False,
        verbose: bool = True,
        training: TrainingConfig | None = None,
        dtype: torch.dtype = torch.float32,
        nonfinite: str = "raise",
        chunk_size: int = 100_000,
    ):
        self.d = check_dimension(d)
        for name, v in (
            ("n_iter_survey", n_iter_survey),
            ("n_iter_refine", n_iter_refine),
        ):
            _check_count(v, name, minimum=0)
        for name, v in (("n_points_survey", n_points_survey), ("n_points_refine", n_points_refine)):
            _check_count(v, name, minimum=2)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Expected seed to be an integer or None; got {seed!r}.")
        if dtype not in _DTYPES.values():
            raise ValueError(f"Expected dtype torch.float32 or torch.float64; got {dtype!r}.")
        training = training or TrainingConfig()
        if loss is not None:
            training = replace(training, loss=loss)
        if survey_strategy is not None:
            training = replace(training, survey_strategy=survey_strategy)
        if isinstance(training.loss, str) and training.loss not in LOSSES:
            raise ValueError(
                f"Expected a loss name in {sorted(LOSSES)} or a callable; got {training.loss!r}."
            )
        if training.survey_strategy not in SURVEY_STRATEGIES:
            raise ValueError(
                f"Expected a survey strategy in {sorted(SURVEY_STRATEGIES)}; got "
                f"{training.survey_strategy!r}."
            )
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.n_iter_survey = n_iter_survey
        self.n_iter_refine = n_iter_refine
        self.n_points_survey = n_points_survey
        self.n_points_refine = n_points_refine
        self.seed = seed
        self.use_survey = bool(use_survey)
        self.verbose = bool(verbose)
        self.training = training
        self.chunk_size = check_dimension(chunk_size, "chunk_size")
        self.integrand = Integrand(
            f, self.d, domain=domain, nonfinite=nonfinite, chunk_size=self.chunk_size
        ).to(self.device)

        init_generator = torch.Generator()
        if seed is None:
            init_generator.seed()
        else:
            init_generator.manual_seed(seed)
        if isinstance(flow, str):
            flow = FlowConfig(transform=flow)
        if isinstance(flow, FlowConfig):
            self.flow_config: FlowConfig | None = flow
            model = flow.build(self.d, generator=init_generator)
        elif isinstance(flow, Flow):
            if flow.d != self.d:
                raise ValueError(f"Expected a flow of dimension {self.d}; got {flow.d}.")
            self.flow_config = None
            model = flow
        else:
            raise TypeError(
                "Expected flow to be a transform name, a FlowConfig or a nisflow Flow; got "
                f"{type(flow).__name__}."
            )
        model = model.to(device=self.device, dtype=dtype)
        self.trainer = Trainer(
            model,
            training.loss,
            lr=training.lr,
            batch_size=training.batch_size,
            max_grad_norm=training.max_grad_norm,
            chunk_size=self.chunk_size,
        )
        self.strategy: SurveyStrategy = get_survey_strategy(training.survey_strategy)
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed + 1)
        self.history: list[IterationRecord] = []
        self.interrupted = False

    # -- properties ---------------------------------------------------------------------------
    @property
    def flow(self) -> Flow:
        """The flow being trained."""
        return self.trainer.flow

    @property
    def n_evals(self) -> int:
        """Integrand evaluations so far."""
        return self.integrand.n_evals

    # -- the one sampler ----------------------------------------------------------------------
    def _draw(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` unit-cube points for integration with the exact float64 log-density used."""
        return self.trainer.sample(n, generator=self.generator)

    # -- survey -------------------------------------------------------------------------------
    def survey(
        self, n_iter: int | None = None, n_points: int | None = None
    ) -> list[IterationRecord]:
        """Train the flow: ``n_iter`` iterations of ``n_points`` integrand evaluations.

        A ``KeyboardInterrupt`` (Ctrl-C) ends the survey early and keeps the model trained so
        far; :meth:`refine`, :meth:`sample` and :meth:`save` work as usual. If the integrand
        vanishes on every point of the first iterations there is nothing to learn from: the
        survey stops with a warning.

        Returns:
            The records of this survey's iterations (also appended to :attr:`history`).
        """
        n_iter = self.n_iter_survey if n_iter is None else _check_count(n_iter, "n_iter", 0)
        n_points = (
            self.n_points_survey if n_points is None else _check_count(n_points, "n_points", 2)
        )
        start_index = sum(1 for r in self.history if r.phase == "survey")
        records: list[IterationRecord] = []
        seen_nonzero = any(r.value != 0 or r.variance != 0 for r in self.history)
        self.interrupted = False
        bar = tqdm(range(n_iter), desc="survey", disable=not self.verbose, leave=False)
        try:
            for i in bar:
                t0 = time.perf_counter()
                self.flow.train()
                step = self.strategy.step(
                    self.trainer,
                    self.integrand,
                    n_points,
                    n_epochs=self.training.n_epochs,
                    generator=self.generator,
                )
                record = IterationRecord(
                    "survey",
                    start_index + i,
                    step.value,
                    step.variance,
                    step.n_evals,
                    sampler=step.sampler,
                    loss=step.mean_loss,
                    n_steps=len(step.losses),
                    seconds=time.perf_counter() - t0,
                )
                records.append(record)
                self.history.append(record)
                bar.set_postfix(loss=f"{record.loss:.3g}", value=f"{record.value:.5g}")
                if step.batch is not None and bool((step.batch.f != 0).any()):
                    seen_nonzero = True
                if not seen_nonzero:
                    warnings.warn(
                        f"The integrand vanished on all {n_points} survey points; skipping "
                        "training (an integrand that is zero everywhere integrates to 0 ± 0).",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            warnings.warn(
                f"Survey interrupted after {len(records)} complete iteration(s); keeping the "
                "model trained so far.",
                RuntimeWarning,
                stacklevel=2,
            )
        finally:
            bar.close()
            self.flow.eval()
        return records

    # -- refine -------------------------------------------------------------------------------
    @torch.no_grad()
    def refine(self, n_iter: int | None = None, n_points: int | None = None) -> IntegrationResult:
        """Integrate with the current flow: ``n_iter`` iterations of ``n_points`` fresh points.

        Returns:
            The combination of these iterations (and of the survey's, with ``use_survey``).
        """
        n_iter = self.n_iter_refine if n_iter is None else _check_count(n_iter, "n_iter", 1)
        n_points = (
            self.n_points_refine if n_points is None else _check_count(n_points, "n_points", 2)
        )
        if n_iter < 1:
            raise ValueError(f"Expected at least one refine iteration; got {n_iter}.")
        start_index = sum(1 for r in self.history if r.phase == "refine")
        records: list[IterationRecord] = []
        for i in tqdm(range(n_iter), desc="refine", disable=not self.verbose, leave=False):
            t0 = time.perf_counter()
            u, log_q = self._draw(n_points)
            w = self.integrand(u) * torch.exp(-log_q)
            value, variance = estimate_from_weights(w)
            record = IterationRecord(
                "refine",
                start_index + i,
                value,
                variance,
                n_points,
                sampler="model",
                seconds=time.perf_counter() - t0,
            )
            records.append(record)
            self.history.append(record)
        combined = list(records)
        if self.use_survey:
            combined = [r for r in self.history if r.phase == "survey"] + combined
        return IntegrationResult.from_iterations(combined, self.history, n_evals=self.n_evals)

    def integrate(
        self,
        n_survey: int | None = None,
        n_refine: int | None = None,
        *,
        n_points_survey: int | None = None,
        n_points_refine: int | None = None,
    ) -> IntegrationResult:
        """Survey then refine; return the integral (unpacks as ``value, error, history``).

        Args:
            n_survey: survey iterations (default ``n_iter_survey``).
            n_refine: refine iterations (default ``n_iter_refine``).
            n_points_survey: points per survey iteration (default from the constructor).
            n_points_refine: points per refine iteration (default from the constructor).
        """
        self.survey(n_survey, n_points_survey)
        return self.refine(n_refine, n_points_refine)

    # -- sampling and unweighting -------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``n`` weighted points from the trained flow.

        Returns:
            ``(x, w, log_q)``: points in the domain, shape ``(n, d)``; float64 weights
            ``w = f(x) / q(x)`` whose mean estimates the integral, shape ``(n,)``; and the
            float64 log-density of the points in the domain, shape ``(n,)``.
        """
        _check_count(n, "n", 0)
        u, log_q = self._draw(n)
        w = self.integrand(u) * torch.exp(-log_q)
        return self.integrand.to_domain(u), w, log_q - self.integrand.log_volume

    def unweight(
        self,
        n_events: int,
        *,
        max_weight: str | float = "exact",
        n_reference: int = 100_000,
    ) -> UnweightedEvents:
        """Draw ``n_events`` unweighted events (i.i.d. with density ``|f| / ∫|f|``).

        Args:
            n_events: events wanted.
            max_weight: ``"exact"`` (the largest weight of the reference sample) or a quantile
                level such as ``0.999`` (over-weight events then carry weight ``|w|/w_max``).
            n_reference: size of the reference sample that fixes the maximum weight.

        Returns:
            The events with the unweighting efficiency and the over-weight fraction.
        """

        def draw(n: int) -> tuple[Tensor, Tensor]:
            x, w, _ = self.sample(n)
            return x, w

        return unweight(
            draw,
            n_events,
            max_weight=max_weight,
            n_reference=n_reference,
            chunk_size=self.chunk_size,
            generator=self.generator,
        )

    # -- persistence --------------------------------------------------------------------------
    def _config(self) -> dict[str, object]:
        loss = self.training.loss
        training = asdict(self.training)
        training["loss"] = loss if isinstance(loss, str) else None
        return {
            "d": self.d,
            "domain": self.integrand.domain,
            "flow": asdict(self.flow_config) if self.flow_config is not None else None,
            "training": training,
            "n_iter_survey": self.n_iter_survey,
            "n_iter_refine": self.n_iter_refine,
            "n_points_survey": self.n_points_survey,
            "n_points_refine": self.n_points_refine,
            "seed": self.seed,
            "use_survey": self.use_survey,
            "dtype": str(self.flow.dtype).removeprefix("torch."),
            "nonfinite": self.integrand.nonfinite,
            "chunk_size": self.chunk_size,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the trained state: flow and optimizer ``state_dict``, configuration, random
        generator state and history. The file loads with ``torch.load(..., weights_only=True)``.
        """
        state = {
            "format": _FORMAT,
            "version": _VERSION,
            "config": self._config(),
            "trainer": self.trainer.state_dict(),
            "strategy": self.strategy.state_dict(),
            "generator": self.generator.get_state(),
            "history": [r.to_dict() for r in self.history],
            "n_evals": self.integrand.n_evals,
        }
        torch.save(state, path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        f: Callable,
        *,
        flow: Flow | None = None,
        loss: Loss | None = None,
        device: str | torch.device | None = None,
        verbose: bool = True,
    ) -> Integrator:
        """Rebuild an integrator saved by :meth:`save`, for the integrand ``f``.

        Args:
            path: the file.
            f: the integrand (functions are not saved).
            flow: the flow, needed when the integrator was built with a custom flow object
                (its architecture must match the saved weights).
            loss: the loss, needed when it was a custom callable.
            device: where to load (default: CPU).
            verbose: progress bars.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not a nisflow integrator, is corrupt, or does not match.
        """
        if not os.path.exists(path):
            raise FileNotFoundError(f"Expected a saved integrator at {str(path)!r}; no such file.")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
            raise ValueError(
                f"Expected a nisflow integrator file at {str(path)!r}; could not read it: {err}"
            ) from None
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(
                f"Expected a file written by Integrator.save at {str(path)!r}; got "
                f"{'a ' + type(state).__name__ if not isinstance(state, dict) else 'another format'}."
            )
        if state.get("version") != _VERSION:
            raise ValueError(
                f"Expected file format version {_VERSION}; got {state.get('version')!r}."
            )
        try:
            cfg = dict(state["config"])
            training_cfg = dict(cfg["training"])
            if training_cfg["loss"] is None:
                if loss is None:
                    raise ValueError(
                        "Expected loss=... : the integrator was saved with a custom loss."
                    )
                training_cfg["loss"] = loss
            if cfg["flow"] is None:
                if flow is None:
                    raise ValueError(
                        "Expected flow=... : the integrator was saved with a custom flow object."
                    )
                flow_arg: str | FlowConfig | Flow = flow
            else:
                flow_arg = FlowConfig(**cfg["flow"])
            integrator = cls(
                cfg["d"],
                f,
                device=device,
                flow=flow_arg,
                n_iter_survey=cfg["n_iter_survey"],
                n_iter_refine=cfg["n_iter_refine"],
                n_points_survey=cfg["n_points_survey"],
                n_points_refine=cfg["n_points_refine"],
                seed=cfg["seed"],
                domain=cfg["domain"],
                use_survey=cfg["use_survey"],
                verbose=verbose,
                training=TrainingConfig(**training_cfg),
                dtype=_DTYPES[cfg["dtype"]],
                nonfinite=cfg["nonfinite"],
                chunk_size=cfg["chunk_size"],
            )
            integrator.trainer.load_state_dict(state["trainer"])
            integrator.strategy.load_state_dict(state["strategy"])
            integrator.history = [IterationRecord(**r) for r in state["history"]]
            integrator.integrand.n_evals = int(state["n_evals"])
            gen_state = state["generator"]
        except (KeyError, TypeError, RuntimeError) as err:
            raise ValueError(
                f"Expected a saved integrator matching this configuration at {str(path)!r}; "
                f"got a mismatch: {err}"
            ) from None
        if integrator.device.type == "cpu":
            integrator.generator.set_state(gen_state)
        else:
            try:
                integrator.generator.set_state(gen_state.to(integrator.device))
            except RuntimeError:
                integrator.generator.set_state(gen_state)
        return integrator

    def __repr__(self) -> str:
        return (
            f"Integrator(d={self.d}, flow={type(self.flow).__name__}, "
            f"loss={self.training.loss!r}, survey_strategy={self.training.survey_strategy!r}, "
            f"n_evals={self.n_evals})"
        )


def _check_count(v: object, name: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"Expected {name} to be an integer >= {minimum}; got {v!r}.")
    return v
