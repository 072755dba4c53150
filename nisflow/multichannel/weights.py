"""Channel weights ``α_i(x)``: non-negative, summing to one at every point (MadNIS eq. 5).

Every weight module maps points ``x`` (n, d) and the channels' *mapping* log-densities
``log_g`` (n, m) (``-inf`` where channel ``i`` cannot reach ``x``) to weights ``α`` (n, m).
A channel that cannot produce ``x`` always gets ``α_i(x) = 0``: otherwise its share of the
integrand would never be sampled and the estimate would be biased.

* :class:`UniformWeights` — ``α_i = 1/m`` over the channels whose support holds ``x``.
* :class:`SherpaPrior` — ``α_i(x) = a_i g_i(x) / Σ_j a_j g_j(x)`` (eq. 7) from the channels'
  mapping densities and global weights ``a_i`` (uniform by default): the "optimal" weights of
  MadNIS Table 1.
* :class:`FunctionPrior` — the MG-like prior ``α_i = h_i(x) / Σ_j h_j(x)`` from user-supplied
  non-negative per-channel functions (squared diagrams, eq. 8, or propagator products, eq. 10).
* :class:`ChannelWeightNet` — a trainable network learning a correction to the log of any of
  the above (eq. 20–21): ``α_i ∝ α*_i(x) exp Δ_i(x|θ)``, softmax-normalised, with a zero last
  layer so that it starts *exactly* at the prior; it may take extra user features next to ``x``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "ChannelWeights",
    "UniformWeights",
    "SherpaPrior",
    "FunctionPrior",
    "ChannelWeightNet",
    "masked_softmax",
]


def masked_softmax(logits: Tensor, support: Tensor) -> Tensor:
    """Softmax over the last axis restricted to ``support``; rows without finite logits on the
    support fall back to uniform weights over the support.

    Args:
        logits: shape ``(n, m)``, may hold ``-inf``.
        support: boolean, shape ``(n, m)``; every row must have at least one ``True``.

    Returns:
        Weights of shape ``(n, m)``, non-negative, zero off the support, rows summing to one.
    """
    neg_inf = torch.full_like(logits, -math.inf)
    masked = torch.where(support, logits, neg_inf)
    empty = ~torch.isfinite(masked).any(-1, keepdim=True)
    fallback = torch.where(support, torch.zeros_like(logits), neg_inf)
    masked = torch.where(empty, fallback, masked)
    return torch.softmax(masked, dim=-1)


class ChannelWeights(nn.Module):
    """Base class: ``forward(x, log_g) -> α`` with ``α`` of shape ``(n, m)``.

    Args:
        n_channels: the number of channels ``m``.

    Subclasses implement :meth:`logits` (log of unnormalised weights, shape ``(n, m)``).
    """

    trainable: bool = False

    def __init__(self, n_channels: int):
        super().__init__()
        if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"Expected a positive number of channels; got {n_channels!r}.")
        self.n_channels = n_channels

    def logits(self, x: Tensor, log_g: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Log of the unnormalised weights, shape ``(n, m)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, log_g: Tensor) -> Tensor:
        """Channel weights at ``x``.

        Args:
            x: points, shape ``(n, d)``.
            log_g: the channels' mapping log-densities at ``x``, shape ``(n, m)``, ``-inf``
                where a channel cannot reach ``x``.

        Returns:
            ``α`` of shape ``(n, m)`` (float64), non-negative, rows summing to one.
        """
        if log_g.dim() != 2 or log_g.shape[1] != self.n_channels:
            raise ValueError(
                f"Expected log_g of shape (n, {self.n_channels}); got {tuple(log_g.shape)}."
            )
        support = log_g > -math.inf
        none = ~support.any(-1)
        if bool(none.any()):
            i = int(none.nonzero()[0, 0])
            raise ValueError(
                f"Expected every point inside the support of at least one channel; got "
                f"{int(none.sum())} of {x.shape[0]} points outside all, e.g. {x[i].tolist()}."
            )
        return masked_softmax(self.logits(x, log_g).to(torch.float64), support)


class UniformWeights(ChannelWeights):
    """``α_i(x) = 1 / (number of channels whose support holds x)``."""

    def logits(self, x: Tensor, log_g: Tensor) -> Tensor:
        return torch.zeros_like(log_g, dtype=torch.float64)


class SherpaPrior(ChannelWeights):
    """``α_i(x) = a_i g_i(x) / Σ_j a_j g_j(x)`` with global weights ``a_i`` (MadNIS eq. 7).

    ``g_i`` is the density of channel ``i``'s mapping (without its flow): a fixed prior.

    Args:
        n_channels: the number of channels.
        global_weights: ``a_i > 0`` (normalised here); default uniform.
    """

    def __init__(self, n_channels: int, global_weights: Sequence[float] | None = None):
        super().__init__(n_channels)
        a = torch.ones(n_channels, dtype=torch.float64)
        if global_weights is not None:
            a = torch.as_tensor(list(global_weights), dtype=torch.float64)
            if a.shape != (n_channels,) or not bool((a > 0).all() & torch.isfinite(a).all()):
                raise ValueError(
                    f"Expected {n_channels} positive finite global channel weights; got "
                    f"{list(global_weights)}."
                )
        self.register_buffer("log_a", torch.log(a / a.sum()))

    def logits(self, x: Tensor, log_g: Tensor) -> Tensor:
        return log_g.to(torch.float64) + self.log_a.to(log_g.device)


class FunctionPrior(ChannelWeights):
    """The MG-like prior ``α_i(x) = h_i(x) / Σ_j h_j(x)`` (MadNIS eq. 8, 10).

    Args:
        n_channels: the number of channels.
        functions: either one callable ``h(x) -> (n, m)`` or ``m`` callables ``h_i(x) -> (n,)``
            returning non-negative values (squared diagrams ``|M_i|²`` or products of
            propagator denominators ``Π 1/|p_k² − m_k² − i m_k Γ_k|²``).
        log: if true, the callables return ``log h_i`` instead of ``h_i``.

    Where every ``h_i`` vanishes the weights fall back to uniform over the channels that reach
    ``x``.
    """

    def __init__(
        self,
        n_channels: int,
        functions: Callable[[Tensor], Tensor] | Sequence[Callable[[Tensor], Tensor]],
        *,
        log: bool = False,
    ):
        super().__init__(n_channels)
        if callable(functions):
            self.functions: list[Callable] | Callable = functions
        else:
            functions = list(functions)
            if len(functions) != n_channels or not all(callable(h) for h in functions):
                raise ValueError(
                    f"Expected one callable h(x) -> (n, {n_channels}) or {n_channels} callables; "
                    f"got {len(functions)} items."
                )
            self.functions = functions
        self.log = bool(log)

    def logits(self, x: Tensor, log_g: Tensor) -> Tensor:
        if callable(self.functions):
            h = torch.as_tensor(self.functions(x))
        else:
            h = torch.stack([torch.as_tensor(fn(x)).reshape(-1) for fn in self.functions], -1)
        h = h.to(device=log_g.device, dtype=torch.float64)
        if h.shape != log_g.shape:
            raise ValueError(
                f"Expected the prior functions to give shape {tuple(log_g.shape)}; got "
                f"{tuple(h.shape)}."
            )
        if self.log:
            bad = torch.isnan(h) | (h == math.inf)
        else:
            bad = ~torch.isfinite(h) | (h < 0)
        if bool(bad.any()):
            i = int(bad.any(-1).nonzero()[0, 0])
            raise ValueError(
                f"Expected {'log-' if self.log else 'non-negative finite '}prior values; got "
                f"{int(bad.any(-1).sum())} bad rows, e.g. {h[i].tolist()} at {x[i].tolist()}."
            )
        return h if self.log else torch.log(h)


class ChannelWeightNet(ChannelWeights):
    """A trainable correction to a prior: ``α_i(x|θ) ∝ α*_i(x) · exp Δ_i(x|θ)`` (eq. 20–21).

    ``Δ`` is a multilayer perceptron (leaky ReLU) of ``x`` and optional extra features
    (e.g. invariant masses) whose last layer starts at zero, so the untrained network returns
    the prior exactly. Inputs are standardised with a centre and scale (buffers) and squashed
    smoothly to ``|z| < 4``, so that far tails (Breit–Wigner samples at 1e6) stay harmless.

    Args:
        n_channels: the number of channels.
        d: the dimension of ``x``.
        prior: the weights to correct (default :class:`UniformWeights`, the "flat prior").
        features: optional ``features(x) -> (n, k)`` appended to the network input.
        n_features: ``k`` (required with ``features``).
        hidden: width of the hidden layers.
        layers: number of hidden layers.
        center, scale: input standardisation, shape ``(d + k,)`` (default 0 and 1);
            :meth:`fit_inputs` sets them from a sample.
        generator: a CPU generator for the initial weights.
    """

    trainable = True

    def __init__(
        self,
        n_channels: int,
        d: int,
        *,
        prior: ChannelWeights | None = None,
        features: Callable[[Tensor], Tensor] | None = None,
        n_features: int = 0,
        hidden: int = 16,
        layers: int = 2,
        center: Sequence[float] | Tensor | None = None,
        scale: Sequence[float] | Tensor | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__(n_channels)
        if features is not None and n_features < 1:
            raise ValueError(f"Expected n_features >= 1 with features; got {n_features}.")
        if layers < 1 or hidden < 1:
            raise ValueError(f"Expected layers >= 1 and hidden >= 1; got {layers}, {hidden}.")
        self.prior = prior if prior is not None else UniformWeights(n_channels)
        if self.prior.n_channels != n_channels:
            raise ValueError(
                f"Expected a prior over {n_channels} channels; got {self.prior.n_channels}."
            )
        self.features = features
        self.d = d
        self.n_inputs = d + (n_features if features is not None else 0)
        c = torch.zeros(self.n_inputs) if center is None else torch.as_tensor(center)
        s = torch.ones(self.n_inputs) if scale is None else torch.as_tensor(scale)
        self.register_buffer("center", c.to(torch.float64).reshape(self.n_inputs).clone())
        self.register_buffer("scale", s.to(torch.float64).reshape(self.n_inputs).clone())
        dims = [self.n_inputs] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            mods += [nn.Linear(a, b), nn.LeakyReLU(0.01)]
        last = nn.Linear(dims[-1], n_channels)
        mods.append(last)
        self.net = nn.Sequential(*mods)
        if generator is not None:
            with torch.no_grad():
                for m in self.net:
                    if isinstance(m, nn.Linear):
                        bound = 1.0 / math.sqrt(m.in_features)
                        m.weight.copy_(
                            (torch.rand(m.weight.shape, generator=generator) * 2 - 1) * bound
                        )
                        m.bias.copy_(
                            (torch.rand(m.bias.shape, generator=generator) * 2 - 1) * bound
                        )
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def inputs(self, x: Tensor) -> Tensor:
        """The network input for ``x`` (n, d): ``x`` and the features, float64, ``(n, d + k)``."""
        z = x.to(torch.float64)
        if self.features is not None:
            feats = torch.as_tensor(self.features(x)).to(device=x.device, dtype=torch.float64)
            if feats.dim() == 1:
                feats = feats[:, None]
            if feats.shape != (x.shape[0], self.n_inputs - self.d):
                raise ValueError(
                    f"Expected features of shape ({x.shape[0]}, {self.n_inputs - self.d}); got "
                    f"{tuple(feats.shape)}."
                )
            z = torch.cat([z, feats], dim=-1)
        return z

    @torch.no_grad()
    def fit_inputs(self, x: Tensor) -> None:
        """Set the standardisation from a sample ``x`` (n, d): median and interquartile range."""
        z = self.inputs(x)
        q = torch.quantile(z.cpu(), torch.tensor([0.25, 0.5, 0.75], dtype=z.dtype), dim=0)
        scale = (q[2] - q[0]).clamp_min(1e-12)
        self.center.copy_(q[1].to(self.center))
        self.scale.copy_(scale.to(self.scale))

    def correction(self, x: Tensor) -> Tensor:
        """``Δ(x|θ)``, shape ``(n, m)`` (zero before training)."""
        z = (self.inputs(x) - self.center) / self.scale
        z = z / (1.0 + z.abs() / 4.0)
        net_dtype = self.net[0].weight.dtype
        return self.net(z.to(net_dtype)).to(torch.float64)

    def logits(self, x: Tensor, log_g: Tensor) -> Tensor:
        prior = self.prior(x, log_g)
        return torch.log(prior) + self.correction(x)
