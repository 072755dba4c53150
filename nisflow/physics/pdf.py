"""Parton distribution functions from LHAPDF6 ``lhagrid1`` grids, interpolated in torch.

A PDF *set* is found by name along the folders of ``LHAPDF_DATA_PATH`` (colon-separated, the
variable LHAPDF users already have; ``LHAPATH`` is also honoured), then in the grid folder of the
``pythia8mc`` package when it is installed (``<prefix>/share/Pythia8/pdfdata``, which ships e.g.
``NNPDF31_lo_as_0118``). Two layouts are recognised in each folder::

    <folder>/<name>/<name>.info  and  <folder>/<name>/<name>_0000.dat   (LHAPDF)
    <folder>/<name>_0000.dat     (and optionally <folder>/<name>.info)  (Pythia's flat folder)

Interpolation (what LHAPDF calls ``logcubic``, its default for ``lhagrid1``): in each Q subgrid
(subgrids are separated by repeated Q knots at the flavour thresholds) ``x f(x, Q²)`` is a cubic
Hermite spline in ``log x`` whose knot derivatives are the mean of the left and right secant slopes
(one-sided at the first and last x knot); the four x-interpolated values at Q knots
``iq-1 .. iq+2`` then define a cubic Hermite spline in ``log Q²`` with the same derivative rule,
one-sided at the edges of the subgrid. A query exactly on a subgrid boundary uses the upper
subgrid, and a query on the last knot uses the last interval, as LHAPDF does. A subgrid with only
two Q knots is interpolated linearly in ``log Q²``.

Extrapolation (``extrapolation=``):

* ``"continuation"`` (LHAPDF's default ``Continuation`` extrapolator, from the MSTW code):
  below ``x_min``, ``log(xf)`` (or ``xf`` itself when either value is ≤ 1e-3) continues linearly
  in ``log x`` from the first two x knots; above ``Q²_max`` the same in ``log Q²`` from the last two
  Q knots (both when both apply, Q first); below ``Q²_min``,
  ``xf(x, Q²) = xf(x, Q²_min) (Q²/Q²_min)^(γ r + 1 - r)`` with ``r = Q²/Q²_min`` and the anomalous
  dimension ``γ = max(-2.5, [xf(1.01 Q²_min)/xf(Q²_min) - 1] / 0.01)`` (``γ = 1`` when
  ``|xf(Q²_min)| < 1e-5``), so the PDFs vanish as ``Q² -> 0``.
* ``"nearest"`` (LHAPDF's ``Nearest``): x and Q² are frozen at the closest grid edge.
* ``"error"``: a point outside the grid raises ``ValueError``.

``x > 1`` or ``x <= 0`` or ``Q² <= 0`` always raise. Flavours absent from the grid (e.g. the
photon) give zero, as in LHAPDF; ``pid = 0`` means the gluon (21).

αs comes from the ``.info`` file: with ``AlphaS_Type: ipol`` (or whenever ``AlphaS_Qs`` and
``AlphaS_Vals`` are given) it is LHAPDF's ``ipol`` scheme — a cubic Hermite spline in ``log Q²``
per subgrid (subgrids split at repeated Q values) with the same derivative rule, a power law
continued from the first two distinct knots below the first knot, and frozen above the last.

Example:
    >>> pdf = load_pdf("NNPDF40_lo_as_01180")                      # doctest: +SKIP
    >>> x = torch.tensor([0.01, 0.1], dtype=torch.float64)
    >>> pdf.xfx(2, x, torch.full_like(x, 91.188**2))                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "PDF",
    "load_pdf",
    "find_pdf_set",
    "pdf_search_paths",
    "read_info",
    "read_lhagrid1",
    "PDFNotFoundError",
]

_EXTRAPOLATIONS = ("continuation", "nearest", "error")


class PDFNotFoundError(FileNotFoundError):
    """A PDF set or member could not be found along the search paths."""


# ----------------------------------------------------------------------------------------------
# Finding and reading files
# ----------------------------------------------------------------------------------------------


def _pythia_pdfdata() -> list[Path]:
    """The grid folder(s) of the ``pythia8mc`` package, when it is installed."""
    try:
        spec = importlib.util.find_spec("pythia8mc")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return []
    candidates = [Path(sys.prefix) / "share" / "Pythia8" / "pdfdata"]
    if spec.origin:
        # site-packages/pythia8mc*.so -> <prefix>/share/Pythia8/pdfdata
        candidates.append(Path(spec.origin).resolve().parents[3] / "share" / "Pythia8" / "pdfdata")
    out: list[Path] = []
    for c in candidates:
        if c.is_dir() and c not in out:
            out.append(c)
    return out


def pdf_search_paths(
    extra: Sequence[str | os.PathLike] | str | os.PathLike | None = None,
) -> list[Path]:
    """The folders searched for PDF sets, in order.

    Args:
        extra: folders searched first (a path, a colon-separated string or a sequence of paths).

    Returns:
        ``extra``, then ``$LHAPDF_DATA_PATH`` and ``$LHAPATH`` entries, then the ``pythia8mc`` grid
        folder when that package is installed (duplicates removed).
    """
    entries: list[str] = []
    if extra is not None:
        if isinstance(extra, (str, os.PathLike)):
            entries += str(extra).split(os.pathsep)
        else:
            entries += [str(e) for e in extra]
    for var in ("LHAPDF_DATA_PATH", "LHAPATH"):
        entries += os.environ.get(var, "").split(os.pathsep)
    paths: list[Path] = []
    for e in entries:
        if e and Path(e) not in paths:
            paths.append(Path(e))
    for p in _pythia_pdfdata():
        if p not in paths:
            paths.append(p)
    return paths


def find_pdf_set(
    name: str, member: int = 0, paths: Sequence[str | os.PathLike] | str | os.PathLike | None = None
) -> tuple[Path, Path | None]:
    """Locate the ``.dat`` file of a member and the ``.info`` file of a set.

    Args:
        name: the set name (e.g. ``"NNPDF40_lo_as_01180"``), or a path to a set folder.
        member: the member number (``0`` is the central member).
        paths: folders searched before the environment's (see :func:`pdf_search_paths`).

    Returns:
        ``(dat_path, info_path)``; ``info_path`` is ``None`` when the set has no ``.info`` file.

    Raises:
        PDFNotFoundError: naming every folder searched, when the set or the member is absent.
    """
    if isinstance(member, bool) or not isinstance(member, int) or member < 0:
        raise ValueError(f"Expected member to be a non-negative integer; got {member!r}.")
    direct = Path(name)
    if direct.is_dir():
        folders, set_name = [direct.parent], direct.name
    else:
        folders, set_name = pdf_search_paths(paths), name
    dat_name = f"{set_name}_{member:04d}.dat"
    found_set: Path | None = None
    for folder in folders:
        for set_dir in (folder / set_name, folder):
            dat = set_dir / dat_name
            info = set_dir / f"{set_name}.info"
            if dat.is_file():
                return dat, (info if info.is_file() else None)
            if info.is_file() and found_set is None:
                found_set = set_dir
    searched = ", ".join(str(f) for f in folders) or "(none: LHAPDF_DATA_PATH is empty)"
    if found_set is not None:
        members = sorted(p.name for p in found_set.glob(f"{set_name}_*.dat"))
        raise PDFNotFoundError(
            f"Expected member {member} of PDF set {set_name!r} ({dat_name}) in {found_set}; "
            f"got only {members or 'no member files'}. Searched: {searched}."
        )
    raise PDFNotFoundError(
        f"Expected PDF set {set_name!r} in one of the searched folders; got none. Searched: "
        f"{searched}. Set LHAPDF_DATA_PATH to the folder holding {set_name}/, or install the "
        f"'pythia8mc' package (optional 'physics' extra) for its bundled NNPDF LO grids."
    )


def _parse_value(text: str) -> object:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        items = [t.strip() for t in text[1:-1].split(",") if t.strip()]
        return [_parse_value(t) for t in items]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def read_info(path: str | os.PathLike) -> dict[str, object]:
    """Read an LHAPDF ``.info`` file (flat ``Key: value`` YAML) into a dict.

    Numbers become ``int``/``float``, ``[a, b, ...]`` lists become Python lists.

    Raises:
        ValueError: for a line that is not ``Key: value`` or an unterminated list.
    """
    path = Path(path)
    out: dict[str, object] = {}
    pending_key, pending = None, ""
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = "" if raw.lstrip().startswith("#") else raw.rstrip()
        if pending_key is not None:
            pending += " " + line.strip()
            if pending.rstrip().endswith("]"):
                out[pending_key] = _parse_value(pending)
                pending_key, pending = None, ""
            continue
        if not line.strip():
            continue
        if ":" not in line:
            raise ValueError(f"Expected 'Key: value' at {path}:{lineno}; got {raw!r}.")
        key, value = line.split(":", 1)
        value = value.strip()
        if value.startswith("[") and not value.endswith("]"):
            pending_key, pending = key.strip(), value
            continue
        out[key.strip()] = _parse_value(value)
    if pending_key is not None:
        raise ValueError(
            f"Expected a closing ']' for key {pending_key!r} in {path}; got end of file."
        )
    return out


def read_lhagrid1(path: str | os.PathLike) -> tuple[dict[str, object], list[dict[str, np.ndarray]]]:
    """Read an LHAPDF6 ``lhagrid1`` member file.

    Returns:
        ``(header, subgrids)``: the member header (``Format``, ``PdfType``...) and a list of
        subgrids, each a dict with ``x`` (shape ``(n_x,)``), ``q`` (``(n_q,)``, in GeV),
        ``pids`` (``(n_f,)`` ints) and ``xf`` (``(n_x, n_q, n_f)``, the tabulated ``x f(x, Q)``).

    Raises:
        ValueError: naming the file and the subgrid when the file is malformed.
    """
    path = Path(path)
    text = path.read_text()
    blocks = [b for b in _split_blocks(text)]
    if len(blocks) < 2:
        raise ValueError(
            f"Expected an lhagrid1 file with a header and '---'-separated subgrids in {path}; got no '---' separator."
        )
    header: dict[str, object] = {}
    for line in blocks[0].splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            header[k.strip()] = _parse_value(v)
    fmt = header.get("Format", "lhagrid1")
    if fmt != "lhagrid1":
        raise ValueError(f"Expected Format: lhagrid1 in {path}; got {fmt!r}.")
    subgrids = []
    for k, block in enumerate(blocks[1:]):
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if len(lines) < 4:
            raise ValueError(
                f"Expected x knots, Q knots, flavours and values in subgrid {k} of {path}; got {len(lines)} lines."
            )
        try:
            x = np.array(lines[0].split(), dtype=np.float64)
            q = np.array(lines[1].split(), dtype=np.float64)
            pids = np.array(lines[2].split(), dtype=np.int64)
            vals = np.array(" ".join(lines[3:]).split(), dtype=np.float64)
        except ValueError as err:
            raise ValueError(f"Expected numbers in subgrid {k} of {path}; got {err}.") from None
        nx, nq, nf = len(x), len(q), len(pids)
        if vals.size != nx * nq * nf:
            raise ValueError(
                f"Expected {nx}*{nq}*{nf} = {nx * nq * nf} values in subgrid {k} of {path} "
                f"({nx} x knots, {nq} Q knots, {nf} flavours); got {vals.size}."
            )
        if (
            nx < 2
            or nq < 2
            or np.any(np.diff(x) <= 0)
            or np.any(np.diff(q) <= 0)
            or x[0] <= 0
            or q[0] <= 0
        ):
            raise ValueError(
                f"Expected at least two strictly increasing positive x and Q knots in subgrid {k} of {path}; got x={x[:3]}..., Q={q[:3]}..."
            )
        subgrids.append(dict(x=x, q=q, pids=pids, xf=vals.reshape(nx, nq, nf)))
    if not subgrids:
        raise ValueError(f"Expected at least one subgrid in {path}; got none.")
    return header, subgrids


def _split_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip() == "---":
            blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if any(s.strip() for s in current):
        blocks.append("\n".join(current))
    return blocks


# ----------------------------------------------------------------------------------------------
# Interpolation helpers (torch, float64)
# ----------------------------------------------------------------------------------------------


def _hermite(t: Tensor, vl: Tensor, dl: Tensor, vh: Tensor, dh: Tensor) -> Tensor:
    """Cubic Hermite on [0, 1]: values ``vl, vh`` and derivatives (already × interval) ``dl, dh``."""
    t2 = t * t
    t3 = t2 * t
    return (
        (2 * t3 - 3 * t2 + 1) * vl
        + (t3 - 2 * t2 + t) * dl
        + (-2 * t3 + 3 * t2) * vh
        + (t3 - t2) * dh
    )


def _hermite_basis(t: Tensor) -> Tensor:
    """The four cubic Hermite basis functions ``(h00, h10, h01, h11)`` at ``t``; ``(n,) -> (n, 4)``."""
    t2 = t * t
    t3 = t2 * t
    return torch.stack([2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, -2 * t3 + 3 * t2, t3 - t2], -1)


def _knot_derivatives(logk: np.ndarray, v: np.ndarray, axis: int) -> np.ndarray:
    """d v / d logk at every knot: mean of the two secants, one-sided at the ends."""
    v = np.moveaxis(v, axis, 0)
    h = np.diff(logk).reshape((-1,) + (1,) * (v.ndim - 1))
    sec = np.diff(v, axis=0) / h
    d = np.empty_like(v)
    d[0] = sec[0]
    d[-1] = sec[-1]
    d[1:-1] = 0.5 * (sec[:-1] + sec[1:])
    return np.moveaxis(d, 0, axis)


def _extrapolate_linear(x: Tensor, xl: Tensor, xh: Tensor, yl: Tensor, yh: Tensor) -> Tensor:
    """LHAPDF's continuation step: linear in ``log x`` of ``log y`` (both y > 1e-3) or of ``y``."""
    t = (torch.log(x) - torch.log(xl)) / (torch.log(xh) - torch.log(xl))
    pos = (yl > 1e-3) & (yh > 1e-3)
    safe_l = torch.where(pos, yl, torch.ones_like(yl))
    safe_h = torch.where(pos, yh, torch.ones_like(yh))
    logy = torch.exp(torch.log(safe_l) + t * (torch.log(safe_h) - torch.log(safe_l)))
    return torch.where(pos, logy, yl + t * (yh - yl))


