"""Check the Drell-Yan cross section against MG5aMC's value quoted by MadNIS (4349.7 ± 0.32 pb).

Run ``python -m nisflow.physics.check_drell_yan`` (CPU, a few minutes). It integrates
:class:`~nisflow.physics.processes.DrellYan` (γ + Z, NNPDF4.0 LO, μ_F = M_Z, four light flavours,
m_ee > 15 GeV, 13 TeV) with VEGAS (the ``vegas`` package) and prints our number next to MG5aMC's,
with the pull in units of the combined error. The exit status is 0 when the two agree within
``--sigmas`` (default 2) combined standard deviations.

The PDF set is looked up as :func:`~nisflow.physics.pdf.load_pdf` does; pass ``--pdf-path`` to add
a folder (e.g. ``../shared/data/pdfsets``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

from .processes import DrellYan

__all__ = ["MG5_SIGMA_PB", "MG5_ERROR_PB", "integrate_drell_yan", "main"]

MG5_SIGMA_PB = 4349.7
MG5_ERROR_PB = 0.32


def integrate_drell_yan(
    process: DrellYan,
    *,
    n_eval: int = 2_000_000,
    n_itn: int = 10,
    n_warmup_itn: int = 6,
    seed: int = 1,
    verbose: bool = True,
) -> tuple[float, float, float]:
    """Integrate ``process`` with VEGAS; return ``(sigma_pb, error_pb, chi2_per_dof)``.

    Warm-up iterations adapt the grid and are discarded; the result combines the ``n_itn``
    following iterations of ``n_eval`` evaluations each.
    """
    import vegas

    rng = np.random.default_rng(seed)

    @vegas.lbatchintegrand
    def f(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return process(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    integ = vegas.Integrator([[0.0, 1.0]] * process.d, ran_array_generator=rng.random)
    integ(f, nitn=n_warmup_itn, neval=n_eval // 4)
    result = integ(f, nitn=n_itn, neval=n_eval)
    if verbose:
        print(result.summary())
    return float(result.mean), float(result.sdev), float(result.chi2 / max(result.dof, 1))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: integrate, print the comparison, return 0 on agreement."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neval", type=int, default=2_000_000, help="evaluations per iteration")
    ap.add_argument("--nitn", type=int, default=10, help="iterations kept")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pdf-path", default=None, help="extra folder(s) searched for the PDF set")
    ap.add_argument(
        "--sigmas", type=float, default=2.0, help="agreement threshold in combined sigma"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    process = DrellYan(pdf_path=args.pdf_path)
    sigma, err, chi2 = integrate_drell_yan(
        process, n_eval=args.neval, n_itn=args.nitn, seed=args.seed
    )
    elapsed = time.perf_counter() - t0
    combined = math.hypot(err, MG5_ERROR_PB)
    pull = (sigma - MG5_SIGMA_PB) / combined
    print("nisflow DrellYan (gamma+Z, NNPDF40_lo_as_01180, muF=MZ, 4 flavours, mll>15 GeV, 13 TeV)")
    print(f"  nisflow + VEGAS : {sigma:.2f} +- {err:.2f} pb   (chi2/dof {chi2:.2f})")
    print(f"  MG5aMC (MadNIS) : {MG5_SIGMA_PB:.2f} +- {MG5_ERROR_PB:.2f} pb")
    print(f"  pull            : {pull:+.2f} sigma (combined error {combined:.2f} pb)")
    print(f"  time            : {elapsed:.1f} s on {torch.get_num_threads()} CPU thread(s)")
    return 0 if abs(pull) <= args.sigmas else 1


if __name__ == "__main__":
    sys.exit(main())
