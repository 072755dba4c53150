"""Registries of bijections and flows for the generic invariant tests of :mod:`nisflow.flows`.

Every coupling cell (one per registered transform, plus the talk's user-defined linear cell),
permutation, rotation and composed :class:`~nisflow.flows.CouplingFlow` appears here once; the
tests in ``test_cells.py`` and ``test_flow.py`` are parametrized over these dictionaries, so a
new transform in :data:`nisflow.flows.TRANSFORMS` is tested automatically.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from nisflow.flows import (
    MLP,
    TRANSFORMS,
    Bijection,
    CouplingCell,
    CouplingFlow,
    ExchangePermutation,
    GaussianCDF,
    InvertibleTransform,
    RandomPermutation,
    SoftRotation,
    TrainableRotation,
    checkerboard_masks,
)

__all__ = [
    "LinearTransform",
    "LinearCouplingCell",
    "perturb_",
    "BIJECTIONS",
    "FLOWS",
    "DIMS",
    "DTYPES",
    "inputs",
]

DIMS = (1, 2, 3, 5, 8)
DTYPES = (torch.float32, torch.float64)


class LinearTransform(InvertibleTransform):
    """The talk's linear transform on R: ``y = exp(T) x`` with one scalar ``T`` per point."""

    domain = "real"

    def param_shape(self, k: int) -> tuple[int, ...]:
        return (1,)

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        alpha = torch.exp(params)
        log_j = params[:, 0] * x.shape[-1]
        return x * alpha, log_j

    def backward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        alpha = torch.exp(-params)
        log_j = -params[:, 0] * y.shape[-1]
        return y * alpha, log_j


class LinearCouplingCell(CouplingCell):
    """The talk's ``LinearCouplingCell`` (ZüNIS appendix F.4), adapted to nisflow's names."""

    def __init__(self, d: int, mask: list[bool], nn_width: int, nn_depth: int):
        transform = LinearTransform()
        d_in = sum(mask)
        conditioner = MLP(d_in, 1, hidden=nn_width, layers=nn_depth)
        super().__init__(d, mask, transform, conditioner=conditioner)


def perturb_(module: nn.Module, scale: float, generator: torch.Generator) -> nn.Module:
    """Add ``N(0, scale^2)`` noise to every parameter in place (a non-identity flow)."""
    with torch.no_grad():
        for p in module.parameters():
            noise = torch.randn(p.shape, generator=generator, dtype=torch.float64)
            p.add_((scale * noise).to(device=p.device, dtype=p.dtype))
    return module


def inputs(domain: str, n: int, d: int, dtype: torch.dtype, generator: torch.Generator) -> Tensor:
    """Test points: uniform in [0.01, 0.99]^d on the unit domain, standard normal on R^d."""
    if domain == "unit":
        return 0.01 + 0.98 * torch.rand(n, d, generator=generator, dtype=dtype)
    return torch.randn(n, d, generator=generator, dtype=dtype)


def _mask(d: int) -> list[bool]:
    return checkerboard_masks(d)[0].tolist()


def _cell(name: str) -> Callable[[int, torch.Generator], Bijection]:
    def make(d: int, g: torch.Generator) -> Bijection:
        cell = CouplingCell(d, _mask(d), name, n_bins=5, hidden=16, layers=2, generator=g)
        return perturb_(cell, 0.3, g)

    return make


BIJECTIONS: dict[str, Callable[[int, torch.Generator], Bijection]] = {
    **{f"cell_{name}": _cell(name) for name in TRANSFORMS},
    "cell_user_linear": lambda d, g: perturb_(LinearCouplingCell(d, _mask(d), 8, 2), 0.3, g),
    "exchange": lambda d, g: ExchangePermutation(d),
    "random_permutation": lambda d, g: RandomPermutation(d, generator=g),
    "soft_unit": lambda d, g: SoftRotation(d, generator=g),
    "soft_real": lambda d, g: SoftRotation(d, domain="real", generator=g),
    "rotation_unit": lambda d, g: TrainableRotation(d, init="random", generator=g),
    "rotation_real": lambda d, g: TrainableRotation(d, domain="real", init="random", generator=g),
    "gaussian_cdf": lambda d, g: GaussianCDF(d),
}
"""Bijection factories ``(d, generator) -> Bijection``, each in a non-identity state."""


def _flow(transform, **kw) -> Callable[[int, torch.Generator], CouplingFlow]:
    kw = {"hidden": 8, "layers": 1, **kw}

    def make(d: int, g: torch.Generator) -> CouplingFlow:
        flow = CouplingFlow(d, transform, generator=g, **kw)
        return perturb_(flow, 0.1, g)

    return make


FLOWS: dict[str, Callable[[int, torch.Generator], CouplingFlow]] = {
    "rq_checkerboard": _flow("rq_spline", n_bins=6),
    "rq_iflow_rotation": _flow("rq_spline", n_bins=4, mask="iflow", permutation="rotation"),
    "pwlinear_random_mask": _flow("pwlinear", n_bins=6, mask="random", n_cells=3),
    "pwquad_exchange": _flow("pwquad", n_bins=5, n_cells=3, permutation="exchange"),
    "affine_soft": _flow("affine", n_cells=3, permutation="soft", activation="tanh"),
    "affine_real_gaussian": _flow("affine_real", n_cells=3, permutation="random", prior="gaussian"),
    "user_linear_gaussian": _flow(LinearTransform(), n_cells=2, prior="gaussian"),
}
"""Composed flow factories ``(d, generator) -> CouplingFlow``, each randomly perturbed."""