class PDF(nn.Module):
    """One member of an ``lhagrid1`` PDF set, interpolated and extrapolated as LHAPDF does.

    Build it with :func:`load_pdf`. All tables are float64 buffers, so ``pdf.to("cuda")`` moves
    everything; inputs must be on the PDF's device and are evaluated in float64.

    Args:
        subgrids: as returned by :func:`read_lhagrid1` (same x knots and flavours in every subgrid).
        info: the set's ``.info`` metadata (may be empty).
        name: the set name, for messages.
        member: the member number.
        extrapolation: ``"continuation"`` (default, LHAPDF's), ``"nearest"`` or ``"error"``.

    Attributes:
        pids: the flavour ids of the grid, a tuple of ints (21 = gluon).
        x_min, x_max, q2_min, q2_max: the grid's edges (floats).
    """

    def __init__(
        self,
        subgrids: list[dict[str, np.ndarray]],
        info: dict[str, object] | None = None,
        *,
        name: str = "pdf",
        member: int = 0,
        extrapolation: str = "continuation",
    ):
        super().__init__()
        if extrapolation not in _EXTRAPOLATIONS:
            raise ValueError(f"Expected extrapolation in {_EXTRAPOLATIONS}; got {extrapolation!r}.")
        self.name, self.member, self.extrapolation = name, member, extrapolation
        self.info = dict(info or {})
        x0, p0 = subgrids[0]["x"], subgrids[0]["pids"]
        for k, sg in enumerate(subgrids):
            if sg["x"].shape != x0.shape or not np.allclose(sg["x"], x0, rtol=1e-12, atol=0):
                raise ValueError(
                    f"Expected the same x knots in every subgrid of {name}; subgrid {k} differs."
                )
            if not np.array_equal(sg["pids"], p0):
                raise ValueError(
                    f"Expected the same flavours in every subgrid of {name}; got {p0.tolist()} and {sg['pids'].tolist()} (subgrid {k})."
                )
        for a, b in zip(subgrids[:-1], subgrids[1:], strict=True):
            if b["q"][0] < a["q"][-1]:
                raise ValueError(
                    f"Expected Q subgrids of {name} in increasing order; got {a['q'][-1]} before {b['q'][0]}."
                )
        self.pids = tuple(int(p) for p in p0)
        log_x = np.log(x0)
        log_q2 = np.concatenate([2 * np.log(sg["q"]) for sg in subgrids])
        xf = np.concatenate(
            [np.transpose(sg["xf"], (1, 0, 2)) for sg in subgrids], axis=0
        )  # (NQ, nx, nf)
        dxf = _knot_derivatives(log_x, xf, axis=1)
        f64 = torch.float64
        self.register_buffer("log_x", torch.tensor(log_x, dtype=f64))
        self.register_buffer("log_q2", torch.tensor(log_q2, dtype=f64))
        self.register_buffer(
            "sub_lo", torch.tensor([2 * np.log(sg["q"][0]) for sg in subgrids], dtype=f64)
        )
        self.register_buffer(
            "sub_start", torch.tensor([offset_of(subgrids, k) for k in range(len(subgrids))])
        )
        self.register_buffer(
            "sub_end",
            torch.tensor(
                [offset_of(subgrids, k) + len(sg["q"]) - 1 for k, sg in enumerate(subgrids)]
            ),
        )
        self.register_buffer("xf_table", torch.tensor(xf, dtype=f64))
        self.register_buffer("dxf_table", torch.tensor(dxf, dtype=f64))
        q2_unique = np.unique(np.concatenate([sg["q"] ** 2 for sg in subgrids]))
        self.x_min, self.x_min1, self.x_max = float(x0[0]), float(x0[1]), float(x0[-1])
        self.q2_min, self.q2_max = float(q2_unique[0]), float(q2_unique[-1])
        self.q2_max1 = float(q2_unique[-2])
        self._pid_col = {p: i for i, p in enumerate(self.pids)}
        self._init_alphas()

    # -- alpha_s --------------------------------------------------------------------------------

    def _init_alphas(self) -> None:
        qs, vals = self.info.get("AlphaS_Qs"), self.info.get("AlphaS_Vals")
        self._has_alphas = (
            isinstance(qs, list) and isinstance(vals, list) and len(qs) == len(vals) >= 2
        )
        if not self._has_alphas:
            self.register_buffer("as_log_q2", torch.zeros(0, dtype=torch.float64))
            self.register_buffer("as_vals", torch.zeros(0, dtype=torch.float64))
            self.register_buffer("as_dvals", torch.zeros(0, dtype=torch.float64))
            self.register_buffer("as_is_last", torch.zeros(0, dtype=torch.bool))
            return
        q = np.asarray(qs, dtype=np.float64)
        a = np.asarray(vals, dtype=np.float64)
        if np.any(np.diff(q) < 0):
            raise ValueError(
                f"Expected non-decreasing AlphaS_Qs in the .info of {self.name}; got {qs[:4]}..."
            )
        lq2 = 2 * np.log(q)
        # split into subgrids at repeated Q values (flavour thresholds)
        cuts = [0] + [i + 1 for i in range(len(q) - 1) if q[i + 1] == q[i]] + [len(q)]
        d = np.zeros_like(a)
        is_last = np.zeros(len(q), dtype=bool)
        for s, e in zip(cuts[:-1], cuts[1:], strict=True):
            if e - s >= 2:
                d[s:e] = _knot_derivatives(lq2[s:e], a[s:e], axis=0)
            is_last[e - 1] = True
        self.register_buffer("as_log_q2", torch.tensor(lq2, dtype=torch.float64))
        self.register_buffer("as_vals", torch.tensor(a, dtype=torch.float64))
        self.register_buffer("as_dvals", torch.tensor(d, dtype=torch.float64))
        self.register_buffer("as_is_last", torch.tensor(is_last))
        nxt = 1
        while q[nxt] == q[0]:
            nxt += 1
        self._as_low_slope = float(np.log(a[nxt] / a[0]) / (lq2[nxt] - lq2[0]))

    def alphas(self, q2: Tensor) -> Tensor:
        """Strong coupling αs(Q²) from the set's ``AlphaS_Qs``/``AlphaS_Vals`` (ipol scheme).

        Args:
            q2: scales squared in GeV², any shape.

        Returns:
            αs, float64, same shape as ``q2``.

        Raises:
            ValueError: when the set's ``.info`` holds no αs table.
        """
        if not self._has_alphas:
            raise ValueError(
                f"Expected AlphaS_Qs and AlphaS_Vals in the .info of PDF set {self.name}; got "
                f"AlphaS_Type={self.info.get('AlphaS_Type', 'none')!r} without a table."
            )
        q2 = torch.as_tensor(q2, dtype=torch.float64, device=self.as_vals.device)
        lq = torch.log(q2)
        knots = self.as_log_q2
        n = knots.shape[0]
        i = (torch.searchsorted(knots, lq.contiguous(), right=True) - 1).clamp(0, n - 2)
        # a query on a threshold knot belongs to the upper subgrid; never interpolate across one
        i = torch.where(self.as_is_last[i], i + 1, i).clamp(max=n - 2)
        h = knots[i + 1] - knots[i]
        t = (lq - knots[i]) / h
        val = _hermite(
            t, self.as_vals[i], self.as_dvals[i] * h, self.as_vals[i + 1], self.as_dvals[i + 1] * h
        )
        low = self.as_vals[0] * torch.exp(self._as_low_slope * (lq - knots[0]))
        val = torch.where(lq < knots[0], low, val)
        return torch.where(lq > knots[-1], self.as_vals[-1], val)

    # -- PDF interpolation ----------------------------------------------------------------------

    def _interpolate(self, log_x: Tensor, log_q2: Tensor, cols: Tensor) -> Tensor:
        """Log-bicubic interpolation inside the grid; ``(n,), (n,) -> (n, k)`` for columns ``cols``."""
        lx, lq = self.log_x, self.log_q2
        nx = lx.shape[0]
        ix = (torch.searchsorted(lx, log_x.contiguous(), right=True) - 1).clamp(0, nx - 2)
        s = (torch.searchsorted(self.sub_lo, log_q2.contiguous(), right=True) - 1).clamp(min=0)
        start, end = self.sub_start[s], self.sub_end[s]
        iq = torch.searchsorted(lq, log_q2.contiguous(), right=True) - 1
        iq = torch.minimum(torch.maximum(iq, start), end - 1)
        at_lo, at_hi = iq == start, iq + 1 == end
        rows = torch.stack(
            [torch.maximum(iq - 1, start), iq, iq + 1, torch.minimum(iq + 2, end)], -1
        )  # (n, 4)
        flat = rows.unsqueeze(-1) * nx + torch.stack([ix, ix + 1], -1).unsqueeze(1)  # (n, 4, 2)
        # The scheme is linear in the tabulated values and knot derivatives: build the weight of
        # each of the 4 x 2 neighbouring knots, then contract with one gather of both tables.
        k = cols.shape[0]
        table = torch.cat(
            [
                self.xf_table.reshape(-1, self.xf_table.shape[-1])[:, cols],
                self.dxf_table.reshape(-1, self.dxf_table.shape[-1])[:, cols],
            ],
            -1,
        )
        hx = lx[ix + 1] - lx[ix]
        bx = _hermite_basis((log_x - lx[ix]) / hx)  # (n, 4)
        w_x = torch.stack([bx[:, 0], bx[:, 2], bx[:, 1] * hx, bx[:, 3] * hx], -1).view(-1, 2, 2)
        w_x = w_x.transpose(1, 2).reshape(-1, 4)  # (n, x-knot * value/deriv)
        one = torch.ones_like(log_q2)
        zero = torch.zeros_like(log_q2)
        d0 = torch.where(at_lo, one, lq[iq] - lq[rows[:, 0]])
        d1 = lq[iq + 1] - lq[iq]
        d2 = torch.where(at_hi, one, lq[rows[:, 3]] - lq[iq + 1])
        # coefficients of (v_ll, v_l, v_h, v_hh) in the secants
        sec = torch.stack([zero, -1 / d1, 1 / d1, zero], -1)
        left = torch.stack([-1 / d0, 1 / d0, zero, zero], -1)
        right = torch.stack([zero, zero, -1 / d2, 1 / d2], -1)
        # LHAPDF's rule: one-sided at the subgrid edge, else the mean of the neighbouring secants
        vdl = torch.where(at_lo.unsqueeze(-1), sec, 0.5 * (sec + left))
        vdh = torch.where(at_hi.unsqueeze(-1), sec, 0.5 * (sec + right))
        bq = _hermite_basis((log_q2 - lq[iq]) / d1)
        w_q = bq[:, 1:2] * d1.unsqueeze(-1) * vdl + bq[:, 3:4] * d1.unsqueeze(-1) * vdh
        w_q = w_q + torch.stack([zero, bq[:, 0], bq[:, 2], zero], -1)  # (n, 4)
        table = table.view(-1, 2, k)  # (knot, value/deriv, k)
        if log_q2.numel() > 1 and bool((log_q2 == log_q2[:1]).all()):
            # one scale for the whole batch (fixed factorisation scale): collapse the Q direction
            # first, then interpolate in x from a one-dimensional table
            rows_x = rows[0].unsqueeze(-1) * nx + torch.arange(nx, device=lx.device)  # (4, nx)
            col = (w_q[0].view(4, 1, 1, 1) * table[rows_x]).sum(0)  # (nx, 2, k)
            g = col[torch.stack([ix, ix + 1], -1)].reshape(-1, 4, k)
            return (w_x.unsqueeze(-1) * g).sum(1)
        g = table[flat.reshape(-1)].reshape(-1, 4, 2, 2, k)  # (n, row, x-knot, value/deriv, k)
        w = w_q.view(-1, 4, 1, 1) * w_x.view(-1, 1, 2, 2)
        return (w.reshape(-1, 16, 1) * g.reshape(-1, 16, k)).sum(1)

    def _inside_q(self, x: Tensor, q2: Tensor, cols: Tensor) -> Tensor:
        """Values for ``x`` in ``[x_min, x_max]`` and ``q2 >= q2_min`` (continuation above Q²_max)."""
        out = self._interpolate(torch.log(x), torch.log(q2.clamp(max=self.q2_max)), cols)
        high = q2 > self.q2_max
        if bool(high.any()):
            xs, qs = x[high], q2[high].unsqueeze(-1)
            f0 = self._interpolate(torch.log(xs), torch.full_like(xs, np.log(self.q2_max)), cols)
            f1 = self._interpolate(torch.log(xs), torch.full_like(xs, np.log(self.q2_max1)), cols)
            c = lambda v: torch.full_like(qs, v)  # noqa: E731
            out[high] = _extrapolate_linear(qs, c(self.q2_max), c(self.q2_max1), f0, f1)
        return out

    def _q_above_min(self, x: Tensor, q2: Tensor, cols: Tensor) -> Tensor:
        """Values for ``q2 >= q2_min`` and ``0 < x <= x_max`` (continuation below x_min)."""
        out = self._inside_q(x.clamp(min=self.x_min), q2, cols)
        low = x < self.x_min
        if bool(low.any()):
            xs, qs = x[low], q2[low]
            f0 = self._inside_q(torch.full_like(xs, self.x_min), qs, cols)
            f1 = self._inside_q(torch.full_like(xs, self.x_min1), qs, cols)
            c = lambda v: torch.full_like(f0, v)  # noqa: E731
            out[low] = _extrapolate_linear(
                xs.unsqueeze(-1).expand_as(f0), c(self.x_min), c(self.x_min1), f0, f1
            )
        return out

    def _evaluate(self, x: Tensor, q2: Tensor, cols: Tensor) -> Tensor:
        outside = (x < self.x_min) | (q2 < self.q2_min) | (q2 > self.q2_max)
        if self.extrapolation == "error" and bool(outside.any()):
            i = int(outside.nonzero()[0, 0])
            raise ValueError(
                f"Expected (x, Q²) inside the grid of {self.name} (x >= {self.x_min:g}, "
                f"{self.q2_min:g} <= Q² <= {self.q2_max:g} GeV²); got {int(outside.sum())} points "
                f"outside, e.g. x={float(x[i]):g}, Q²={float(q2[i]):g}."
            )
        if self.extrapolation == "nearest":
            return self._interpolate(
                torch.log(x.clamp(min=self.x_min)),
                torch.log(q2.clamp(self.q2_min, self.q2_max)),
                cols,
            )
        out = self._q_above_min(x, q2.clamp(min=self.q2_min), cols)
        low = q2 < self.q2_min
        if bool(low.any()):
            xs, qs = x[low], q2[low].unsqueeze(-1)
            f0 = self._q_above_min(xs, torch.full_like(xs, self.q2_min), cols)
            f1 = self._q_above_min(xs, torch.full_like(xs, 1.01 * self.q2_min), cols)
            safe = torch.where(f0.abs() >= 1e-5, f0, torch.ones_like(f0))
            anom = torch.where(
                f0.abs() >= 1e-5, ((f1 - f0) / safe / 0.01).clamp(min=-2.5), torch.ones_like(f0)
            )
            r = qs / self.q2_min
            out[low] = f0 * r ** (anom * r + 1.0 - r)
        return out

    def _prepare(self, x: Tensor, q2: Tensor) -> tuple[Tensor, Tensor, torch.Size]:
        if not isinstance(x, Tensor) or not isinstance(q2, Tensor):
            raise TypeError(
                f"Expected x and q2 to be torch.Tensors; got {type(x).__name__} and {type(q2).__name__}."
            )
        if x.device != self.xf_table.device or q2.device != self.xf_table.device:
            raise ValueError(
                f"Expected x and q2 on the PDF's device {self.xf_table.device} (use pdf.to(device)); "
                f"got {x.device} and {q2.device}."
            )
        x, q2 = torch.broadcast_tensors(x.to(torch.float64), q2.to(torch.float64))
        shape = x.shape
        x, q2 = x.reshape(-1), q2.reshape(-1)
        bad = ~((x > 0) & (x <= self.x_max) & (q2 > 0) & torch.isfinite(q2))
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"Expected 0 < x <= {self.x_max:g} and finite Q² > 0 for PDF {self.name}; got "
                f"{int(bad.sum())} invalid points, e.g. x={float(x[i])!r}, Q²={float(q2[i])!r}."
            )
        return x, q2, shape

    def _columns(self, pids: Sequence[int]) -> tuple[Tensor, Tensor]:
        cols, present = [], []
        for p in pids:
            p = 21 if int(p) == 0 else int(p)
            present.append(p in self._pid_col)
            cols.append(self._pid_col.get(p, 0))
        dev = self.xf_table.device
        return torch.tensor(cols, device=dev), torch.tensor(present, device=dev)

    def xfx_many(self, pids: Sequence[int], x: Tensor, q2: Tensor) -> Tensor:
        """``x f_i(x, Q²)`` for several flavours at once.

        Args:
            pids: PDG flavour ids (``21`` or ``0``: gluon; absent flavours give zero).
            x: momentum fractions, any shape ``S`` (broadcast with ``q2``).
            q2: factorisation scales squared in GeV², shape broadcastable to ``S``.

        Returns:
            float64 tensor of shape ``(*S, len(pids))``.
        """
        x, q2, shape = self._prepare(x, q2)
        cols, present = self._columns(pids)
        out = self._evaluate(x, q2, cols) * present
        return out.reshape(*shape, len(pids))

    def xfx(self, pid: int | Tensor, x: Tensor, q2: Tensor) -> Tensor:
        """``x f(x, Q²)`` for one flavour, or for one flavour per point.

        Args:
            pid: a PDG id (int), or an integer tensor of ids broadcastable to the points' shape.
            x: momentum fractions, any shape ``S``.
            q2: scales squared in GeV², broadcastable to ``S``.

        Returns:
            float64 tensor of shape ``S`` (the broadcast shape).
        """
        if isinstance(pid, Tensor):
            all_ = self.xfx_many(self.pids, x, q2)
            pid = torch.where(pid == 0, torch.full_like(pid, 21), pid).to(all_.device)
            table = torch.full(
                (int(max(abs(p) for p in self.pids + (21,))) * 2 + 1,),
                -1,
                dtype=torch.long,
                device=all_.device,
            )
            off = (table.shape[0] - 1) // 2
            for i, p in enumerate(self.pids):
                table[p + off] = i
            inside = pid.abs() <= off
            idx = torch.where(
                inside, table[(pid + off).clamp(0, 2 * off)], torch.full_like(pid, -1)
            )
            idx = idx.expand(all_.shape[:-1])
            val = torch.gather(all_, -1, idx.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            return torch.where(idx >= 0, val, torch.zeros_like(val))
        return self.xfx_many([pid], x, q2)[..., 0]

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, member={self.member}, pids={list(self.pids)}, "
            f"x=[{self.x_min:g}, {self.x_max:g}], Q2=[{self.q2_min:g}, {self.q2_max:g}], "
            f"extrapolation={self.extrapolation!r}"
        )


