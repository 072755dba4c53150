"""The ready-made flow: coupling cells with masks, optional permutations or rotations, a prior.

``CouplingFlow(d)`` is a uniform prior on [0, 1]^d followed by rational-quadratic spline coupling
cells with checkerboard masks. With ``prior="gaussian"`` the cells act on R^d (a transform whose
domain is ``"real"``, e.g. ``"affine_real"`` or a user's transform) and the chain ends with
:class:`~nisflow.flows.GaussianCDF`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_dimension
from .base import Bijection, InvertibleTransform
from .coupling import CouplingCell
from .flow import Flow
from .masks import make_masks
from .permutations import ExchangePermutation, RandomPermutation
from .priors import GaussianPrior, UniformPrior
from .rotations import GaussianCDF, SoftRotation, TrainableRotation
from .transforms import make_transform

__all__ = ["CouplingFlow", "PERMUTATIONS", "PRIORS", "make_permutation"]

PERMUTATIONS = ("exchange", "random", "soft", "rotation")
"""Names of the maps that can sit between coupling cells (or ``None`` for none)."""

PRIORS = ("uniform", "gaussian")
"""Names of the latent priors."""


def make_permutation(
    name: str, d: int, *, domain: str = "unit", generator: torch.Generator | None = None
) -> Bijection:
    """A map to put between two coupling cells.

    Args:
        name: ``"exchange"`` (reverse the coordinates), ``"random"`` (fixed random permutation),
            ``"soft"`` (fixed random rotation) or ``"rotation"`` (trainable rotation, started at
            a random angle set).
        d: dimension.
        domain: ``"unit"`` or ``"real"``, where the points live.
        generator: random generator for the random choices.

    Raises:
        ValueError: an unknown name.
    """
    if name == "exchange":
        return ExchangePermutation(d, domain=domain)
    if name == "random":
        return RandomPermutation(d, domain=domain, generator=generator)
    if name == "soft":
        return SoftRotation(d, domain=domain, generator=generator)
    if name == "rotation":
        return TrainableRotation(d, domain=domain, init="random", generator=generator)
    raise ValueError(
        f"Expected permutation to be None or one of {list(PERMUTATIONS)}; got {name!r}."
    )


class CouplingFlow(Flow):
    """A normalizing flow on [0, 1]^d made of coupling cells.

    Sampling direction: prior -> cell 1 -> (permutation) -> cell 2 -> ... -> cell ``n_cells``
    (-> :class:`~nisflow.flows.GaussianCDF` for a Gaussian prior). Every cell starts as the
    identity (zero last layer of its conditioner), so a new flow is the uniform density.

    Args:
        d: dimension.
        transform: ``"rq_spline"``, ``"pwlinear"``, ``"pwquad"``, ``"affine"`` (on [0, 1]),
            ``"affine_real"`` (on R, needs the Gaussian prior) — any name of
            :data:`nisflow.flows.transforms.TRANSFORMS` — or an
            :class:`~nisflow.flows.InvertibleTransform` instance (deep-copied for each cell).
        n_cells: number of coupling cells; ``None`` for enough that every coordinate is
            transformed and conditioned on (:func:`~nisflow.flows.masks.default_n_masks`: 2 for
            checkerboard and random masks, ``2 ceil(log2 d)`` for iflow, the list's length for
            explicit masks, 1 for ``d = 1``).
        n_bins: number of bins of the binned transforms (``None``: the transform's default).
        mask: ``"checkerboard"``, ``"iflow"``, ``"random"``, ``"auto"``
            (:func:`~nisflow.flows.masks.auto_mask`; :class:`nisflow.FlowConfig`'s default) or an
            explicit list of boolean masks
            (``True`` = conditioning coordinate), repeated cyclically over the cells.
        permutation: ``None``, ``"exchange"``, ``"random"``, ``"soft"`` or ``"rotation"``: a map
            inserted between consecutive cells.
        hidden: width of the conditioner networks.
        layers: number of hidden layers of the conditioner networks.
        activation: activation of the conditioner networks.
        prior: ``"uniform"`` or ``"gaussian"``; ``None`` picks the one that matches the
            transform's domain.
        generator: a CPU ``torch.Generator`` for every random choice at construction (random
            masks and permutations, rotation angles, network weights): same seed -> same flow.

    Raises:
        ValueError: an unknown option (the message lists the valid ones), or a transform whose
            domain does not match the prior.

    Example:
        >>> flow = CouplingFlow(3, "pwquad", n_bins=8, mask="iflow")
        >>> x, log_q = flow.sample_and_log_prob(4, generator=torch.Generator().manual_seed(0))
        >>> x.shape, log_q.shape
        (torch.Size([4, 3]), torch.Size([4]))
    """

    def __init__(
        self,
        d: int,
        transform: str | InvertibleTransform = "rq_spline",
        *,
        n_cells: int | None = None,
        n_bins: int | None = None,
        mask: str | Sequence[Sequence[bool]] | Tensor = "checkerboard",
        permutation: str | None = None,
        hidden: int = 64,
        layers: int = 2,
        activation: str | nn.Module = "relu",
        prior: str | None = None,
        generator: torch.Generator | None = None,
    ):
        d = check_dimension(d)
        if permutation is not None and permutation not in PERMUTATIONS:
            raise ValueError(
                f"Expected permutation to be None or one of {list(PERMUTATIONS)}; got {permutation!r}."
            )
        if prior is not None and prior not in PRIORS:
            raise ValueError(f"Expected prior to be None or one of {list(PRIORS)}; got {prior!r}.")
        template = make_transform(transform, n_bins=n_bins)
        domain = getattr(template, "domain", "unit")
        expected = {"unit": "uniform", "real": "gaussian"}.get(domain)
        if expected is None:
            raise ValueError(
                f"Expected the transform's domain to be 'unit' or 'real'; got {domain!r}."
            )
        prior = expected if prior is None else prior
        if prior != expected:
            raise ValueError(
                f"Expected a transform acting on {'[0, 1]' if prior == 'uniform' else 'R'} for "
                f"prior={prior!r}; got {type(template).__name__} acting on "
                f"{'[0, 1]' if domain == 'unit' else 'R'} (use prior={expected!r}"
                + (
                    ", or transform='affine_real' for an affine flow on R)"
                    if domain == "unit"
                    else ")"
                )
            )
        masks = make_masks(d, n_cells, mask, generator=generator)
        bijections: list[Bijection] = []
        for i, m in enumerate(masks):
            if i > 0 and permutation is not None:
                bijections.append(
                    make_permutation(permutation, d, domain=domain, generator=generator)
                )
            cell_transform = template if i == 0 else copy.deepcopy(template)
            bijections.append(
                CouplingCell(
                    d,
                    m,
                    cell_transform,
                    hidden=hidden,
                    layers=layers,
                    activation=activation,
                    generator=generator,
                )
            )
        if prior == "gaussian":
            bijections.append(GaussianCDF(d))
            latent = GaussianPrior(d)
        else:
            latent = UniformPrior(d)
        super().__init__(latent, bijections)
        self.transform_name = transform if isinstance(transform, str) else type(transform).__name__
        self.mask_name = mask if isinstance(mask, str) else "explicit"
        self.permutation_name = permutation
        self.prior_name = prior

    @property
    def cells(self) -> list[CouplingCell]:
        """The coupling cells, in sampling order."""
        return [b for b in self.bijections if isinstance(b, CouplingCell)]

    @property
    def n_cells(self) -> int:
        """The number of coupling cells."""
        return len(self.cells)

    def extra_repr(self) -> str:
        return (
            f"d={self.d}, transform={self.transform_name!r}, n_cells={self.n_cells}, "
            f"mask={self.mask_name!r}, permutation={self.permutation_name!r}, "
            f"prior={self.prior_name!r}"
        )
