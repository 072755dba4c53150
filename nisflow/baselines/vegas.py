"""VEGAS (the ``vegas`` package, default adaptive stratified sampling "VEGAS+") as a baseline.

The integrand is a torch function; VEGAS adapts its map on the CPU in numpy as it always does and
calls the integrand on batches. Randomness comes from a seeded ``numpy.random.Generator`` passed
as vegas's ``ran_array_generator``; the state of gvar's global generator (used by vegas when it
builds an integrator) is saved and restored, so nothing global changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor

from nisflow.baselines.record import Budget, RunRecord
from nisflow.baselines.uniform import evaluate_integrand, synchronize
from nisflow.checks import check_dimension

__all__ = ["run_vegas"]


@contextmanager
def _gvar_rng_preserved() -> Iterator[None]:
    """Restore the state of gvar's global numpy generator on exit."""
    import gvar

    state = gvar.RNG.bit_generator.state
    try:
        yield
    finally:
        gvar.RNG.bit_generator.state = state


class _CountingIntegrand:
    """numpy batch integrand for vegas wrapping a torch ``f``; counts evaluations."""

    fcntype = "lbatch"  # vegas's marker for a batch integrand with the batch index on the left

    def __init__(self, f: Callable[[Tensor], Tensor], device: torch.device) -> None:
        self.f = f
        self.device = device
        self.n_evals = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(np.asarray(x), dtype=torch.float64).to(self.device)
        self.n_evals += xt.shape[0]
        return evaluate_integrand(self.f, xt).cpu().numpy()


def run_vegas(
    f: Callable[[Tensor], Tensor],
    d: int,
    budget: Budget,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    n_keep_points: int = 0,
    **vegas_options: object,
) -> RunRecord:
    """Integrate ``f`` over [0,1]^d with ``vegas.Integrator`` (default settings, VEGAS+).

    Survey: ``n_iter_survey`` adapting iterations of ``n_survey // n_iter_survey`` evaluations.
    Refine: ``n_iter_refine`` iterations with the map frozen (``adapt=False``); the estimate is
    vegas's weighted average of those iterations. Weights for the unweighting efficiency come
    from one pass of ``random_batch`` over the trained map and stratification with
    ``neval = n_unweight``.

    Args:
        f: integrand, ``f(x: Tensor[n, d]) -> Tensor[n]``, called with float64 points.
        d: dimension.
        budget: evaluation budget (see :class:`Budget`).
        seed: seed of the numpy generator that supplies every random number.
        device: where ``f`` is evaluated (the VEGAS map itself always lives on the CPU).
        n_keep_points: how many sampled points (a random subset) to keep in ``record.points``.
        **vegas_options: extra keyword arguments for ``vegas.Integrator`` (e.g. ``beta=0``).

    Returns:
        A :class:`RunRecord`; ``n_evals_*`` count the integrand evaluations vegas really made.
    """
    import vegas

    d = check_dimension(d)
    device = torch.device(device)
    rng = np.random.default_rng(int(seed))
    counting = _CountingIntegrand(f, device)
    fv = counting

    with _gvar_rng_preserved():
        integ = vegas.Integrator(d * [[0.0, 1.0]], ran_array_generator=rng.random, **vegas_options)

    # survey: one adapting iteration at a time, to record the history
    history: list[tuple[int, float]] = []
    n_iter_s = budget.n_iter_survey
    neval_s = budget.n_survey // n_iter_s
    synchronize(device)
    t0 = time.perf_counter()
    if neval_s > 0:
        for _ in range(n_iter_s):
            before = counting.n_evals
            r = integ(fv, nitn=1, neval=neval_s)
            n_it = counting.n_evals - before
            history.append((counting.n_evals, _rel_var_per_point(r.mean, r.sdev, n_it)))
    synchronize(device)
    t1 = time.perf_counter()
    n_survey = counting.n_evals

    neval_r = budget.n_refine // budget.n_iter_refine
    result = integ(fv, nitn=budget.n_iter_refine, neval=neval_r, adapt=False)
    synchronize(device)
    t2 = time.perf_counter()
    n_refine = counting.n_evals - n_survey

    weights, points = _sample_weights(integ, counting, budget.n_unweight, rng, n_keep_points)
    synchronize(device)
    t3 = time.perf_counter()

    chi2_dof = float(result.chi2 / result.dof) if result.dof > 0 else math.nan
    return RunRecord(
        method="vegas",
        estimate=float(result.mean),
        error=float(result.sdev),
        n_evals_survey=n_survey,
        n_evals_refine=n_refine,
        survey_s=t1 - t0,
        refine_s=t2 - t1,
        weights=weights,
        sample_s=t3 - t2,
        chi2_dof=chi2_dof,
        history=history,
        points=points,
    )


def _rel_var_per_point(mean: float, sdev: float, n: int) -> float:
    """``n * (sdev/mean)^2``, nan if the mean is zero."""
    return n * (sdev / mean) ** 2 if mean != 0 else math.nan


def _sample_weights(
    integ: object,
    counting: _CountingIntegrand,
    n: int,
    rng: np.random.Generator,
    n_keep: int,
) -> tuple[Tensor, Tensor | None]:
    """One pass of ``random_batch`` with ``neval = n``: weights ``wgt * f`` and kept points."""
    if n <= 0:
        return torch.zeros(0, dtype=torch.float64), None
    integ.set(neval=n)
    ws, xs = [], []
    for x, wgt in integ.random_batch(yield_hcube=False):
        fx = counting(x)
        ws.append(np.asarray(wgt) * fx)
        if n_keep > 0:
            xs.append(np.array(x, copy=True))
    w = torch.as_tensor(np.concatenate(ws), dtype=torch.float64)
    points = None
    if n_keep > 0:
        allx = np.concatenate(xs)
        idx = rng.choice(allx.shape[0], size=min(n_keep, allx.shape[0]), replace=False)
        points = torch.as_tensor(allx[idx])
    return w, points
