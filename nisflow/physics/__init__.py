"""nisflow.physics: kinematics, PDFs, matrix elements, phase space and process integrands.

The process integrands (:class:`DrellYan`, :class:`EEToMuMu`, :class:`EMuToEMu`,
:class:`DDbarToDDbar`, :class:`UCToUCG`) are callables on [0, 1]^d that
return dσ in pb, so that ``Integrator(d=p.d, f=p).integrate()`` gives the cross section; their ``events(x, generator=...)`` give the particles of points ``x``
for :func:`write_lhe`. :func:`drell_yan_channels` and :func:`drell_yan_prior` give the γ/Z/Z'
channels of :class:`DrellYan` for :class:`~nisflow.MultiChannelIntegrator`.
"""

from .channels import InvariantMassMap, drell_yan_channels, drell_yan_prior, shat_of
from .cuts import ZUNIS_CUTS, Cuts
from .jets import UCToUCG
from .kinematics import (
    boost,
    boost_from_rest_frame,
    boost_to_rest_frame,
    delta_phi,
    delta_r,
    mass,
    mass_squared,
    minkowski_dot,
    phi,
    pseudorapidity,
    pt,
    rapidity,
)
from .lhe import write_lhe
from .matrix_elements import (
    ZPrime,
    ddbar_to_ddbar,
    ee_to_mumu,
    emu_to_emu,
    me2_qqprime_to_qqprimeg,
    qqbar_to_ll,
)
from .parameters import GEV2_TO_PB, StandardModel
from .particles import Beams, PartonEvents, append_particles_h5
from .pdf import PDF, PDFNotFoundError, find_pdf_set, load_pdf, pdf_search_paths
from .phase_space import RamboOnDiet, massless_volume, two_body_decay
from .processes import DDbarToDDbar, DrellYan, EEToMuMu, EMuToEMu

__all__ = [
    "boost",
    "boost_from_rest_frame",
    "boost_to_rest_frame",
    "delta_phi",
    "delta_r",
    "mass",
    "mass_squared",
    "minkowski_dot",
    "phi",
    "pseudorapidity",
    "pt",
    "rapidity",
    "ZPrime",
    "ddbar_to_ddbar",
    "ee_to_mumu",
    "emu_to_emu",
    "qqbar_to_ll",
    "me2_qqprime_to_qqprimeg",
    "GEV2_TO_PB",
    "StandardModel",
    "PDF",
    "PDFNotFoundError",
    "find_pdf_set",
    "load_pdf",
    "pdf_search_paths",
    "RamboOnDiet",
    "massless_volume",
    "two_body_decay",
    "DrellYan",
    "InvariantMassMap",
    "drell_yan_channels",
    "drell_yan_prior",
    "shat_of",
    "EEToMuMu",
    "EMuToEMu",
    "DDbarToDDbar",
    "UCToUCG",
    "Cuts",
    "ZUNIS_CUTS",
    "Beams",
    "PartonEvents",
    "append_particles_h5",
    "write_lhe",
]
