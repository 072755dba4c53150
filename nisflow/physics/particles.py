"""The particle content of generated events: four-momenta, PDG ids, status, mothers, colours.

A process turns points of [0, 1]^d into :class:`PartonEvents` (its ``events(x, generator=...)``
method); the writers (:func:`~nisflow.physics.lhe.write_lhe`, :func:`append_particles_h5`) take
them from there. :class:`Beams` describes the colliding beams for the ``<init>`` block of an LHE
file.

Conventions (the Les Houches ones): status ``-1`` for incoming partons, ``1`` for outgoing
particles, ``2`` for intermediate resonances; mothers are 1-based indices into the event's
particle list (``0``: none); colour and anticolour tags are integers ``>= 501`` (``0``: none).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["PartonEvents", "Beams", "append_particles_h5"]


@dataclass(frozen=True)
class Beams:
    """The two beams of a collider, as the first line of an LHE ``<init>`` block needs them.

    Attributes:
        ids: PDG ids of beam 1 and beam 2 (``2212`` for protons, ``11``/``-11`` for e∓).
        energies: beam energies in GeV.
        pdf_sets: LHAPDF set ids (``SetIndex``) per beam; ``0`` when the beam has no PDF.
    """

    ids: tuple[int, int]
    energies: tuple[float, float]
    pdf_sets: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if len(self.ids) != 2 or len(self.energies) != 2 or len(self.pdf_sets) != 2:
            raise ValueError(
                f"Expected two beams; got ids={self.ids}, energies={self.energies}, "
                f"pdf_sets={self.pdf_sets}."
            )
        if not all(e > 0 for e in self.energies):
            raise ValueError(f"Expected positive beam energies; got {self.energies}.")


@dataclass(frozen=True)
class PartonEvents:
    """``n`` events of ``m`` particles each (one particle list layout for the whole batch).

    Attributes:
        momenta: four-momenta ``(E, px, py, pz)`` in GeV, shape ``(n, m, 4)``, float64.
        pdg: PDG ids, shape ``(n, m)``, int64.
        status: Les Houches status codes, shape ``(n, m)``, int64.
        mothers: 1-based mother indices, shape ``(n, m, 2)``, int64.
        colours: colour and anticolour tags, shape ``(n, m, 2)``, int64.
        masses: generated masses in GeV, shape ``(n, m)``, float64.
        scale: the event scale (μ_F) in GeV, shape ``(n,)``, float64.
        alpha_qed: α_QED used, shape ``(n,)``, float64.
        alpha_qcd: α_s used (0 when none), shape ``(n,)``, float64.
    """

    momenta: Tensor
    pdg: Tensor
    status: Tensor
    mothers: Tensor
    colours: Tensor
    masses: Tensor
    scale: Tensor
    alpha_qed: Tensor
    alpha_qcd: Tensor

    def __post_init__(self) -> None:
        p = self.momenta
        if not isinstance(p, Tensor) or p.dim() != 3 or p.shape[-1] != 4:
            raise ValueError(
                f"Expected momenta of shape (n, m, 4); got {getattr(p, 'shape', type(p))}."
            )
        n, m = p.shape[:2]
        expected = {
            "pdg": (n, m),
            "status": (n, m),
            "mothers": (n, m, 2),
            "colours": (n, m, 2),
            "masses": (n, m),
            "scale": (n,),
            "alpha_qed": (n,),
            "alpha_qcd": (n,),
        }
        for name, shape in expected.items():
            t = getattr(self, name)
            if not isinstance(t, Tensor) or tuple(t.shape) != shape:
                raise ValueError(
                    f"Expected {name} of shape {shape}; got {tuple(getattr(t, 'shape', ()))}."
                )

    @classmethod
    def build(
        cls,
        momenta: Tensor,
        pdg: Tensor,
        status: Tensor,
        mothers: Tensor,
        colours: Tensor,
        *,
        scale: Tensor | float,
        alpha_qed: Tensor | float,
        alpha_qcd: Tensor | float = 0.0,
        masses: Tensor | None = None,
    ) -> PartonEvents:
        """Broadcast per-process layouts to per-event tensors.

        Args:
            momenta: shape ``(n, m, 4)``.
            pdg, status: shape ``(m,)`` or ``(n, m)``.
            mothers, colours: shape ``(m, 2)`` or ``(n, m, 2)``.
            scale, alpha_qed, alpha_qcd: floats or shape ``(n,)``.
            masses: ``(m,)`` or ``(n, m)``; default zero (massless particles).
        """
        n, m = momenta.shape[0], momenta.shape[1]
        dev = momenta.device

        def ints(t: Tensor, shape: tuple[int, ...]) -> Tensor:
            return torch.as_tensor(t, dtype=torch.int64, device=dev).expand(shape).contiguous()

        def floats(t: Tensor | float, shape: tuple[int, ...]) -> Tensor:
            return torch.as_tensor(t, dtype=torch.float64, device=dev).expand(shape).contiguous()

        return cls(
            momenta=momenta.to(torch.float64),
            pdg=ints(pdg, (n, m)),
            status=ints(status, (n, m)),
            mothers=ints(mothers, (n, m, 2)),
            colours=ints(colours, (n, m, 2)),
            masses=floats(0.0 if masses is None else masses, (n, m)),
            scale=floats(scale, (n,)),
            alpha_qed=floats(alpha_qed, (n,)),
            alpha_qcd=floats(alpha_qcd, (n,)),
        )

    def __len__(self) -> int:
        return int(self.momenta.shape[0])


def append_particles_h5(path: str, events: PartonEvents) -> None:
    """Add the particle content to an HDF5 event file written by :func:`nisflow.events.write_events`.

    Datasets ``/momenta`` ``(n, m, 4)``, ``/pdg``, ``/status`` ``(n, m)``, ``/colours`` ``(n, m, 2)``
    and ``/scale`` ``(n,)`` are (re)written; the points ``/x`` and weights ``/w`` stay as they are.

    Raises:
        ValueError: when the file holds a different number of events.
    """
    from nisflow.events import require_h5py

    h5py = require_h5py()
    with h5py.File(path, "a") as fh:
        n_file = int(fh["w"].shape[0]) if "w" in fh else len(events)
        if n_file != len(events):
            raise ValueError(f"Expected {n_file} events (as in {path}); got {len(events)}.")
        for name in ("momenta", "pdg", "status", "colours", "scale"):
            if name in fh:
                del fh[name]
            fh.create_dataset(name, data=getattr(events, name).detach().cpu().numpy())
