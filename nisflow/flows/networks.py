"""Conditioner networks: the dense networks that compute a coupling cell's transform parameters.

The last layer of :class:`MLP` starts at zero, so a coupling cell built on it starts as the
identity map (every :class:`~nisflow.flows.base.InvertibleTransform` is the identity at zero
parameters).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

from ..checks import check_dimension

__all__ = ["MLP", "ACTIVATIONS", "make_activation"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}
"""Activation functions by name."""

_INPLACE = (nn.ReLU, nn.LeakyReLU, nn.SiLU)


def make_activation(activation: str | nn.Module | type[nn.Module]) -> nn.Module:
    """Return a fresh activation module.

    Args:
        activation: a name from :data:`ACTIVATIONS`, an ``nn.Module`` instance (deep-copied) or an
            ``nn.Module`` subclass (instantiated without arguments).

    Raises:
        ValueError: an unknown name or an object that is not a module.
    """
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Expected activation to be one of {sorted(ACTIVATIONS)} or an nn.Module; "
                f"got {activation!r}."
            )
        cls = ACTIVATIONS[activation]
        # in place where the module supports it: one tensor less per layer, same gradients
        return cls(inplace=True) if cls in _INPLACE else cls()
    if isinstance(activation, nn.Module):
        return copy.deepcopy(activation)
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise ValueError(
        f"Expected activation to be one of {sorted(ACTIVATIONS)} or an nn.Module; "
        f"got {activation!r}."
    )


def _linear(d_in: int, d_out: int, generator: torch.Generator | None) -> nn.Linear:
    """A linear layer initialised uniformly in ``±1/sqrt(d_in)`` from ``generator``."""
    layer = skip_init(nn.Linear, d_in, d_out)
    bound = 1.0 / math.sqrt(d_in)
    with torch.no_grad():
        for p in (layer.weight, layer.bias):
            p.copy_(torch.rand(p.shape, generator=generator) * (2 * bound) - bound)
    return layer


class MLP(nn.Module):
    """A dense network ``(n, d_in) -> (n, out_features)`` whose last layer starts at zero.

    With ``d_in = 0`` (a coupling cell with nothing to condition on, e.g. ``d = 1``) the network
    is a learned parameter vector of length ``out_features``, broadcast to the batch.

    Args:
        d_in: number of input features (``>= 0``).
        out_features: number of outputs per point (``>= 1``).
        hidden: width of the hidden layers.
        layers: number of hidden layers (``>= 0``; ``0`` is a single zero-initialised linear map).
        activation: name from :data:`ACTIVATIONS` or an ``nn.Module``.
        generator: random generator for the hidden layers' initial weights (uniform in
            ``±1/sqrt(fan_in)``, as ``nn.Linear``'s default); the global RNG is never used
            when one is given.

    Example:
        >>> net = MLP(3, 5, hidden=16, layers=2)
        >>> net(torch.rand(4, 3)).shape
        torch.Size([4, 5])
        >>> bool((net(torch.rand(4, 3)) == 0).all())  # zero last layer: starts at zero
        True
    """

    def __init__(
        self,
        d_in: int,
        out_features: int,
        *,
        hidden: int = 64,
        layers: int = 2,
        activation: str | nn.Module | type[nn.Module] = "relu",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if isinstance(d_in, bool) or not isinstance(d_in, int) or d_in < 0:
            raise ValueError(f"Expected d_in to be a non-negative integer; got {d_in!r}.")
        self.d_in = d_in
        self.out_features = check_dimension(out_features, "out_features")
        self.hidden = check_dimension(hidden, "hidden")
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
            raise ValueError(f"Expected layers to be a non-negative integer; got {layers!r}.")
        self.layers = layers
        if d_in == 0:
            self.net = None
            self.constant = nn.Parameter(torch.zeros(out_features))
            return
        self.constant = None
        modules: list[nn.Module] = []
        width = d_in
        for _ in range(layers):
            modules += [_linear(width, hidden, generator), make_activation(activation)]
            width = hidden
        last = skip_init(nn.Linear, width, out_features)
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
        modules.append(last)
        self.net = nn.Sequential(*modules)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``x`` of shape ``(n, d_in)`` to outputs of shape ``(n, out_features)``."""
        if self.net is None:
            return self.constant.expand(x.shape[0], self.out_features)
        return self.net(x)
