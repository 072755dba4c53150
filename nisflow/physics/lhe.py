"""Les Houches Event files (LHE 3.0) for weighted and unweighted events.

Layout written by :func:`write_lhe` (readable by ``pylhe`` and by showers such as Pythia)::

    <LesHouchesEvents version="3.0">
    <header>
    <nisflow version="...">key = value lines (process, seed, ...)</nisflow>
    </header>
    <init>
    IDBMUP1 IDBMUP2 EBMUP1 EBMUP2 PDFGUP1 PDFGUP2 PDFSUP1 PDFSUP2 IDWTUP NPRUP
    XSECUP XERRUP XMAXUP LPRUP
    </init>
    <event>
    NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP
    IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 PX PY PZ E M VTIMUP SPINUP   (one line per particle)
    </event>
    ...
    </LesHouchesEvents>

Weights follow MG5aMC's convention: the event weights ``XWGTUP`` sum to the cross section in pb.
Unweighted events (``IDWTUP = 3``, ``-3`` when some weights are negative) all carry ``σ/N``
times their unweighting weight (``±1``, or ``|w|/w_max > 1`` for the rare over-weight events of a
quantile maximum); weighted events (``IDWTUP = 4`` or ``-4``) carry ``w_i / N`` with ``w_i = f/q``,
so that their sum is the Monte Carlo estimate of σ. ``XSECUP``/``XERRUP`` are the cross section
and its error in pb as given by the caller (the integrator's result), ``XMAXUP`` the largest
``|XWGTUP|``. A path ending in ``.gz`` is gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

import torch
from torch import Tensor

from .particles import Beams, PartonEvents

__all__ = ["write_lhe"]


def _fmt(v: float) -> str:
    return f"{v: .10e}"


def write_lhe(
    path: str | os.PathLike,
    events: PartonEvents,
    weights: Tensor,
    *,
    beams: Beams,
    cross_section: float,
    error: float,
    weighted: bool = False,
    process_id: int = 1,
    header: Mapping[str, object] | None = None,
) -> Path:
    """Write events to a Les Houches Event file (LHE 3.0), overwriting it.

    Args:
        path: output file (``.lhe``, or ``.lhe.gz`` for a compressed file).
        events: the particle content, ``n`` events.
        weights: shape ``(n,)``: for unweighted events their unweighting weights (``±1``, or
            larger for over-weight events), for weighted events ``f/q`` (mean = σ in pb).
        beams: the colliding beams and their PDF set ids.
        cross_section: σ in pb for the ``<init>`` block.
        error: its standard error in pb.
        weighted: whether the events are weighted (``IDWTUP = ±4``) or unweighted (``±3``).
        process_id: the ``LPRUP``/``IDPRUP`` process number.
        header: ``key = value`` pairs stored in the ``<nisflow>`` header element.

    Returns:
        The path written.

    Raises:
        ValueError: when the weights do not match the events or σ is not finite.
    """
    n = len(events)
    if not isinstance(weights, Tensor) or tuple(weights.shape) != (n,):
        raise ValueError(
            f"Expected weights of shape ({n},); got {tuple(getattr(weights, 'shape', ()))}."
        )
    if not (math.isfinite(cross_section) and math.isfinite(error) and error >= 0):
        raise ValueError(
            f"Expected a finite cross section and a non-negative error; got {cross_section!r} "
            f"± {error!r}."
        )
    w = weights.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(w).all()):
        bad = int((~torch.isfinite(w)).sum())
        raise ValueError(
            f"Expected finite weights; got {bad} non-finite, e.g. {float(w[~torch.isfinite(w)][0])}."
        )
    if weighted:
        xwgt = w / max(n, 1)
    else:
        xwgt = w * (cross_section / max(n, 1))
    negative = bool((w < 0).any())
    idwtup = (-4 if negative else 4) if weighted else (-3 if negative else 3)
    xmax = float(xwgt.abs().max()) if n else 0.0

    from nisflow import __version__

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    p = events.momenta.detach().to("cpu", torch.float64).numpy()
    pdg = events.pdg.cpu().numpy()
    status = events.status.cpu().numpy()
    mothers = events.mothers.cpu().numpy()
    colours = events.colours.cpu().numpy()
    masses = events.masses.detach().to("cpu", torch.float64).numpy()
    scale = events.scale.detach().to("cpu", torch.float64).numpy()
    aqed = events.alpha_qed.detach().to("cpu", torch.float64).numpy()
    aqcd = events.alpha_qcd.detach().to("cpu", torch.float64).numpy()
    xw = xwgt.numpy()
    m = p.shape[1]

    with opener(path, "wt", encoding="utf-8") as fh:
        fh.write('<LesHouchesEvents version="3.0">\n<header>\n')
        fh.write(f'<nisflow version="{escape(__version__)}">\n')
        for key, value in (header or {}).items():
            fh.write(f"{escape(str(key))} = {escape(str(value))}\n")
        fh.write(f"weighted = {bool(weighted)}\nevents = {n}\n</nisflow>\n</header>\n<init>\n")
        b = beams
        fh.write(
            f"{b.ids[0]} {b.ids[1]} {_fmt(b.energies[0])} {_fmt(b.energies[1])} 0 0 "
            f"{b.pdf_sets[0]} {b.pdf_sets[1]} {idwtup} 1\n"
        )
        fh.write(f"{_fmt(cross_section)} {_fmt(error)} {_fmt(xmax)} {process_id}\n</init>\n")
        for i in range(n):
            lines = [
                f"<event>\n{m} {process_id} {_fmt(xw[i])} {_fmt(scale[i])} "
                f"{_fmt(aqed[i])} {_fmt(aqcd[i])}\n"
            ]
            for j in range(m):
                e, px, py, pz = p[i, j]
                lines.append(
                    f"{pdg[i, j]:>9d} {status[i, j]:>2d} {mothers[i, j, 0]:>4d} "
                    f"{mothers[i, j, 1]:>4d} {colours[i, j, 0]:>4d} {colours[i, j, 1]:>4d} "
                    f"{_fmt(px)} {_fmt(py)} {_fmt(pz)} {_fmt(e)} {_fmt(masses[i, j])} "
                    "0.0000e+00 9.0000e+00\n"
                )
            lines.append("</event>\n")
            fh.write("".join(lines))
        fh.write("</LesHouchesEvents>\n")
    return path
