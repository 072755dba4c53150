"""The Integrator: the seed's API, reproducibility, bad input, Ctrl-C, save/load, sampling."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from nisflow import FlowConfig, IntegrationResult, Integrator, TrainingConfig
from nisflow.flows.coupling_flow import CouplingFlow
from tests.flows.cases import perturb_
from tests.toy_flows import linear_density_flow

SMALL = FlowConfig(hidden=16, layers=1, n_bins=6)
FAST = dict(
    flow=SMALL,
    n_iter_survey=3,
    n_iter_refine=3,
    n_points_survey=2000,
    n_points_refine=2000,
    verbose=False,
    training=TrainingConfig(batch_size=1000, n_epochs=2, lr=5e-3),
)


def quadratic(x):
    """The seed's example: x0² + x1², integral 2/3 over [0, 1]²."""
    return x[:, 0] ** 2 + x[:, 1] ** 2


def gauss(x):
    return torch.exp(-((x - 0.5) ** 2).sum(-1) / 0.2**2)


GAUSS_EXACT = (0.2 * math.sqrt(math.pi) * math.erf(0.5 / 0.2)) ** 2


def _pull(result, exact):
    return (result.mean - exact) / result.sdev


def test_seed_api_verbatim(device):
    d, f = 2, quadratic
    integrator = Integrator(
        d=d,
        f=f,
        device=device,
        n_points_survey=2000,
        n_points_refine=2000,
        verbose=False,
        flow=SMALL,
    )
    result, uncertainty, history = integrator.integrate()
    assert abs(result - 2 / 3) < 5 * uncertainty
    assert sum(r.phase == "survey" for r in history) == 10
    # 5 refine iterations of 2000 points (in 2D the first opens with the flow/uniform pilot)
    assert sum(r.n_evals for r in integrator.history if r.phase == "refine") == 5 * 2000
    integrator = Integrator(
        d=d,
        f=f,
        n_iter_survey=3,
        n_iter_refine=5,
        n_points_survey=1000,
        n_points_refine=1000,
        verbose=False,
        flow=SMALL,
    )
    integral_data = integrator.integrate(n_survey=10, n_refine=10)
    assert isinstance(integral_data, IntegrationResult)
    assert len(integral_data.iterations) == 10
    assert sum(r.phase == "survey" for r in integral_data.history) == 10
    assert abs(_pull(integral_data, 2 / 3)) < 5
    assert integral_data.n_evals == 20 * 1000
    assert 0 <= integral_data.Q <= 1 and integral_data.chi2_dof >= 0


def test_default_flow_is_a_coupling_flow():
    integrator = Integrator(d=3, f=quadratic, verbose=False)
    assert isinstance(integrator.flow, CouplingFlow)
    assert integrator.flow.dtype == torch.float32
    assert integrator.training.survey_strategy == "adaptive"
    assert integrator.training.loss == "variance"


def test_same_seed_bit_identical_other_seed_different():
    results = [Integrator(2, gauss, seed=s, **FAST).integrate() for s in (3, 3, 4)]
    assert results[0].mean == results[1].mean and results[0].sdev == results[1].sdev
    assert [r.value for r in results[0].history] == [r.value for r in results[1].history]
    assert results[0].mean != results[2].mean


@pytest.mark.parametrize("strategy", ["flat", "forward", "adaptive", "online", "buffered"])
@pytest.mark.parametrize("loss", ["variance", "kl"])
def test_strategies_and_losses_integrate(strategy, loss):
    integrator = Integrator(2, gauss, seed=0, loss=loss, survey_strategy=strategy, **FAST)
    result = integrator.integrate()
    assert abs(_pull(result, GAUSS_EXACT)) < 5
    assert result.rel_error < 0.1


def test_training_reduces_the_variance():
    cfg = dict(
        FAST,
        n_iter_survey=8,
        training=TrainingConfig(batch_size=1000, lr=1e-2),
        stratified=False,  # compare the importance samplers alone
    )
    trained = Integrator(2, gauss, seed=1, **cfg)
    untrained = Integrator(2, gauss, seed=1, **cfg)
    r_trained = trained.integrate()
    r_untrained = untrained.refine()
    assert r_trained.sdev < 0.6 * r_untrained.sdev


