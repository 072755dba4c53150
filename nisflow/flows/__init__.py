"""Bijections of [0, 1]^d with exact log-Jacobians: transforms, coupling cells, flows."""

from .base import Bijection, InvertibleTransform
from .flow import Flow, Prior
from .priors import GaussianPrior, UniformPrior
from .affine import Affine, UnitAffine
from .splines import PiecewiseLinear, PiecewiseQuadratic, RationalQuadraticSpline
from .transforms import TRANSFORMS, make_transform
from .networks import MLP
from .masks import (
    MASKS,
    checkerboard_masks,
    explicit_masks,
    iflow_masks,
    make_masks,
    random_masks,
)
from .coupling import CouplingCell
from .permutations import ExchangePermutation, Permutation, RandomPermutation
from .rotations import GaussianCDF, Rotation, SoftRotation, TrainableRotation, euler_rotation_matrix
from .coupling_flow import PERMUTATIONS, PRIORS, CouplingFlow, make_permutation

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
