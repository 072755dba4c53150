"""The Trainer: sampling with exact densities, training on external batches, NIS gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.flows import Flow, UniformPrior
from nisflow.losses import variance_loss
from nisflow.training import ForwardSurvey, Trainer
from tests.toy_flows import linear_density_flow

TARGET = 0.8  # f(x) = 1 + 0.8 (x - 1/2): the optimal model is theta = 0.8


def f_lin(x: torch.Tensor) -> torch.Tensor:
    return (1 + TARGET * (x[:, 0].to(torch.float64) - 0.5)) * 2.5


def test_sample_returns_exact_log_density_without_grad():
    flow = linear_density_flow(2, theta=0.5)
    trainer = Trainer(flow)
    x, log_q = trainer.sample(1000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (1000, 2) and log_q.shape == (1000,) and log_q.dtype == torch.float64
    assert not log_q.requires_grad and not x.requires_grad
    expected = torch.log1p(0.5 * (x - 0.5)).sum(-1)
    assert torch.allclose(log_q, expected, atol=1e-12)
    assert torch.allclose(trainer.log_prob(x), expected, atol=1e-12)


def test_same_generator_same_samples():
    trainer = Trainer(linear_density_flow(3, theta=0.3))
    a = trainer.sample(100, generator=torch.Generator().manual_seed(5))
    b = trainer.sample(100, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_train_on_external_batch_reaches_the_optimum():
    # points "read from a file": uniform, with their density and integrand values
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(20_000, 1, generator=gen, dtype=torch.float64)
    log_q = torch.zeros(20_000, dtype=torch.float64)
    f = f_lin(x)
    flow = linear_density_flow(1)
    trainer = Trainer(flow, "variance", lr=0.05)
    losses = trainer.train_on_batch(x, log_q, f, n_epochs=60, batch_size=5000, generator=gen)
    assert len(losses) == 60 * 4 and trainer.n_steps == 240
    theta = float(flow.bijections[0].theta.detach())
    assert theta == pytest.approx(TARGET, abs=0.05)
    assert np.mean(losses[-8:]) < 0.1 * np.mean(losses[:4])


def test_float32_flow_trains_on_float64_points():
    flow = linear_density_flow(1, dtype=torch.float32)
    trainer = Trainer(flow, "kl", lr=0.05)
    x = torch.rand(1000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    losses = trainer.train_on_batch(x, torch.zeros(1000, dtype=torch.float64), f_lin(x), n_epochs=3)
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)


def test_zero_batch_is_skipped_and_nan_steps_leave_the_model():
    flow = linear_density_flow(1, theta=0.2)
    before = [p.detach().clone() for p in flow.parameters()]
    trainer = Trainer(flow)
    x = torch.rand(100, 1, dtype=torch.float64)
    assert trainer.train_on_batch(x, torch.zeros(100), torch.zeros(100), n_epochs=3) == []

    def nan_loss(f, log_g, log_q):
        return (log_g * float("nan")).mean()

    trainer = Trainer(flow, nan_loss)
    losses = trainer.train_on_batch(x, torch.zeros(100), f_lin(x), n_epochs=2)
    assert len(losses) == 2 and all(math.isnan(v) for v in losses)
    assert all(torch.equal(a, b) for a, b in zip(before, flow.parameters(), strict=True))


def test_flat_flow_without_parameters_is_sampled_not_trained():
    trainer = Trainer(Flow(UniformPrior(2), []))
    x, log_q = trainer.sample(10, generator=torch.Generator().manual_seed(0))
    assert bool((log_q == 0).all())
    assert trainer.train_on_batch(x, log_q, torch.ones(10)) == []


def test_bad_arguments():
    with pytest.raises(TypeError, match="nisflow Flow"):
        Trainer(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="learning rate"):
        Trainer(linear_density_flow(1), lr=0)
    trainer = Trainer(linear_density_flow(2))
    with pytest.raises(ValueError, match=r"x of shape \(n, 2\)"):
        trainer.train_on_batch(torch.rand(5, 3), torch.zeros(5), torch.ones(5))
    with pytest.raises(ValueError, match="log_q, f of shape"):
        trainer.train_on_batch(torch.rand(5, 2), torch.zeros(4), torch.ones(5))
    with pytest.raises(ValueError, match="n_epochs"):
        trainer.train_on_batch(torch.rand(5, 2), torch.zeros(5), torch.ones(5), n_epochs=-1)


# -- ZüNIS eq. 10: "forward" with one epoch is the original NIS gradient ---------------------

F_NODES, F_WEIGHTS = np.polynomial.legendre.leggauss(200)


def _variance_exact(theta: float) -> float:
    """σ²(θ) = ∫ f²/g − I² for f = exp(2x), g = 1 + θ(x − 1/2)."""
    x = (F_NODES + 1) / 2
    f = np.exp(2 * x)
    return (
        float(np.sum(F_WEIGHTS / 2 * f * f / (1 + theta * (x - 0.5)))) - ((math.e**2 - 1) / 2) ** 2
    )


def test_forward_one_epoch_is_the_nis_gradient():
    eta = 1e-3
    theta0 = 0.4
    grads_nis = []
    for seed in range(30):
        flow = linear_density_flow(1, theta=theta0)
        cell = flow.bijections[0]
        trainer = Trainer(flow, "variance", optimizer=torch.optim.SGD(flow.parameters(), lr=eta))
        gen = torch.Generator().manual_seed(seed)
        raw0 = float(cell.raw.detach())
        # what the forward strategy samples with this generator state
        x, _ = trainer.sample(4000, generator=torch.Generator().manual_seed(seed))
        fx = torch.exp(2 * x[:, 0])
        step = ForwardSurvey().step(
            trainer, lambda u: torch.exp(2 * u[:, 0]), 4000, n_epochs=1, generator=gen
        )
        assert len(step.losses) == 1 and step.n_evals == 4000
        grad_raw = (raw0 - float(cell.raw.detach())) / eta
        # NIS (eq. 10): ∇σ² = −E_{x~g}[f²/g² ∇ log g], estimated on the same points
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        log_g = torch.log1p(theta * (x[:, 0] - 0.5))
        g = torch.exp(log_g.detach())
        nis = -(fx**2 / g**2 * log_g).mean()
        (grad_theta,) = torch.autograd.grad(nis, theta)
        i_hat = float((fx / g).mean())
        dtheta_draw = 1.9 * (1 - math.tanh(raw0) ** 2)
        # our loss is normalised by Î² (detached): same direction, scale 1/Î²
        assert grad_raw * i_hat**2 == pytest.approx(float(grad_theta) * dtheta_draw, rel=1e-8)
        grads_nis.append(float(grad_theta))
    # and the NIS gradient estimates the gradient of the exact variance
    h = 1e-5
    fd = (_variance_exact(theta0 + h) - _variance_exact(theta0 - h)) / (2 * h)
    mean, sem = np.mean(grads_nis), np.std(grads_nis, ddof=1) / math.sqrt(len(grads_nis))
    assert abs(mean - fd) < 5 * sem and abs(fd) > 5 * sem


def test_loss_value_compares_models():
    x = torch.rand(5000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    f, log_q = f_lin(x), torch.zeros(5000, dtype=torch.float64)
    good = Trainer(linear_density_flow(1, theta=TARGET)).loss_value(x, log_q, f)
    flat = Trainer(linear_density_flow(1, theta=0.0)).loss_value(x, log_q, f)
    assert abs(good) < 0.05 * flat and flat == pytest.approx(TARGET**2 / 12, rel=0.1)
    assert flat == pytest.approx(float(variance_loss(f, log_q, log_q)), rel=1e-12)


@pytest.mark.parametrize(
    ("d", "mask", "expected"),
    [
        (2, "auto", 2000),
        (8, "auto", 2000),
        (8, "iflow", 3000),
        (16, "auto", 4000),
        (32, "auto", 5000),
    ],
)
def test_auto_batch_size_takes_500_points_per_cell_beyond_four_cells(d, mask, expected):
    from nisflow.flows import CouplingFlow
    from nisflow.training import auto_batch_size

    flow = CouplingFlow(d, "rq_spline", mask=mask, hidden=4, layers=1)
    assert auto_batch_size(flow) == max(2000, 500 * flow.n_cells) == expected


def test_auto_batch_size_of_a_flow_without_coupling_cells_is_the_minimum():
    from nisflow.training import auto_batch_size

    assert auto_batch_size(linear_density_flow(3, theta=0.3)) == 2000