def offset_of(subgrids: list[dict[str, np.ndarray]], k: int) -> int:
    """Index of the first Q knot of subgrid ``k`` in the concatenated knot list."""
    return int(sum(len(sg["q"]) for sg in subgrids[:k]))


def load_pdf(
    name: str,
    member: int = 0,
    *,
    paths: Sequence[str | os.PathLike] | str | os.PathLike | None = None,
    extrapolation: str = "continuation",
    device: torch.device | str | None = None,
) -> PDF:
    """Load one member of a PDF set found by name (see :func:`pdf_search_paths`).

    Args:
        name: set name, e.g. ``"NNPDF40_lo_as_01180"``, or a path to the set folder.
        member: member number (``0``: central).
        paths: folders searched before ``$LHAPDF_DATA_PATH`` and the ``pythia8mc`` grids.
        extrapolation: ``"continuation"`` (LHAPDF default), ``"nearest"`` or ``"error"``.
        device: where to put the tables (default CPU).

    Returns:
        A :class:`PDF` module.

    Raises:
        PDFNotFoundError: the set or member is absent (the message lists the folders searched).
        ValueError: a malformed ``.info`` or ``.dat`` file (the message names the file).
    """
    dat, info_path = find_pdf_set(name, member, paths)
    info = read_info(info_path) if info_path is not None else {}
    fmt = info.get("Format", "lhagrid1")
    if fmt != "lhagrid1":
        raise ValueError(f"Expected Format: lhagrid1 in {info_path}; got {fmt!r}.")
    _, subgrids = read_lhagrid1(dat)
    set_name = Path(name).name if Path(name).is_dir() else name
    pdf = PDF(subgrids, info, name=set_name, member=member, extrapolation=extrapolation)
    return pdf.to(device) if device is not None else pdf