def test_float32_flow_float64_estimates():
    integrator = Integrator(2, gauss, seed=2, dtype=torch.float32, **FAST)
    x, w, log_q = integrator.sample(100)
    assert x.dtype == torch.float32 and w.dtype == torch.float64 and log_q.dtype == torch.float64
    result = integrator.integrate()
    assert isinstance(result.mean, float)
    integrator64 = Integrator(2, gauss, seed=2, dtype=torch.float64, **FAST)
    assert integrator64.flow.dtype == torch.float64
    assert abs(_pull(integrator64.integrate(), GAUSS_EXACT)) < 5


def test_signed_integrand_with_zero_integral_is_honest():
    def f(x):
        return torch.cos(2 * math.pi * x[:, 0]) * (1 + x[:, 1])

    pulls = []
    for seed in range(6):
        result = Integrator(2, f, seed=seed, **FAST).integrate()
        assert result.sdev > 0 and math.isfinite(result.mean)
        pulls.append(result.mean / result.sdev)
    assert max(abs(p) for p in pulls) < 4


def test_signed_integrand_nonzero_integral():
    def f(x):
        return torch.cos(2 * math.pi * x[:, 0]) + 0.3

    result = Integrator(2, f, seed=0, **FAST).integrate()
    assert abs(_pull(result, 0.3)) < 5


def test_zero_integrand_returns_zero_promptly():
    calls = []

    def f(x):
        calls.append(x.shape[0])
        return torch.zeros(x.shape[0])

    integrator = Integrator(2, f, seed=0, **dict(FAST, n_iter_survey=50))
    with pytest.warns(RuntimeWarning, match="vanished on all"):
        result = integrator.integrate()
    assert (result.mean, result.sdev, result.chi2_dof, result.Q) == (0.0, 0.0, 0.0, 1.0)
    assert sum(r.phase == "survey" for r in result.history) == 1  # training skipped
    assert sum(calls) == 2000 + 3 * 2000
    assert str(result) == "0(0)"


def test_constant_integrand_exact_zero_error():
    result = Integrator(
        2,
        lambda x: torch.full((x.shape[0],), 2.5),
        flow=linear_density_flow(2),
        n_iter_survey=0,
        n_points_refine=100,
        verbose=False,
    ).refine()
    assert result.mean == pytest.approx(2.5) and result.sdev == 0.0


def test_keyboard_interrupt_keeps_the_model():
    class Interrupting:
        def __init__(self, k):
            self.calls, self.k = 0, k

        def __call__(self, x):
            self.calls += 1
            if self.calls == self.k:
                raise KeyboardInterrupt
            return gauss(x)

    f = Interrupting(4)
    integrator = Integrator(2, f, seed=5, **dict(FAST, n_iter_survey=10))
    initial = [p.detach().clone() for p in integrator.flow.parameters()]
    with pytest.warns(RuntimeWarning, match="interrupted after 3"):
        result = integrator.integrate()
    assert integrator.interrupted
    assert sum(r.phase == "survey" for r in result.history) == 3
    assert any(
        not torch.equal(a, b) for a, b in zip(initial, integrator.flow.parameters(), strict=True)
    )
    assert abs(_pull(result, GAUSS_EXACT)) < 5


def test_keyboard_interrupt_then_save_and_refine(tmp_path):
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return gauss(x)

    integrator = Integrator(2, f, seed=6, **FAST)
    with pytest.warns(RuntimeWarning):
        integrator.survey()
    integrator.save(tmp_path / "interrupted.pt")
    loaded = Integrator.load(tmp_path / "interrupted.pt", f=gauss, verbose=False)
    assert abs(_pull(loaded.refine(), GAUSS_EXACT)) < 5


