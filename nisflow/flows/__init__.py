"""Bijections of [0, 1]^d with exact log-Jacobians: transforms, coupling cells, flows."""

from .affine import Affine, UnitAffine
from .base import Bijection, InvertibleTransform
from .coupling import CouplingCell
from .coupling_flow import PERMUTATIONS, PRIORS, CouplingFlow, make_permutation
from .flow import Flow, Prior
from .masks import (
    MASKS,
    auto_mask,
    checkerboard_masks,
    explicit_masks,
    iflow_masks,
    make_masks,
    random_masks,
)
from .networks import MLP
from .permutations import ExchangePermutation, Permutation, RandomPermutation
from .priors import GaussianPrior, UniformPrior
from .rotations import GaussianCDF, Rotation, SoftRotation, TrainableRotation, euler_rotation_matrix
from .splines import PiecewiseLinear, PiecewiseQuadratic, RationalQuadraticSpline
from .transforms import TRANSFORMS, make_transform

__all__ = ["Bijection", "InvertibleTransform", "Flow", "Prior", "UniformPrior", "GaussianPrior"]
__all__ += [
    "PiecewiseLinear",
    "PiecewiseQuadratic",
    "RationalQuadraticSpline",
    "Affine",
    "UnitAffine",
    "TRANSFORMS",
    "make_transform",
]
__all__ += [
    "MLP",
    "MASKS",
    "auto_mask",
    "checkerboard_masks",
    "iflow_masks",
    "random_masks",
    "explicit_masks",
    "make_masks",
    "CouplingCell",
    "Permutation",
    "ExchangePermutation",
    "RandomPermutation",
    "Rotation",
    "SoftRotation",
    "TrainableRotation",
    "GaussianCDF",
    "euler_rotation_matrix",
    "CouplingFlow",
    "PERMUTATIONS",
    "PRIORS",
    "make_permutation",
]
