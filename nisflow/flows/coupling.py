"""Coupling cells: a mask, an element-wise transform and a conditioner network.

A coupling cell splits a point ``x`` into its conditioning coordinates ``x_A`` (``mask = True``)
and its transformed coordinates ``x_B`` (``mask = False``) and maps

    y_A = x_A,        y_B = C(x_B; theta(x_A)),

where ``C`` is an :class:`~nisflow.flows.base.InvertibleTransform` and ``theta`` a conditioner
network. The Jacobian is block-triangular, so ``log|det J|`` is the transform's log-det.

This is the extension point for user-defined cells (ZüNIS appendix F.4): subclass
:class:`CouplingCell` and pass your own ``transform`` and ``conditioner``::

    class LinearTransform(InvertibleTransform):
        domain = "real"
        def param_shape(self, k):
            return (1,)
        def forward(self, x, params):
            return x * params.exp(), params[:, 0] * x.shape[-1]
        def backward(self, y, params):
            return y * (-params).exp(), -params[:, 0] * y.shape[-1]

    class LinearCouplingCell(CouplingCell):
        def __init__(self, d, mask, nn_width, nn_depth):
            d_in = sum(mask)
            super().__init__(d, mask, LinearTransform(),
                             conditioner=MLP(d_in, 1, hidden=nn_width, layers=nn_depth))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ..checks import check_dimension
from .base import Bijection, InvertibleTransform
from .masks import explicit_masks
from .networks import MLP
from .transforms import make_transform

__all__ = ["CouplingCell"]


class CouplingCell(Bijection):
    """A coupling cell ``y_A = x_A``, ``y_B = C(x_B; conditioner(x_A))``.

    The cell acts where its transform acts: ``domain_in = domain_out = transform.domain``. The
    conditioner sees the conditioning coordinates rescaled to [-1, 1] (``2 x_A - 1``) on the unit
    domain and as they are on R. Its output of shape ``(n, P)``, with ``P`` the number of
    entries of ``transform.param_shape(k)``, is reshaped to ``(n, *param_shape(k))``.

    Args:
        d: dimension of the points.
        mask: boolean mask of shape ``(d,)``, ``True`` = conditioning coordinate; at least one
            coordinate is transformed. A mask without conditioning coordinates (``d = 1``) gives a
            cell with learned unconditional parameters.
        transform: the element-wise transform, an instance or a name of
            :data:`nisflow.flows.transforms.TRANSFORMS`.
        conditioner: a module mapping ``(n, d_A) -> (n, P)``; default an :class:`MLP` whose last
            layer starts at zero, so the cell starts as the identity.
        n_bins: bins of the transform when ``transform`` is a name.
        hidden: width of the default conditioner.
        layers: number of hidden layers of the default conditioner.
        activation: activation of the default conditioner.
        generator: random generator for the default conditioner's initial weights.

    Example:
        >>> cell = CouplingCell(2, [True, False], "pwlinear")
        >>> y, log_det = cell(torch.rand(5, 2))
        >>> y.shape, log_det.shape
        (torch.Size([5, 2]), torch.Size([5]))
    """

    def __init__(
        self,
        d: int,
        mask: Sequence[bool] | Tensor,
        transform: str | InvertibleTransform,
        conditioner: Callable[[Tensor], Tensor] | None = None,
        *,
        n_bins: int | None = None,
        hidden: int = 64,
        layers: int = 2,
        activation: str | nn.Module = "relu",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.d = check_dimension(d)
        mask = explicit_masks(self.d, [mask])[0]
        self.transform = make_transform(transform, n_bins=n_bins)
        domain = getattr(self.transform, "domain", "unit")
        if domain not in ("unit", "real"):
            raise ValueError(
                f"Expected the transform's domain to be 'unit' or 'real'; got {domain!r}."
            )
        self.domain_in = self.domain_out = domain
        idx_a = mask.nonzero()[:, 0]
        idx_b = (~mask).nonzero()[:, 0]
        self.d_a, self.k = int(idx_a.numel()), int(idx_b.numel())
        self.register_buffer("mask", mask)
        self.register_buffer("idx_a", idx_a)
        self.register_buffer("idx_b", idx_b)
        # cat([x_A, x_B])[:, inv] puts every coordinate back in place
        self.register_buffer("inv", torch.argsort(torch.cat([idx_a, idx_b])))
        shape = tuple(int(s) for s in self.transform.param_shape(self.k))
        if any(s < 1 for s in shape):
            raise ValueError(f"Expected a transform param_shape of positive sizes; got {shape}.")
        self.param_shape = shape
        self.n_params = math.prod(shape)
        if conditioner is None:
            conditioner = MLP(
                self.d_a,
                self.n_params,
                hidden=hidden,
                layers=layers,
                activation=activation,
                generator=generator,
            )
        if not callable(conditioner):
            raise ValueError(f"Expected conditioner to be callable; got {conditioner!r}.")
        self.conditioner = conditioner

    def params(self, x_a: Tensor) -> Tensor:
        """Transform parameters from the conditioning coordinates ``x_a`` of shape ``(n, d_A)``.

        Returns:
            parameters of shape ``(n, *param_shape)``.
        """
        h = 2 * x_a - 1 if self.domain_in == "unit" else x_a
        return self.conditioner(h).reshape(x_a.shape[0], *self.param_shape)

    def _couple(self, x: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        x_a = x.index_select(1, self.idx_a)
        x_b = x.index_select(1, self.idx_b)
        p = self.params(x_a)
        if inverse:
            y_b, log_det = self.transform.backward(x_b, p)
        else:
            y_b, log_det = self.transform.forward(x_b, p)
        y = torch.cat([x_a, y_b], dim=1).index_select(1, self.inv)
        return y, log_det.reshape(x.shape[0])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``x`` of shape ``(n, d)``; return ``(y, log|det dy/dx|)`` of shapes ``(n, d)``, ``(n,)``."""
        return self._couple(x, inverse=False)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Invert :meth:`forward`; return ``(x, log|det dx/dy|)`` of shapes ``(n, d)``, ``(n,)``."""
        return self._couple(y, inverse=True)

    def extra_repr(self) -> str:
        return f"d={self.d}, mask={self.mask.int().tolist()}, domain={self.domain_in!r}"