def test_save_load_roundtrip(tmp_path):
    integrator = Integrator(2, gauss, seed=7, **FAST)
    integrator.integrate()
    path = tmp_path / "integrator.pt"
    integrator.save(path)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "nisflow.Integrator" and "generator" in raw
    loaded = Integrator.load(path, f=gauss, verbose=False)
    assert [r.value for r in loaded.history] == [r.value for r in integrator.history]
    assert loaded.n_evals == integrator.n_evals
    a = integrator.sample(50)
    b = loaded.sample(50)
    assert all(
        torch.equal(u, v) for u, v in zip(a, b, strict=True)
    )  # same generator state, same flow
    ra, rb = integrator.refine(2), loaded.refine(2)
    assert ra.mean == rb.mean and ra.sdev == rb.sdev


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Integrator.load(tmp_path / "missing.pt", f=gauss)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file at all")
    with pytest.raises(ValueError, match="could not read it"):
        Integrator.load(corrupt, f=gauss)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="written by Integrator.save"):
        Integrator.load(other, f=gauss)
    # a custom flow: needed at load, and it must match
    custom = tmp_path / "custom.pt"
    Integrator(
        2, gauss, flow=linear_density_flow(2), n_iter_survey=1, n_points_survey=100, verbose=False
    ).save(custom)
    with pytest.raises(ValueError, match="Expected flow="):
        Integrator.load(custom, f=gauss)
    with pytest.raises(ValueError, match="mismatch"):
        Integrator.load(custom, f=gauss, flow=CouplingFlow(2, hidden=4, layers=1))
    Integrator.load(custom, f=gauss, flow=linear_density_flow(2))
    # a truncated file
    good = tmp_path / "good.pt"
    Integrator(2, gauss, **FAST).save(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="could not read it"):
        Integrator.load(truncated, f=gauss)


def test_verbose_progress_bars(capsys):
    Integrator(2, gauss, seed=0, **FAST).integrate()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    Integrator(2, gauss, seed=0, **dict(FAST, verbose=True)).integrate()
    assert "survey" in capsys.readouterr().err


def test_domain_and_sample():
    def f(x):
        return x[:, 0] * x[:, 1]

    domain = [(-1.0, 2.0), (0.0, 0.5)]
    integrator = Integrator(2, f, domain=domain, seed=0, **FAST)
    result = integrator.integrate()
    assert abs(_pull(result, 1.5 * 0.125)) < 5
    x, w, log_q = integrator.sample(4000)
    assert float(x[:, 0].min()) >= -1 and float(x[:, 0].max()) <= 2
    assert float(x[:, 1].min()) >= 0 and float(x[:, 1].max()) <= 0.5
    u = integrator.integrand.from_domain(x)
    log_g = integrator.trainer.sampling_log_prob(u)  # the defensive mixture's density
    assert torch.allclose(log_q, log_g - math.log(1.5), atol=1e-5)
    assert torch.allclose(w, f(x.double()) / torch.exp(log_q), rtol=1e-4)
    assert abs(float(w.mean()) - 1.5 * 0.125) < 5 * float(w.std()) / math.sqrt(4000)


def test_unweighted_events_follow_f():
    # f(x) = (x0² + 0.1)(x1² + 0.1); events must follow f/I: χ² test of a 2D histogram
    def f(x):
        return ((x**2) + 0.1).prod(-1)

    integrator = Integrator(2, f, seed=3, **FAST)
    integrator.survey()
    events = integrator.unweight(8000, n_reference=10_000)
    assert events.x.shape == (8000, 2) and 0 < events.efficiency <= 1
    edges = np.linspace(0, 1, 7)
    counts, _, _ = np.histogram2d(events.x[:, 0].numpy(), events.x[:, 1].numpy(), [edges, edges])
    p1 = np.diff(edges**3 / 3 + 0.1 * edges)
    expected = np.outer(p1, p1).ravel()
    expected = expected / expected.sum() * counts.sum()
    assert stats.chisquare(counts.ravel(), expected).pvalue > 1e-3
    quantile = integrator.unweight(2000, max_weight=0.99, n_reference=10_000)
    assert quantile.overweight_fraction == pytest.approx(0.01, abs=0.005)
    assert quantile.efficiency > events.efficiency


