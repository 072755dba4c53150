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
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor

from .checks import check_dimension
from .diagnostics import NisflowReliabilityWarning, WeightAccumulator, WeightStats, diagnose
from .envelope import LatentEnvelope, cell_maxima, envelope_from_maxima, envelope_grid
from .flows.flow import Flow
from .integrand import Integrand
from .integrator_base import (
    IntegratorBase,
    check_count,
    check_count_or_auto,
    check_dtype,
    check_seed,
    seeded_generators,
    training_with_loss,
)
from .losses import Loss
from .persistence import DTYPES, mismatch_is_value_error, training_from_config, training_to_config
from .result import IntegrationResult, IterationRecord
from .sampling import (
    ReplicateAccumulator,
    StratifiedAccumulator,
    check_uniform_fraction,
    choose_refine_sampler,
    flow_from_unit,
    mix_log_prob,
    qmc_chunks,
    replicate_sizes,
    sample_defensive,
    stratified_chunks,
    supports_latent_stratification,
    unit_from_flow,
)
from .stratification import allocate, neighbourhood, regrid, strata_per_dim
from .training.survey import SURVEY_STRATEGIES, SurveyStrategy, get_survey_strategy
from .training.trainer import Trainer, auto_batch_size

__all__ = ["Integrator", "FlowConfig", "TrainingConfig", "SamplingConfig"]


