"""Bijections of [0, 1]^d with exact log-Jacobians: transforms, coupling cells, flows."""

from .base import Bijection, InvertibleTransform
from .flow import Flow, Prior
from .priors import GaussianPrior, UniformPrior

__all__ = ["Bijection", "InvertibleTransform", "Flow", "Prior", "UniformPrior", "GaussianPrior"]