def test_use_survey_combines_survey_iterations():
    integrator = Integrator(2, gauss, seed=0, use_survey=True, **FAST)
    result = integrator.integrate()
    assert len(result.iterations) == 3 + 3
    assert abs(_pull(result, GAUSS_EXACT)) < 5


def test_numpy_integrand():
    def f(x):
        return np.exp(-np.sum((np.asarray(x) - 0.5) ** 2, axis=1) / 0.2**2)

    result = Integrator(2, f, seed=0, **FAST).integrate()
    assert abs(_pull(result, GAUSS_EXACT)) < 5


def test_nonfinite_integrand():
    def f(x):
        out = gauss(x)
        out[x[:, 0] < 0.01] = float("nan")
        return out

    with pytest.raises(ValueError, match=r"non-finite \(\d+ NaN, 0 inf\), at point"):
        Integrator(2, f, seed=0, **FAST).integrate()
    integrator = Integrator(2, f, seed=0, nonfinite="zero", **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        integrator.integrate()
    assert any("treating them as zero" in str(w.message) for w in caught)
    assert integrator.integrand.n_nonfinite > 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(d=0), ValueError, "d to be a positive integer"),
        (dict(n_iter_survey=-1), ValueError, "n_iter_survey"),
        (dict(n_points_refine=1), ValueError, "n_points_refine"),
        (dict(loss="l2"), ValueError, "loss name"),
        (dict(survey_strategy="backward"), ValueError, "survey strategy"),
        (dict(flow=3), TypeError, "transform name, a FlowConfig or a nisflow Flow"),
        (dict(flow="spline9"), ValueError, "spline9"),
        (dict(flow=linear_density_flow(3)), ValueError, "dimension 2"),
        (dict(seed=1.5), ValueError, "seed"),
        (dict(dtype=torch.float16), ValueError, "dtype"),
        (dict(domain=[(0, 1)]), ValueError, "2 pairs"),
        (dict(f=5), TypeError, "callable"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(d=2, f=gauss, verbose=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Integrator(**args)


def test_bad_output_shape_is_reported():
    with pytest.raises(ValueError, match=r"shape \(2000,\) or \(2000, 1\)"):
        Integrator(2, lambda x: x, seed=0, **FAST).integrate()


@pytest.mark.slow
def test_seed_api_verbatim_default_budget(device):
    d, f = 2, quadratic
    integrator = Integrator(d=d, f=f, device=device, verbose=False)
    result, uncertainty, history = integrator.integrate()
    assert abs(result - 2 / 3) < 5 * uncertainty
    assert uncertainty / result < 1e-3


@pytest.mark.parametrize("d", [2, 8, 9, 16])
def test_default_flow_uses_the_auto_masks(d):
    """FlowConfig's default ``mask="auto"``: two checkerboard cells up to 8D, i-flow above."""
    from nisflow.flows.masks import make_masks

    flow = FlowConfig().build(d, generator=torch.Generator().manual_seed(0))
    expected = make_masks(d, None, "auto")
    assert len(flow.cells) == (2 if d <= 8 else 2 * math.ceil(math.log2(d)))
    assert all(torch.equal(c.mask, m) for c, m in zip(flow.cells, expected, strict=True))


def test_default_iflow_flow_saves_and_loads(tmp_path):
    """A 9D default flow (eight i-flow cells, ``mask="auto"``) comes back with the same masks."""
    integrator = Integrator(
        9, gauss, seed=3, flow=FlowConfig(hidden=8, layers=1, n_bins=4), verbose=False
    )
    perturb_(integrator.flow, 0.5, torch.Generator().manual_seed(1))  # not the identity
    path = tmp_path / "iflow.pt"
    integrator.save(path)
    loaded = Integrator.load(path, f=gauss, verbose=False)
    masks = [c.mask.tolist() for c in integrator.flow.cells]
    assert len(masks) == 8 and [c.mask.tolist() for c in loaded.flow.cells] == masks
    x = torch.rand(64, 9, generator=torch.Generator().manual_seed(0))
    log_q = integrator.flow.log_prob(x)
    assert log_q.abs().max() > 0.1 and torch.equal(loaded.flow.log_prob(x), log_q)


@pytest.mark.parametrize(("d", "expected_steps"), [(4, 20), (16, 10)])
def test_default_batch_size_follows_the_flow_cells(d, expected_steps):
    """``batch_size="auto"``: 2,000 points per step with two cells, 4,000 with eight (d = 16).

    One survey iteration of 8,000 points and five epochs takes 5 × 8000 / batch steps.
    """
    integrator = Integrator(
        d,
        gauss,
        seed=0,
        flow=FlowConfig(hidden=8, layers=1, n_bins=4),
        training=TrainingConfig(n_epochs=5),
        n_iter_survey=1,
        n_points_survey=8_000,
        verbose=False,
    )
    assert integrator.training.batch_size == "auto"
    assert integrator.trainer.batch_size == 40_000 // expected_steps
    integrator.survey()
    assert integrator.trainer.n_steps == expected_steps


@pytest.mark.parametrize("bad", ["big", 0, -5, 2.5, True])
def test_training_config_rejects_a_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size a positive integer, None or 'auto'"):
        TrainingConfig(batch_size=bad)


def test_auto_batch_size_is_saved_as_auto_and_an_explicit_one_as_given(tmp_path):
    for batch, expected in (("auto", 4_000), (3_000, 3_000)):
        integrator = Integrator(
            16,
            gauss,
            seed=1,
            flow=FlowConfig(hidden=4, layers=1, n_bins=4),
            training=TrainingConfig(batch_size=batch),
            verbose=False,
        )
        integrator.save(tmp_path / "b.pt")
        loaded = Integrator.load(tmp_path / "b.pt", f=gauss, verbose=False)
        assert loaded.training.batch_size == batch
        assert loaded.trainer.batch_size == integrator.trainer.batch_size == expected


@pytest.mark.parametrize(
    ("config", "d", "expected"),
    [
        (FlowConfig(), 1, 16),
        (FlowConfig(), 2, 16),
        (FlowConfig(), 3, 8),
        (FlowConfig(), 8, 8),
        (FlowConfig(transform="pwlinear"), 2, 8),
        (FlowConfig(n_bins=None), 2, 8),
        (FlowConfig(n_bins=12), 2, 12),
        (FlowConfig(n_bins=12), 5, 12),
    ],
)
def test_auto_bins_are_16_for_the_rq_spline_up_to_2d(config, d, expected):
    """``n_bins="auto"`` (FlowConfig's default): 16 RQ-spline bins in 1D and 2D, else the
    transform's default (8); ``None`` and integers as given."""
    flow = config.build(d, generator=torch.Generator().manual_seed(0))
    assert {c.transform.n_bins for c in flow.cells} == {expected}


@pytest.mark.parametrize("bad", ["many", 0, -1, 2.5, True])
def test_flow_config_rejects_bad_bins(bad):
    with pytest.raises(ValueError, match="n_bins a positive integer, None or 'auto'"):
        FlowConfig(n_bins=bad)


def test_auto_bins_are_saved_as_auto_and_old_files_keep_their_bins(tmp_path):
    """A default 2D integrator saves ``"auto"`` and loads its 16 bins; one saved with
    ``n_bins=None`` (every file written before ``"auto"``) loads its 8 bins and the same log q."""
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(0))
    for n_bins, expected in (("auto", 16), (None, 8)):
        integrator = Integrator(
            2, gauss, seed=2, flow=FlowConfig(n_bins=n_bins, hidden=8, layers=1), verbose=False
        )
        perturb_(integrator.flow, 0.5, torch.Generator().manual_seed(1))
        integrator.save(tmp_path / "bins.pt")
        loaded = Integrator.load(tmp_path / "bins.pt", f=gauss, verbose=False)
        assert loaded.flow_config.n_bins == n_bins
        assert {c.transform.n_bins for c in loaded.flow.cells} == {expected}
        assert torch.equal(loaded.flow.log_prob(x), integrator.flow.log_prob(x))