@dataclass(frozen=True)
class FlowConfig:
    """The default flow: a :class:`~nisflow.flows.coupling_flow.CouplingFlow`.

    Attributes:
        transform: ``"rq_spline"``, ``"pwlinear"``, ``"pwquad"`` or ``"affine"``.
        n_cells: coupling cells (``None``: enough to transform every coordinate).
        n_bins: bins of the binned transforms: a positive integer, ``None`` for the
            transform's default (8), or ``"auto"`` (the default): 16 for the RQ spline in
            ``d <= 2``, where each coordinate passes through one or two spline transforms and
            their bins are all the resolution the flow has (camel2: 1.47× lower variance per
            point over four seeds), the transform's default otherwise (from 4D on 16 bins were
            worse: docs/performance.md section 5).
        mask: ``"checkerboard"``, ``"iflow"``, ``"random"`` or ``"auto"`` (the default:
            :func:`~nisflow.flows.masks.auto_mask`, the checkerboard up to ``d = 8`` and the
            i-flow decomposition above, which splits every pair of coordinates in some cell).
            With ``n_cells=None`` the i-flow family has ``2 ceil(log2 d)`` cells.
        permutation: ``None``, ``"exchange"``, ``"random"``, ``"soft"`` or ``"rotation"``.
        hidden: width of the conditioner networks.
        layers: hidden layers of the conditioner networks.
    """

    transform: str = "rq_spline"
    n_cells: int | None = None
    n_bins: int | str | None = "auto"
    mask: str = "auto"
    permutation: str | None = None
    hidden: int = 64
    layers: int = 2

    def __post_init__(self) -> None:
        check_count_or_auto(self.n_bins, "n_bins")

    def bins(self, d: int) -> int | None:
        """The bins the flow for dimension ``d`` gets (``None``: the transform's default)."""
        if self.n_bins != "auto":
            return self.n_bins  # type: ignore[return-value]
        return 16 if self.transform == "rq_spline" and d <= 2 else None

    def build(self, d: int, *, generator: torch.Generator | None = None) -> Flow:
        """Construct the flow for dimension ``d`` (network weights from ``generator``)."""
        from .flows.coupling_flow import CouplingFlow

        return CouplingFlow(
            d,
            self.transform,
            n_cells=self.n_cells,
            n_bins=self.bins(d),
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
    (more gradient steps per evaluation). Flows of more than four coupling cells (the default
    above ``d = 8``) take 500 points per cell and step (:func:`~nisflow.training.auto_batch_size`).

    Attributes:
        loss: a name of :data:`nisflow.losses.LOSSES` or a callable ``loss(f, log_g, log_q)``.
        survey_strategy: ``"flat"``, ``"forward"``, ``"adaptive"``, ``"online"`` or
            ``"buffered"`` (see :mod:`nisflow.training.survey`).
        n_epochs: passes over each survey batch (buffered: 1 online + ``n_epochs − 1``
            buffered).
        batch_size: points per gradient step: a positive integer, ``None`` for the whole survey
            batch, or ``"auto"`` (the default) for
            :func:`~nisflow.training.auto_batch_size`: 2,000, or 500 per coupling cell in flows
            of more than four.
        lr: Adam learning rate.
        max_grad_norm: gradient clipping (``None``: none).
        cuda_graphs: on a CUDA device, replay each gradient step as a recorded CUDA graph
            (:mod:`nisflow.training.graphs`): the same arithmetic, launched once instead of as
            hundreds of small kernels. Ignored on the CPU.
    """

    loss: str | Loss = "variance"
    survey_strategy: str = "adaptive"
    n_epochs: int = 5
    batch_size: int | str | None = "auto"
    lr: float = 3e-3
    max_grad_norm: float | None = 10.0
    cuda_graphs: bool = True

    def __post_init__(self) -> None:
        check_count_or_auto(self.batch_size, "batch_size")


@dataclass(frozen=True)
class SamplingConfig:
    """How points are drawn for integration (see :mod:`nisflow.sampling`).

    Attributes:
        stratified: stratify the refine points in the flow's latent cube: ``True``, ``False``
            or ``"auto"`` (on when randomized QMC is not used and at least 2 strata per axis
            fit, i.e. :func:`~nisflow.stratification.strata_per_dim` ``>= 2``).
        qmc: draw the refine's latent points as ``qmc_replicates`` independently scrambled
            Sobol' sequences (randomized quasi-Monte Carlo, :func:`~nisflow.sampling.qmc_chunks`):
            ``True``, ``False`` or ``"auto"`` (on from ``d = 3``, where stratification has few
            strata per axis left; in 1D and 2D the stratified refine is better). Samples from
            :meth:`Integrator.sample` and :meth:`Integrator.unweight` stay i.i.d.
        qmc_replicates: independent scramblings per refine iteration; their spread gives the
            error (``qmc_replicates − 1`` degrees of freedom per iteration).
        uniform_fraction: the defensive mixture's uniform fraction ``α``: points come from
            ``(1 − α) q + α`` in the survey, refine, sampling and unweighting; ``0`` disables.
        beta: damping exponent of the adaptive allocation of points to strata (1: points ∝
            the previous iteration's per-stratum spread, 0: even).
        allocation_smoothing: for the strata of the uniform density (the refine's
            ``"uniform"`` sampler, whose weight is the integrand itself), the share of each
            stratum's spread taken from its 3^d-block neighbourhood before allocating: its
            variance ``σ²`` becomes ``(1 − s) σ² + s`` × the block's mean ``σ²``. A stratum's
            spread is estimated from 2–3 points, so a stratum that an edge of the integrand
            crosses shows it only when its points fall on both sides; its neighbours along
            the edge reveal it (slashed2: 0.00126 → 0.00079 per point, smooth integrands
            unchanged). The flow's latent strata keep their own spreads (on camel2 smoothing
            them cost 4–8%). 0 switches it off.
        points_per_cell: average points per stratum: the latent cube is cut into the most
            strata that leave this many points each; every stratum gets 2 and the rest,
            ``1 − 2 / points_per_cell`` of the iteration, goes where the spread was largest
            (VEGAS+'s ``neval_frac``). 2 gives the finest strata and no adaptation.
        uniform_candidate: let the refine try the uniform density itself next to the flow:
            the first refine iteration starts with two pilots of 1/8 of its points, one from
            each (stratified or QMC as above), and the rest of the refine uses the flow if its
            variance per point was below half the uniform density's, the uniform density
            otherwise, provided the two pilot estimates agree within 3 combined standard
            deviations (otherwise the flow; :func:`~nisflow.sampling.choose_refine_sampler`
            says why the margin). The pilots only decide: they
            are recorded in the history, not part of the estimate (so the choice cannot bias
            it) nor of the diagnostics. ``True``, ``False`` or ``"auto"`` (on for ``d <= 2``,
            where a finely stratified uniform sampler can beat a trained flow on a smooth
            integrand: sinusoidal2 at the full budget, 7× lower variance).
            :meth:`Integrator.sample` always uses the flow, :meth:`Integrator.unweighting_sample`
            the chosen sampler.
        unweighting_envelope: let the refine record the largest latent weight per cell of a
            coarse latent grid (up to ``d = 3``) and :meth:`Integrator.unweighting_sample` (hence
            :meth:`Integrator.unweight`) draw from that envelope (:mod:`nisflow.envelope`):
            higher unweighting efficiency, larger spread of the weights.
    """

    stratified: bool | str = "auto"
    uniform_fraction: float = 0.05
    beta: float = 1.0
    allocation_smoothing: float = 0.25
    points_per_cell: int = 3
    qmc: bool | str = "auto"
    qmc_replicates: int = 64
    uniform_candidate: bool | str = "auto"
    unweighting_envelope: bool = True

    def __post_init__(self) -> None:
        if self.stratified not in (True, False, "auto"):
            raise ValueError(f"Expected stratified True, False or 'auto'; got {self.stratified!r}.")
        if self.qmc not in (True, False, "auto"):
            raise ValueError(f"Expected qmc True, False or 'auto'; got {self.qmc!r}.")
        if self.uniform_candidate not in (True, False, "auto"):
            raise ValueError(
                f"Expected uniform_candidate True, False or 'auto'; got {self.uniform_candidate!r}."
            )
        if not isinstance(self.unweighting_envelope, bool):
            raise ValueError(
                f"Expected unweighting_envelope True or False; got {self.unweighting_envelope!r}."
            )
        if self.qmc is True and self.stratified is True:
            raise ValueError("Expected at most one of stratified=True and qmc=True; got both.")
        for name in ("qmc_replicates", "points_per_cell"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"Expected {name} an integer >= 2; got {value!r}.")
        check_uniform_fraction(self.uniform_fraction)
        if (
            isinstance(self.beta, bool)
            or not isinstance(self.beta, (int, float))
            or not (0 <= self.beta <= 1)
        ):
            raise ValueError(f"Expected beta in [0, 1]; got {self.beta!r}.")
        s = self.allocation_smoothing
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not (0 <= s <= 1):
            raise ValueError(f"Expected allocation_smoothing in [0, 1]; got {s!r}.")


class Integrator(IntegratorBase):
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
        sampling: a :class:`SamplingConfig` (stratification, uniform fraction).
        stratified: overrides ``sampling.stratified``.
        qmc: overrides ``sampling.qmc``.
        uniform_fraction: overrides ``sampling.uniform_fraction``.

    Every result carries :class:`~nisflow.diagnostics.Diagnostics`; when they say that the
    error bar cannot be trusted, :meth:`refine` warns with a
    :class:`~nisflow.diagnostics.NisflowReliabilityWarning`.
    """

    _FORMAT = "nisflow.Integrator"
    _SAVED_BY = "Integrator.save"

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
        sampling: SamplingConfig | None = None,
        stratified: bool | str | None = None,
        qmc: bool | str | None = None,
        uniform_fraction: float | None = None,
    ):
        self.d = check_dimension(d)
        sampling = sampling or SamplingConfig()
        if stratified is not None:
            sampling = replace(sampling, stratified=stratified)
        if qmc is not None:
            sampling = replace(sampling, qmc=qmc)
        if uniform_fraction is not None:
            sampling = replace(sampling, uniform_fraction=uniform_fraction)
        self.sampling = sampling
        self._set_budget(n_iter_survey, n_iter_refine, n_points_survey, n_points_refine)
        check_seed(seed)
        check_dtype(dtype)
        training = training_with_loss(training or TrainingConfig(), loss)
        if survey_strategy is not None:
            training = replace(training, survey_strategy=survey_strategy)
        if training.survey_strategy not in SURVEY_STRATEGIES:
            raise ValueError(
                f"Expected a survey strategy in {sorted(SURVEY_STRATEGIES)}; got "
                f"{training.survey_strategy!r}."
            )
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.seed = seed
        self.use_survey = bool(use_survey)
        self.verbose = bool(verbose)
        self.training = training
        self.chunk_size = check_dimension(chunk_size, "chunk_size")
        self.integrand = Integrand(
            f, self.d, domain=domain, nonfinite=nonfinite, chunk_size=self.chunk_size
        ).to(self.device)

        init_generator, self.generator = seeded_generators(seed, self.device)
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
            batch_size=(
                auto_batch_size(model) if training.batch_size == "auto" else training.batch_size
            ),
            max_grad_norm=training.max_grad_norm,
            chunk_size=self.chunk_size,
            uniform_fraction=sampling.uniform_fraction,
            cuda_graphs=training.cuda_graphs,
        )
        if True in (sampling.stratified, sampling.qmc) and not supports_latent_stratification(
            model
        ):
            raise ValueError(
                "Expected a flow with a UniformPrior or GaussianPrior for stratified=True or "
                "qmc=True; got "
                f"{type(model.prior).__name__}."
            )
        self.strategy: SurveyStrategy = get_survey_strategy(training.survey_strategy)
        self.history: list[IterationRecord] = []
        self.interrupted = False
        # per mixture component: (strata per axis, per-cell σ) of the last refine iteration
        self._cell_sigma: dict[str, tuple[int, Tensor]] = {}
        # the refine's sampler after the pilot ("flow" or "uniform"; None: not chosen yet)
        self.refine_sampler: str | None = None
        # per base sampler ("flow" or "flat"): (cells per axis, largest latent weight per cell)
        # of the refine since the flow last changed (nisflow.envelope)
        self._envelope_max: dict[str, tuple[int, Tensor]] = {}

    # -- properties ---------------------------------------------------------------------------
    @property
    def flow(self) -> Flow:
        """The flow being trained."""
        return self.trainer.flow

    def _set_mode(self, train: bool) -> None:
        self.flow.train(train)

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
        n_iter, n_points = self._survey_counts(n_iter, n_points)
        start_index = sum(1 for r in self.history if r.phase == "survey")
        records: list[IterationRecord] = []
        seen_nonzero = any(r.value != 0 or r.variance != 0 for r in self.history)
        with self._survey_progress(n_iter, records) as bar:
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
                self._cell_sigma = {}  # the flow changed: the strata's spreads are stale
                self.refine_sampler = None  # and the pilot's choice too
                self._envelope_max = {}  # and the weight's envelope
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
        return records

    # -- refine -------------------------------------------------------------------------------
    def refine(self, n_iter: int | None = None, n_points: int | None = None) -> IntegrationResult:
        """Integrate with the current flow: ``n_iter`` iterations of ``n_points`` fresh points.

        Returns:
            The combination of these iterations (and of the survey's, with ``use_survey``),
            with :class:`~nisflow.diagnostics.Diagnostics`.

        Warns:
            NisflowReliabilityWarning: the diagnostics say the error bar is not reliable.
        """
        return self._refine(n_iter, n_points)

    @torch.no_grad()
    def _refine(self, n_iter: int | None, n_points: int | None) -> IntegrationResult:
        n_iter, n_points = self._refine_counts(n_iter, n_points)
        stats: list[WeightStats] = []
        plan = self._refine_plan(n_iter, n_points)
        n_pilots = sum(pilot_of is not None for _, pilot_of in plan)
        pilot: dict[str, tuple[float, float, int]] = {}

        def iteration() -> tuple[float, float, int, str]:
            n, pilot_of = plan[len(stats)]
            candidate = pilot_of or self.refine_sampler or "flow"
            alpha = 1.0 if candidate == "uniform" else None
            value, variance, weight_stats, sampler = self._refine_iteration(n, alpha=alpha)
            stats.append(weight_stats)
            if candidate == "uniform":
                sampler = "flat" if sampler == "model" else f"flat/{sampler}"
            if pilot_of is not None:
                pilot[pilot_of] = (value, variance, n)
                if len(pilot) == n_pilots:
                    self.refine_sampler = choose_refine_sampler(pilot)
            return value, variance, n, sampler

        records = self._refine_records(len(plan), iteration)
        # the pilots only decide: kept out of the estimate, which therefore does not depend on
        # which way the choice went (no selection bias), and out of the diagnostics (a uniform
        # pilot that missed a narrow peak states too small an error: it would spoil both)
        decides = [candidate is not None for _, candidate in plan]
        records = [r for r, d in zip(records, decides, strict=True) if not d]
        stats = [w for w, d in zip(stats, decides, strict=True) if not d]
        combined = list(records)
        survey = [r for r in self.history if r.phase == "survey"]
        if self.use_survey:
            combined = survey + combined
        result = IntegrationResult.from_iterations(combined, self.history, n_evals=self.n_evals)
        diagnostics = diagnose(
            records, stats, survey, uniform_fraction=self.sampling.uniform_fraction
        )
        problems = diagnostics.problems()
        if problems:
            warnings.warn(
                f"The error of the integral {result} may not be reliable: "
                + "; ".join(problems)
                + ".",
                NisflowReliabilityWarning,
                stacklevel=4,  # _refine <- torch.no_grad <- refine or integrate <- their caller
            )
        return replace(result, diagnostics=diagnostics)

    def uses_uniform_candidate(self) -> bool:
        """Whether the refine tries the uniform density next to the flow (see
        :class:`SamplingConfig` ``uniform_candidate``)."""
        choice = self.sampling.uniform_candidate
        if choice is False or self.sampling.uniform_fraction == 1:
            return False
        return choice is True or self.d <= 2

    def _refine_plan(self, n_iter: int, n_points: int) -> list[tuple[int, str | None]]:
        """``(points, sampler)`` per refine iteration (``sampler`` ``None``: the chosen one).

        While the choice is open, the first iteration's ``n_points`` become two pilots of
        ``n_points // 8`` points, one from the flow and one from the uniform density, and the
        rest from the chosen sampler. The pilots only decide: they are recorded in the history
        but are not part of the estimate."""
        plan: list[tuple[int, str | None]] = [(n_points, None)] * n_iter
        if self.refine_sampler is None and self.uses_uniform_candidate() and n_points >= 64:
            # pilots of n/8: the flow's and the uniform density's stratified variances fall at
            # different rates with n, so the ranking at n/20 (the first choice) did not carry
            # over to n on slashed2; at n/8 it did on Suite A's 2D functions (performance.md §4c)
            p = max(8, n_points // 8)
            plan[:1] = [(p, "flow"), (p, "uniform"), (n_points - 2 * p, None)]
        return plan

    def strata_per_dim(self, n_points: int) -> int:
        """Strata per latent axis the refine phase uses for ``n_points`` points (1: none)."""
        if (
            self.sampling.stratified is False
            or self.uses_qmc(n_points)
            or not supports_latent_stratification(self.flow)
        ):
            return 1
        return strata_per_dim(n_points, self.d, min_per_cell=self.sampling.points_per_cell)

    def uses_qmc(self, n_points: int) -> bool:
        """Whether a refine component of ``n_points`` points uses randomized QMC."""
        qmc = self.sampling.qmc
        if qmc is False or not supports_latent_stratification(self.flow):
            return False
        if n_points < 2 * self.sampling.qmc_replicates:
            return False
        return qmc is True or (self.sampling.stratified is not True and self.d >= 3)

    def _refine_iteration(
        self, n_points: int, *, alpha: float | None = None
    ) -> tuple[float, float, WeightStats, str]:
        """One refine iteration: ``(value, variance, weight statistics, sampler name)``.

        ``alpha`` overrides the uniform fraction (``1``: the uniform density alone).

        The estimate is ``(1 − α) Ŝ_q + α Ŝ_u`` (see :mod:`nisflow.sampling`): ``n_u =
        max(2, round(α n))`` points of the uniform component and the rest from the flow, every
        weight ``f / ((1 − α) q + α)``. Each component's latent points are scrambled Sobol'
        replicates when :meth:`uses_qmc` says so; otherwise they are stratified in the latent
        cube when ``m >= 2`` strata per axis fit (:meth:`strata_per_dim`), with points allocated
        to the cells from the previous iteration's per-cell spreads, and plain otherwise.
        """
        alpha = self.sampling.uniform_fraction if alpha is None else alpha
        n_uniform = (
            0 if alpha == 0 else (n_points if alpha == 1 else max(2, round(alpha * n_points)))
        )
        n_flow = n_points - n_uniform
        if 0 < n_flow < 2:
            raise ValueError(
                f"Expected n_points >= {n_uniform + 2} with uniform_fraction={alpha}; got "
                f"{n_points}."
            )
        weights = WeightAccumulator(n_points)
        value, variance, sampler = 0.0, 0.0, "model"
        for component, fraction, n in (
            ("flow", 1.0 - alpha, n_flow),
            ("uniform", alpha, n_uniform),
        ):
            if n == 0:
                continue
            mean, var, how = self._component_estimate(component, n, fraction, weights, alpha)
            value += fraction * mean
            variance += fraction * fraction * var
            if component == "flow" or n_flow == 0:
                sampler = how
        return value, variance, weights.stats(), sampler

    def _component_estimate(
        self, component: str, n: int, fraction: float, weights: WeightAccumulator, alpha: float
    ) -> tuple[float, float, str]:
        """``(Ŝ, Var Ŝ, how)`` of one component of the mixture ``(1 − alpha) q + alpha`` from
        ``n`` points, in chunks.

        ``how`` is ``"strata"`` (stratified latent cube), ``"rqmc"`` (scrambled Sobol'
        replicates) or ``"model"`` (plain sampling).
        """
        key = "flat" if alpha == 1 else component  # the uniform density alone keeps its strata
        kw = dict(generator=self.generator, device=self.device, dtype=self.flow.dtype)
        latent = True
        if self.uses_qmc(n):
            how, m = "rqmc", 1
            sizes = replicate_sizes(n, self.sampling.qmc_replicates)
            scale = fraction / (len(sizes) * sizes.to(self.device, torch.float64))
            acc: StratifiedAccumulator | ReplicateAccumulator = ReplicateAccumulator(
                len(sizes), device=self.device
            )
            chunks = qmc_chunks(sizes, self.d, self.chunk_size, **kw)
        else:
            m = self.strata_per_dim(n)
            how, latent = ("strata", True) if m >= 2 else ("model", False)
            n_cells = m**self.d
            previous = self._cell_sigma.get(key)  # e.g. a pilot's: carried to this grid
            sigma = regrid(previous[1], previous[0], m, self.d) if previous else None
            # the uniform density's strata see the integrand itself, edges and all
            smoothing = self.sampling.allocation_smoothing if key == "flat" else 0.0
            if sigma is not None and m >= 2 and smoothing > 0:
                var = sigma * sigma
                var = (1 - smoothing) * var + smoothing * neighbourhood(var, m, self.d)
                sigma = var.sqrt()
            counts = (
                allocate(n, n_cells, sigma, beta=self.sampling.beta)
                if m >= 2
                else torch.tensor([n], dtype=torch.long)
            )
            scale = fraction * (1.0 / n_cells) / counts.to(self.device, torch.float64)
            acc = StratifiedAccumulator(n_cells, device=self.device)
            chunks = stratified_chunks(counts, m, self.d, self.chunk_size, **kw)
        m_env = envelope_grid(n, self.d) if latent and key != "uniform" else 1
        maxima = None
        if m_env > 1 and self.sampling.unweighting_envelope:
            stored = self._envelope_max.get(key)
            maxima = (
                stored[1].to(self.device)
                if stored is not None and stored[0] == m_env
                else torch.zeros(m_env**self.d, dtype=torch.float64, device=self.device)
            )
        for u, group in chunks:
            if alpha == 1:
                x, log_q = u, torch.zeros(u.shape[0], dtype=torch.float64, device=u.device)
            elif component == "uniform":
                x, log_q = u, self.flow.log_prob(u).to(torch.float64)
            elif latent:
                x, log_q = flow_from_unit(self.flow, u)
            else:  # any prior: the flow's own sampler
                x, log_q = self.flow.sample_and_log_prob(u.shape[0], generator=self.generator)
            fx = self.integrand(x)
            w = fx * torch.exp(-mix_log_prob(log_q, alpha))
            acc.add(w, group)
            weights.add(w * scale[group])
            if maxima is not None:  # the base sampler's own latent weight |f| / q
                cell_maxima(u, fx * torch.exp(-log_q), m_env, out=maxima)
        if maxima is not None:
            self._envelope_max[key] = (m_env, maxima)
        est = acc.estimate()
        if how == "strata":
            self._cell_sigma[key] = (m, est.cell_sigma)
        return est.mean, est.variance, how

    # -- sampling -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``n`` weighted points from the trained flow.

        Returns:
            ``(x, w, log_q)``: points in the domain, shape ``(n, d)``; float64 weights
            ``w = f(x) / q(x)`` whose mean estimates the integral, shape ``(n,)``; and the
            float64 log-density of the points in the domain, shape ``(n,)``.
        """
        check_count(n, "n", 0)
        u, log_q = self._draw(n)
        w = self.integrand(u) * torch.exp(-log_q)
        return self.integrand.to_domain(u), w, log_q - self.integrand.log_volume

    def envelope(self) -> LatentEnvelope | None:
        """The latent envelope :meth:`unweighting_sample` draws from, or None.

        It exists after a refine in ``d <= 3`` with ``sampling.unweighting_envelope`` on, for
        the sampler the refine chose (the flow, or the uniform density when the refine's pilot
        chose it), and is dropped when the survey changes the flow.
        """
        if not self.sampling.unweighting_envelope:
            return None
        stored = self._envelope_max.get("flat" if self.refine_sampler == "uniform" else "flow")
        if stored is None:
            return None
        m, maxima = stored
        return envelope_from_maxima(maxima, m, self.d)

    @torch.no_grad()
    def unweighting_sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``n`` weighted points for unweighting: what :meth:`unweight` uses.

        After a refine in ``d <= 3`` the latent point comes from the refine's envelope of the
        weight (:meth:`envelope`, :mod:`nisflow.envelope`), which caps the largest weights and
        raises the unweighting efficiency ``mean(w) / max(w)``; the density is ``(1 − α) q(x)
        h(u) + α`` with ``u`` the latent point of ``x`` (``q ≡ 1`` when the refine chose the
        uniform density). The weights spread more than :meth:`sample`'s, so for weighted events
        use :meth:`sample`. Without an envelope this is :meth:`sample`.

        Returns:
            ``(x, w, log_q)`` as :meth:`sample`: points in the domain, shape ``(n, d)``; float64
            weights, shape ``(n,)``; float64 log-density in the domain, shape ``(n,)``.
        """
        check_count(n, "n", 0)
        envelope = self.envelope()
        if envelope is None or n == 0:
            return self.sample(n)
        flow, flat = self.flow, self.refine_sampler == "uniform"

        def draw(k: int) -> tuple[Tensor, Tensor]:  # the base sampler, latent points from h
            u, log_h = envelope.sample(
                k, generator=self.generator, device=self.device, dtype=flow.dtype
            )
            if flat:
                return u, log_h
            x, log_q = flow_from_unit(flow, u)
            return x, log_q + log_h

        def log_density(x: Tensor) -> Tensor:  # the base density at the uniform component's x
            if flat:
                return envelope.log_prob(x)
            u, log_q = unit_from_flow(flow, x)
            return log_q + envelope.log_prob(u)

        chunks = [
            sample_defensive(
                draw,
                log_density,
                min(self.chunk_size, n - start),
                self.sampling.uniform_fraction,
                self.d,
                generator=self.generator,
                device=self.device,
                dtype=flow.dtype,
            )
            for start in range(0, n, self.chunk_size)
        ]
        x = torch.cat([c[0] for c in chunks])
        log_g = torch.cat([c[1] for c in chunks])
        w = self.integrand(x) * torch.exp(-log_g)
        return self.integrand.to_domain(x), w, log_g - self.integrand.log_volume

    # -- persistence --------------------------------------------------------------------------
    def _config(self) -> dict[str, object]:
        return {
            "d": self.d,
            "domain": self.integrand.domain,
            "flow": asdict(self.flow_config) if self.flow_config is not None else None,
            "training": training_to_config(self.training),
            **self._budget(),
            "seed": self.seed,
            "use_survey": self.use_survey,
            "dtype": str(self.flow.dtype).removeprefix("torch."),
            "nonfinite": self.integrand.nonfinite,
            "chunk_size": self.chunk_size,
            "sampling": asdict(self.sampling),
        }

    def _state(self) -> dict[str, object]:
        return {
            "trainer": self.trainer.state_dict(),
            "strategy": self.strategy.state_dict(),
            "strata": {k: {"m": m, "cell_sigma": s} for k, (m, s) in self._cell_sigma.items()},
            "refine_sampler": self.refine_sampler,
            "envelope": {k: {"m": m, "maxima": v} for k, (m, v) in self._envelope_max.items()},
        }

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
        state = cls._read(path)
        with mismatch_is_value_error(path, "this configuration"):
            cfg = dict(state["config"])
            training_cfg = training_from_config(cfg["training"], loss)
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
                **cls._saved_budget(cfg),
                seed=cfg["seed"],
                domain=cfg["domain"],
                use_survey=cfg["use_survey"],
                verbose=verbose,
                training=TrainingConfig(**training_cfg),
                dtype=DTYPES[cfg["dtype"]],
                nonfinite=cfg["nonfinite"],
                chunk_size=cfg["chunk_size"],
                sampling=SamplingConfig(**cfg["sampling"]) if "sampling" in cfg else None,
            )
            integrator.trainer.load_state_dict(state["trainer"])
            integrator.strategy.load_state_dict(state["strategy"])
            integrator._cell_sigma = {
                k: (int(v["m"]), v["cell_sigma"]) for k, v in (state.get("strata") or {}).items()
            }
            chosen = state.get("refine_sampler")
            if chosen not in (None, "flow", "uniform"):
                raise ValueError(f"Expected refine_sampler 'flow' or 'uniform'; got {chosen!r}.")
            integrator.refine_sampler = chosen
            integrator._envelope_max = {
                k: (int(v["m"]), v["maxima"].to(integrator.device))
                for k, v in (state.get("envelope") or {}).items()
            }
            integrator._restore(state)
        return integrator

    def __repr__(self) -> str:
        return (
            f"Integrator(d={self.d}, flow={type(self.flow).__name__}, "
            f"loss={self.training.loss!r}, survey_strategy={self.training.survey_strategy!r}, "
            f"n_evals={self.n_evals})"
        )
