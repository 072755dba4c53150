"""The multi-channel integrator of MadNIS: channels, channel weights, stratified training.

The integral is split over channels with weights ``α_i(x)`` that sum to one (eq. 5–6)::

    I = Σ_i ∫ α_i(x) f(x) dx ≈ Σ_i mean_{x ~ g_i}[ α_i(x) f(x) / g_i(x) ]        (eq. 15)

Channel ``i`` draws ``N_i`` points from its density ``g_i`` (a mapping, optionally after a flow,
:class:`~nisflow.multichannel.Channel`); the per-channel means and variances combine as eq. 16,
``Var = Σ_i σ_i² / N_i``. Each iteration allocates ``N_i ∝ σ_i`` from the previous iteration's
``σ_i`` with a uniform floor fraction (eq. 17, "variance-weighted training"); the allocation is
fixed before the points are drawn, so every iteration's estimate stays unbiased.

Training (the survey) draws a batch from every active channel, evaluates ``f`` once, and takes
gradient steps on the losses summed over channels (appendix A, eq. 69) for the flows' and the
channel-weight network's parameters together, with one optimizer. With ``n_epochs > 1`` the
batch is re-used: the first pass is online, the later ones are buffered training on stored
``(x, f, q)`` with the q-weighted losses (§3.3).

The loss is the variance of the integral, eq. 16 with the current allocation ``ν_i = N_i / N``::

    L = Σ_i V_i / ν_i / Î²,   V_i = mean_q[(α_i f)² / (g_i q)] − mean_q[α_i f / q]²   (eq. 74)

differentiated with respect to the flows through ``g_i`` and to the channel weights through
``α_i``. Another flow loss of :data:`nisflow.losses.LOSSES` can be chosen; it is then weighted
per channel by ``a_i = (Î_i / Î)² / ν_i`` and the weights are still trained on the variance.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import check_dimension
from ..integrand import Integrand, check_domain
from ..integrator_base import (
    IntegratorBase,
    check_count,
    check_dtype,
    check_seed,
    seeded_generators,
    training_with_loss,
)
from ..losses import Loss, get_loss
from ..persistence import DTYPES, mismatch_is_value_error, training_from_config, training_to_config
from ..result import IntegrationResult, IterationRecord, estimate_from_weights
from .allocation import allocate, channels_to_keep
from .channel import Channel
from .weights import (
    ChannelWeightNet,
    ChannelWeights,
    FunctionPrior,
    SherpaPrior,
    UniformWeights,
)

__all__ = ["MultiChannelIntegrator", "MultiChannelTrainingConfig", "ChannelBatch"]

_WEIGHT_MODES = ("trained", "prior", "uniform")
_ALLOCATIONS = ("stratified", "uniform")


@dataclass(frozen=True)
class MultiChannelTrainingConfig:
    """How the survey trains the flows and the channel weights.

    Attributes:
        loss: the flows' loss, a name of :data:`nisflow.losses.LOSSES` or a callable
            ``loss(f, log_g, log_q)``; ``"variance"`` trains flows and weights on eq. 16.
        n_epochs: passes over each survey batch (1 online, ``n_epochs − 1`` buffered).
        batch_size: points per gradient step, summed over channels (``None``: the whole batch).
        lr: Adam learning rate.
        lr_decay: inverse-time decay, ``lr / (1 + lr_decay · iteration)`` per survey iteration.
        max_grad_norm: gradient clipping (``None``: none).
        uniform_fraction: the fraction of every batch spread evenly over the active channels.
    """

    loss: str | Loss = "variance"
    n_epochs: int = 1
    batch_size: int | None = 1_000
    lr: float = 1e-3
    lr_decay: float = 0.0
    max_grad_norm: float | None = 10.0
    uniform_fraction: float = 0.1


@dataclass
class ChannelBatch:
    """The points of one channel in one iteration (detached), for estimates and training.

    Attributes:
        channel: the channel's index.
        x: points, float64, shape ``(n, d)``.
        f: integrand values, float64, shape ``(n,)``.
        log_q: log-density the points were drawn from, float64, shape ``(n,)``.
        log_g_map: every channel's mapping log-density at ``x``, float64, shape ``(n, m)``.
        alpha: this channel's weight ``α_i(x)`` at sampling time, float64, shape ``(n,)``.
    """

    channel: int
    x: Tensor
    f: Tensor
    log_q: Tensor
    log_g_map: Tensor
    alpha: Tensor

    @property
    def weights(self) -> Tensor:
        """``α_i f / q``, float64, shape ``(n,)``."""
        return self.alpha * self.f * torch.exp(-self.log_q)


class MultiChannelIntegrator(IntegratorBase):
    """Multi-channel neural importance sampling for ``∫ f(x) dx`` (MadNIS).

    Args:
        f: the integrand, ``f(x)`` with ``x`` of shape ``(n, d)`` in physical coordinates,
            returning ``(n,)`` (torch or numpy).
        d: the dimension.
        channels: the :class:`~nisflow.multichannel.Channel` objects (at least one).
        channel_weights: ``"trained"`` (a :class:`ChannelWeightNet` correcting ``prior``),
            ``"prior"`` (the prior itself), ``"uniform"``, or a
            :class:`~nisflow.multichannel.weights.ChannelWeights` module.
        prior: the prior weights: ``"sherpa"`` (``α_i ∝ g_i(x)`` of the mappings, eq. 7),
            ``"uniform"`` (flat), a sequence of ``m`` positive global weights (Sherpa-like with
            ``a_i``), one callable ``h(x) -> (n, m)`` or ``m`` callables ``h_i(x) -> (n,)``
            (MG-like, eq. 8/10), or a ``ChannelWeights`` module.
        features: optional ``features(x) -> (n, k)`` given to the channel-weight network next
            to ``x`` (e.g. invariant masses); ``n_features`` is ``k``.
        n_features: the number of extra features.
        cwnet_hidden: hidden width of the channel-weight network.
        cwnet_layers: hidden layers of the channel-weight network.
        loss: the flows' loss (overrides ``training.loss``).
        n_iter_survey: survey (training) iterations.
        n_points_survey: integrand evaluations per survey iteration.
        n_iter_refine: refine iterations.
        n_points_refine: integrand evaluations per refine iteration.
        training: a :class:`MultiChannelTrainingConfig`.
        allocation: ``"stratified"`` (``N_i ∝ σ_i`` with a uniform floor) or ``"uniform"``.
        drop_threshold: channels contributing at most this fraction of the integral (value and
            error) after a survey iteration are dropped; ``0`` drops only vanishing channels.
        domain: ``None`` (no restriction) or ``d`` pairs ``(a, b)``: the integration box. Every
            channel's mapping must map into it.
        seed: seeds the networks' initial weights and every draw: same seed, same numbers.
        device: where flows, networks and points live (default CPU).
        dtype: the flows' dtype (mappings and estimates use float64).
        verbose: show progress bars.
        nonfinite: ``"raise"`` or ``"zero"`` for NaN/inf integrand values.
        chunk_size: the most points evaluated at once.

    Raises:
        ValueError: inconsistent dimensions, an unknown option, or a mapping whose range leaves
            the integration domain.

    Example:
        >>> mc = MultiChannelIntegrator(f, d=1, channels=[
        ...     Channel(mapping=BreitWigner(2.0, math.sqrt(2) * 0.5)),
        ...     Channel(mapping=BreitWigner(5.0, math.sqrt(2) * 0.1))])
        >>> value, error, history = mc.integrate()
    """

    _FORMAT = "nisflow.MultiChannelIntegrator"
    _SAVED_BY = "MultiChannelIntegrator.save"

    def __init__(
        self,
        f: Callable,
        d: int,
        channels: Sequence[Channel],
        *,
        channel_weights: str | ChannelWeights = "trained",
        prior: str | Sequence | Callable | ChannelWeights = "sherpa",
        features: Callable[[Tensor], Tensor] | None = None,
        n_features: int = 0,
        cwnet_hidden: int = 16,
        cwnet_layers: int = 2,
        loss: str | Loss | None = None,
        n_iter_survey: int = 10,
        n_points_survey: int = 10_000,
        n_iter_refine: int = 5,
        n_points_refine: int = 10_000,
        training: MultiChannelTrainingConfig | None = None,
        allocation: str = "stratified",
        drop_threshold: float = 0.0,
        domain: Sequence[Sequence[float]] | None = None,
        seed: int | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        verbose: bool = True,
        nonfinite: str = "raise",
        chunk_size: int = 100_000,
    ):
        self.d = check_dimension(d)
        channels = list(channels)
        if not channels:
            raise ValueError("Expected at least one channel; got none.")
        for i, ch in enumerate(channels):
            if not isinstance(ch, Channel):
                raise TypeError(
                    f"Expected channel {i} to be a nisflow.Channel; got {type(ch).__name__}."
                )
            if ch.d != self.d:
                raise ValueError(f"Expected channel {i} of dimension {self.d}; got {ch.d}.")
        if len({id(ch) for ch in channels}) != len(channels):
            raise ValueError("Expected distinct Channel objects; got the same one twice.")
        self._set_budget(n_iter_survey, n_iter_refine, n_points_survey, n_points_refine)
        if allocation not in _ALLOCATIONS:
            raise ValueError(f"Expected allocation in {list(_ALLOCATIONS)}; got {allocation!r}.")
        if not (0.0 <= drop_threshold < 1.0):
            raise ValueError(f"Expected drop_threshold in [0, 1); got {drop_threshold}.")
        check_seed(seed)
        check_dtype(dtype)
        training = training_with_loss(training or MultiChannelTrainingConfig(), loss)
        check_count(training.n_epochs, "training.n_epochs", 1)
        if not 0.0 <= training.uniform_fraction <= 1.0:
            raise ValueError(
                f"Expected training.uniform_fraction in [0, 1]; got {training.uniform_fraction}."
            )
        self.training = training
        self.loss_fn = get_loss(training.loss)
        self.allocation = allocation
        self.drop_threshold = float(drop_threshold)
        self.seed = seed
        self.verbose = bool(verbose)
        self.chunk_size = check_dimension(chunk_size, "chunk_size")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.domain = check_domain(domain, self.d)
        self.integrand = Integrand(f, self.d, nonfinite=nonfinite, chunk_size=self.chunk_size)
        self.integrand = self.integrand.to(self.device)
        self.m = len(channels)
        for i, ch in enumerate(channels):
            if ch.name == "channel":
                ch.name = f"channel {i}"
        self._check_ranges(channels)

        init_generator, self.generator = seeded_generators(seed, self.device)
        self.channels = torch.nn.ModuleList(channels)
        for ch in self.channels:
            ch.build(generator=init_generator)
            ch.mapping.to(self.device)
            if ch.flow is not None:
                ch.flow.to(device=self.device, dtype=dtype)

        self._prior_spec = prior
        self.prior_module = _make_prior(prior, self.m).to(self.device)
        self.channel_weights_mode = (
            channel_weights if isinstance(channel_weights, str) else "custom"
        )
        self.cwnet_hidden, self.cwnet_layers, self.n_features = (
            cwnet_hidden,
            cwnet_layers,
            n_features,
        )
        if isinstance(channel_weights, ChannelWeights):
            if channel_weights.n_channels != self.m:
                raise ValueError(
                    f"Expected channel weights over {self.m} channels; got "
                    f"{channel_weights.n_channels}."
                )
            self.weights: ChannelWeights = channel_weights.to(self.device)
        elif channel_weights == "uniform":
            self.weights = UniformWeights(self.m).to(self.device)
        elif channel_weights == "prior":
            self.weights = self.prior_module
        elif channel_weights == "trained":
            net = ChannelWeightNet(
                self.m,
                self.d,
                prior=self.prior_module,
                features=features,
                n_features=n_features,
                hidden=cwnet_hidden,
                layers=cwnet_layers,
                generator=init_generator,
            ).to(device=self.device, dtype=torch.float64)
            with torch.no_grad():
                pilot = torch.cat(
                    [
                        ch.sample_and_log_prob(256, generator=self.generator)[0]
                        for ch in self.channels
                    ]
                )
            net.fit_inputs(pilot)
            self.weights = net
        else:
            raise ValueError(
                f"Expected channel_weights in {list(_WEIGHT_MODES)} or a ChannelWeights module; "
                f"got {channel_weights!r}."
            )

        params = [p for ch in self.channels if ch.flow is not None for p in ch.flow.parameters()]
        params += list(self.weights.parameters())
        self._params = params
        self.optimizer = torch.optim.Adam(params, lr=training.lr) if params else None
        self.history: list[IterationRecord] = []
        self.active = torch.ones(self.m, dtype=torch.bool)
        self.sigmas: Tensor | None = None
        self.channel_values = torch.zeros(self.m, dtype=torch.float64)
        self.channel_errors = torch.zeros(self.m, dtype=torch.float64)
        self.n_survey_done = 0
        self.interrupted = False

    # -- checks -------------------------------------------------------------------------------
    def _check_ranges(self, channels: Sequence[Channel]) -> None:
        if self.domain is None:
            return
        lo = torch.tensor([a for a, _ in self.domain], dtype=torch.float64)
        hi = torch.tensor([b for _, b in self.domain], dtype=torch.float64)
        for i, ch in enumerate(channels):
            low, high = ch.mapping.low.detach().cpu(), ch.mapping.high.detach().cpu()
            if bool((low < lo).any() | (high > hi).any()):
                raise ValueError(
                    f"Expected every channel's mapping to map into the integration domain "
                    f"{self.domain}; got channel {i} ({type(ch.mapping).__name__}) with range "
                    f"{ch.mapping.describe_range()}."
                )

    def _check_in_domain(self, x: Tensor, i: int) -> None:
        if self.domain is None:
            return
        lo = torch.tensor([a for a, _ in self.domain], dtype=x.dtype, device=x.device)
        hi = torch.tensor([b for _, b in self.domain], dtype=x.dtype, device=x.device)
        outside = ((x < lo) | (x > hi)).any(-1)
        if bool(outside.any()):
            j = int(outside.nonzero()[0, 0])
            raise ValueError(
                f"Expected channel {i}'s points inside the integration domain {self.domain}; got "
                f"{int(outside.sum())} of {x.shape[0]} outside, e.g. {x[j].tolist()}."
            )

    # -- properties ---------------------------------------------------------------------------
    def channel_weights(self, x: Tensor) -> Tensor:
        """``α_i(x)`` for points ``x`` (n, d): float64, shape ``(n, m)``, rows summing to one."""
        with torch.no_grad():
            return self.weights(x.to(torch.float64), self._mapping_log_probs(x))

    def _mapping_log_probs(self, x: Tensor) -> Tensor:
        return torch.stack([ch.mapping_log_prob(x) for ch in self.channels], dim=-1)

    # -- drawing ------------------------------------------------------------------------------
    def _counts(self, n: int, *, uniform_fraction: float | None = None) -> list[int]:
        sig = self.sigmas if self.allocation == "stratified" else None
        frac = self.training.uniform_fraction if uniform_fraction is None else uniform_fraction
        return allocate(n, sig, self.active, uniform_fraction=frac)

    @torch.no_grad()
    def _draw(self, counts: Sequence[int]) -> list[ChannelBatch]:
        batches = []
        for i, (ch, n_i) in enumerate(zip(self.channels, counts, strict=True)):
            if n_i == 0:
                continue
            x, log_q = ch.sample_and_log_prob(n_i, generator=self.generator)
            self._check_in_domain(x, i)
            f = self.integrand(x)
            log_g_map = self._mapping_log_probs(x)
            alpha = self.weights(x, log_g_map)[:, i]
            batches.append(ChannelBatch(i, x, f, log_q, log_g_map, alpha))
        return batches

    def _estimate(self, batches: Sequence[ChannelBatch]) -> tuple[float, float]:
        """Eq. 15–16: sum the channel means and their variances; update ``σ_i`` and ``I_i``."""
        value, variance = 0.0, 0.0
        sigmas = torch.zeros(self.m, dtype=torch.float64)
        values = torch.zeros(self.m, dtype=torch.float64)
        errors = torch.zeros(self.m, dtype=torch.float64)
        for b in batches:
            w = b.weights
            v, var = estimate_from_weights(w)
            value += v
            variance += var
            n_i = w.shape[0]
            sigmas[b.channel] = math.sqrt(var * n_i)
            values[b.channel] = v
            errors[b.channel] = math.sqrt(var)
        if not (math.isfinite(value) and math.isfinite(variance)):
            raise FloatingPointError(
                f"Expected a finite estimate; got {value} ± {variance}. A channel density may "
                "underflow where the integrand is non-zero."
            )
        self.sigmas = sigmas
        self.channel_values, self.channel_errors = values, errors
        return value, variance

    # -- training -----------------------------------------------------------------------------
    def _channel_loss(
        self, b: ChannelBatch, idx: Tensor, nu: float, total: float, value_i: float
    ) -> Tensor:
        ch = self.channels[b.channel]
        x, f, log_q = b.x[idx], b.f[idx], b.log_q[idx]
        trainable = self.weights.trainable
        if trainable:
            alpha = self.weights(x, b.log_g_map[idx])[:, b.channel]
        else:
            alpha = b.alpha[idx]
        log_g = ch.log_prob(x) if ch.flow is not None else log_q
        loss = torch.zeros((), dtype=torch.float64, device=x.device)
        if ch.flow is not None:
            fi = (alpha.detach() * f).to(torch.float64)
            a_i = (value_i / total) ** 2 / nu
            loss = loss + a_i * self.loss_fn(fi, log_g, log_q)
        if trainable:
            w = alpha * f
            second = (w * w * torch.exp(-log_g.detach() - log_q)).mean()
            first = (w * torch.exp(-log_q)).mean()
            loss = loss + (second - first * first) / nu / (total * total)
        return loss

    def _train(self, batches: Sequence[ChannelBatch]) -> tuple[float, int]:
        if self.optimizer is None:
            return math.nan, 0
        total = float(sum(abs(float(self.channel_values[b.channel])) for b in batches))
        if total <= 0:
            return math.nan, 0
        n = sum(b.x.shape[0] for b in batches)
        bs = self.training.batch_size or n
        n_steps = max(1, math.ceil(n / bs))
        lr = self.training.lr / (1.0 + self.training.lr_decay * self.n_survey_done)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        losses = []
        for _ in range(self.training.n_epochs):
            perms = [
                torch.randperm(b.x.shape[0], generator=self.generator, device=self.device)
                for b in batches
            ]
            splits = [torch.tensor_split(p, n_steps) for p in perms]
            for s in range(n_steps):
                loss = torch.zeros((), dtype=torch.float64, device=self.device)
                for b, sp in zip(batches, splits, strict=True):
                    idx = sp[s]
                    if idx.numel() < 2:
                        continue
                    nu = b.x.shape[0] / n
                    loss = loss + self._channel_loss(
                        b, idx, nu, total, float(self.channel_values[b.channel])
                    )
                if not loss.requires_grad:
                    continue
                if not bool(torch.isfinite(loss)):
                    warnings.warn(
                        f"Skipping a gradient step with a non-finite loss ({float(loss)}).",
                        RuntimeWarning,
                        stacklevel=3,
                    )
                    continue
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.training.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self._params, self.training.max_grad_norm)
                self.optimizer.step()
                losses.append(float(loss.detach()))
        mean_loss = sum(losses) / len(losses) if losses else math.nan
        return mean_loss, len(losses)

    def _set_mode(self, train: bool) -> None:
        for ch in self.channels:
            if ch.flow is not None:
                ch.flow.train(train)
        self.weights.train(train)

    def survey(
        self, n_iter: int | None = None, n_points: int | None = None
    ) -> list[IterationRecord]:
        """Train flows and channel weights: ``n_iter`` iterations of ``n_points`` evaluations.

        Each iteration allocates the points (stratified), draws them, records the estimate,
        trains, and drops channels whose contribution vanished (``drop_threshold``). Ctrl-C
        ends the survey early and keeps what was trained.

        Returns:
            The records of these iterations (also appended to :attr:`history`).
        """
        n_iter, n_points = self._survey_counts(n_iter, n_points)
        records: list[IterationRecord] = []
        with self._survey_progress(n_iter, records) as bar:
            for _ in bar:
                t0 = time.perf_counter()
                batches = self._draw(self._counts(n_points))
                value, variance = self._estimate(batches)
                self._set_mode(True)
                loss, n_steps = self._train(batches)
                self._set_mode(False)
                record = IterationRecord(
                    "survey",
                    self.n_survey_done,
                    value,
                    variance,
                    sum(b.x.shape[0] for b in batches),
                    sampler="online",
                    loss=loss,
                    n_steps=n_steps,
                    seconds=time.perf_counter() - t0,
                )
                self.n_survey_done += 1
                records.append(record)
                self.history.append(record)
                self.active = channels_to_keep(
                    self.channel_values,
                    self.channel_errors,
                    self.active,
                    threshold=self.drop_threshold,
                )
                bar.set_postfix(value=f"{value:.5g}", channels=int(self.active.sum()))
        return records

    # -- refine -------------------------------------------------------------------------------
    def refine(
        self,
        n_iter: int | None = None,
        n_points: int | None = None,
        *,
        allocation: str | None = None,
    ) -> IntegrationResult:
        """Integrate with the current channels: ``n_iter`` iterations of ``n_points`` points.

        Args:
            n_iter: iterations (default ``n_iter_refine``).
            n_points: points per iteration, split over the channels.
            allocation: override the allocation (``"stratified"`` or ``"uniform"``) for these
                iterations.

        Returns:
            The inverse-variance combination of these iterations.
        """
        return self._refine(n_iter, n_points, allocation=allocation)

    @torch.no_grad()
    def _refine(
        self, n_iter: int | None, n_points: int | None, *, allocation: str | None = None
    ) -> IntegrationResult:
        n_iter, n_points = self._refine_counts(n_iter, n_points)
        if allocation is not None and allocation not in _ALLOCATIONS:
            raise ValueError(f"Expected allocation in {list(_ALLOCATIONS)}; got {allocation!r}.")

        def iteration() -> tuple[float, float, int, str]:
            batches = self._draw(self._counts(n_points))
            value, variance = self._estimate(batches)
            return value, variance, sum(b.x.shape[0] for b in batches), "model"

        saved = self.allocation
        self.allocation = allocation or saved
        try:
            records = self._refine_records(n_iter, iteration)
        finally:
            self.allocation = saved
        return IntegrationResult.from_iterations(records, self.history, n_evals=self.n_evals)

    # -- sampling -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``n`` weighted points from the channels (allocated as in integration).

        Returns:
            ``(x, w, log_q)``: points, float64 ``(n, d)``; weights ``w = f / q`` whose mean
            estimates the integral, float64 ``(n,)``; and ``log q`` with
            ``q = g_i ν_i / α_i`` for a point of channel ``i`` drawn with fraction ``ν_i``
            (``+inf`` where ``α_i = 0``), float64 ``(n,)``.
        """
        check_count(n, "n", 0)
        if n == 0:
            empty = torch.zeros(0, dtype=torch.float64, device=self.device)
            return empty.reshape(0, self.d), empty, empty
        counts = self._counts(n)
        batches = self._draw(counts)
        xs, ws, lqs = [], [], []
        for b in batches:
            nu = b.x.shape[0] / n
            xs.append(b.x)
            ws.append(b.weights / nu)
            lqs.append(b.log_q + math.log(nu) - torch.log(b.alpha))
        return torch.cat(xs), torch.cat(ws), torch.cat(lqs)

    # -- persistence --------------------------------------------------------------------------
    def _config(self) -> dict[str, object]:
        prior = self._prior_spec
        if isinstance(prior, str):
            prior_cfg: object = prior
        elif isinstance(prior, Sequence) and all(isinstance(a, (int, float)) for a in prior):
            prior_cfg = [float(a) for a in prior]
        else:
            prior_cfg = None
        return {
            "d": self.d,
            "m": self.m,
            "domain": self.domain,
            "channel_weights": self.channel_weights_mode,
            "prior": prior_cfg,
            "n_features": self.n_features,
            "cwnet_hidden": self.cwnet_hidden,
            "cwnet_layers": self.cwnet_layers,
            "training": training_to_config(self.training),
            **self._budget(),
            "allocation": self.allocation,
            "drop_threshold": self.drop_threshold,
            "seed": self.seed,
            "dtype": _flow_dtype(self.channels),
            "nonfinite": self.integrand.nonfinite,
            "chunk_size": self.chunk_size,
        }

    def _state(self) -> dict[str, object]:
        return {
            "channels": [ch.state_dict() for ch in self.channels],
            "weights": self.weights.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "active": self.active.clone(),
            "sigmas": self.sigmas.clone() if self.sigmas is not None else None,
            "n_survey_done": self.n_survey_done,
        }

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        f: Callable,
        channels: Sequence[Channel],
        *,
        prior: str | Sequence | Callable | ChannelWeights | None = None,
        channel_weights: ChannelWeights | None = None,
        features: Callable[[Tensor], Tensor] | None = None,
        loss: Loss | None = None,
        device: str | torch.device | None = None,
        verbose: bool = True,
    ) -> MultiChannelIntegrator:
        """Rebuild an integrator saved by :meth:`save`.

        Args:
            path: the file.
            f: the integrand.
            channels: channels built as for the saved integrator (same mappings and flow
                settings; their weights are restored from the file).
            prior: the prior, needed when it was a function or a module.
            channel_weights: the weights module, needed when it was a custom module.
            features: the network's extra features, if it had any.
            loss: the loss, needed when it was a custom callable.
            device: where to load (default CPU).
            verbose: progress bars.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not a saved multi-channel integrator, or one that does not match.
        """
        state = cls._read(path)
        with mismatch_is_value_error(path, "these channels"):
            cfg = dict(state["config"])
            if len(channels) != cfg["m"]:
                raise ValueError(f"Expected {cfg['m']} channels; got {len(channels)}.")
            training_cfg = training_from_config(cfg["training"], loss)
            prior_arg = prior if prior is not None else cfg["prior"]
            if prior_arg is None:
                raise ValueError("Expected prior=... : it was saved with a function prior.")
            mode = cfg["channel_weights"]
            if mode == "custom":
                if channel_weights is None:
                    raise ValueError("Expected channel_weights=... : it was a custom module.")
                mode = channel_weights
            integrator = cls(
                f,
                cfg["d"],
                channels,
                channel_weights=mode,
                prior=prior_arg,
                features=features,
                n_features=cfg["n_features"],
                cwnet_hidden=cfg["cwnet_hidden"],
                cwnet_layers=cfg["cwnet_layers"],
                **cls._saved_budget(cfg),
                training=MultiChannelTrainingConfig(**training_cfg),
                allocation=cfg["allocation"],
                drop_threshold=cfg["drop_threshold"],
                domain=cfg["domain"],
                seed=cfg["seed"],
                device=device,
                dtype=DTYPES[cfg["dtype"]],
                verbose=verbose,
                nonfinite=cfg["nonfinite"],
                chunk_size=cfg["chunk_size"],
            )
            for ch, sd in zip(integrator.channels, state["channels"], strict=True):
                ch.load_state_dict(sd)
            integrator.weights.load_state_dict(state["weights"])
            if integrator.optimizer is not None and state["optimizer"] is not None:
                integrator.optimizer.load_state_dict(state["optimizer"])
            integrator.active = state["active"].to(torch.bool)
            integrator.sigmas = state["sigmas"]
            integrator.n_survey_done = int(state["n_survey_done"])
            integrator._restore(state)
        return integrator

    def __repr__(self) -> str:
        return (
            f"MultiChannelIntegrator(d={self.d}, channels={self.m}, "
            f"channel_weights={self.channel_weights_mode!r}, active={int(self.active.sum())}, "
            f"n_evals={self.n_evals})"
        )


def _make_prior(prior: object, m: int) -> ChannelWeights:
    if isinstance(prior, ChannelWeights):
        if prior.n_channels != m:
            raise ValueError(f"Expected a prior over {m} channels; got {prior.n_channels}.")
        return prior
    if prior == "sherpa":
        return SherpaPrior(m)
    if prior in ("uniform", "flat"):
        return UniformWeights(m)
    if callable(prior):
        return FunctionPrior(m, prior)
    if isinstance(prior, Sequence) and not isinstance(prior, str):
        items = list(prior)
        if items and all(callable(h) for h in items):
            return FunctionPrior(m, items)
        if items and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in items):
            return SherpaPrior(m, items)
    raise ValueError(
        "Expected prior 'sherpa', 'uniform', m global weights, one callable h(x) -> (n, m), "
        f"m callables or a ChannelWeights module; got {prior!r}."
    )


def _flow_dtype(channels: Sequence[Channel]) -> str:
    for ch in channels:
        if ch.flow is not None:
            return str(ch.flow.dtype).removeprefix("torch.")
    return "float32"
