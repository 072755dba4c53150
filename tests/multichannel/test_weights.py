"""Channel weights: non-negative, summing to one, zero off a channel's support, CWnet at prior."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.mappings import BreitWigner, Rectangle
from nisflow.multichannel import (
    Channel,
    ChannelWeightNet,
    FunctionPrior,
    SherpaPrior,
    UniformWeights,
    masked_softmax,
)


def _channels():
    return [
        Channel(mapping=BreitWigner(2.0, math.sqrt(2) * 0.5)),
        Channel(mapping=BreitWigner(5.0, math.sqrt(2) * 0.1)),
        Channel(mapping=Rectangle([0.0], [3.0])),  # support [0, 3] only
    ]


def _points_and_log_g(n: int = 500):
    g = torch.Generator().manual_seed(0)
    x = torch.cat(
        [torch.linspace(-20, 20, n)[:, None].double(), 10 * torch.randn(n, 1, generator=g).double()]
    )
    log_g = torch.stack([ch.mapping_log_prob(x) for ch in _channels()], -1)
    return x, log_g


def _modules():
    g = torch.Generator().manual_seed(1)
    net = ChannelWeightNet(3, 1, prior=SherpaPrior(3), generator=g)
    with torch.no_grad():  # move the net away from the prior
        last = net.net[-1]
        last.weight.copy_(3.0 * torch.randn(last.weight.shape, generator=g))
        last.bias.copy_(3.0 * torch.randn(last.bias.shape, generator=g))
    mg = FunctionPrior(
        3, [lambda x, c=c: torch.exp(-((x[:, 0] - c) ** 2)) for c in (2.0, 5.0, 1.0)]
    )
    return {
        "uniform": UniformWeights(3),
        "sherpa": SherpaPrior(3),
        "sherpa_global": SherpaPrior(3, [0.2, 0.5, 0.3]),
        "mg_like": mg,
        "cwnet_perturbed": net,
    }


@pytest.mark.parametrize("name", list(_modules()))
def test_weights_are_a_partition_of_unity(name):
    x, log_g = _points_and_log_g()
    alpha = _modules()[name](x, log_g)
    assert alpha.shape == (x.shape[0], 3)
    assert bool(torch.isfinite(alpha).all())
    assert bool((alpha >= 0).all())
    torch.testing.assert_close(
        alpha.sum(-1), torch.ones(x.shape[0], dtype=torch.float64), rtol=0, atol=1e-12
    )
    # a channel that cannot reach x never gets weight there
    outside = ~torch.isfinite(log_g[:, 2])
    assert bool(outside.any())
    assert bool((alpha[outside, 2] == 0).all())


def test_sherpa_prior_is_eq7():
    x, log_g = _points_and_log_g()
    a = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    alpha = SherpaPrior(3, a.tolist())(x, log_g)
    g = torch.exp(log_g)
    expected = a * g / (a * g).sum(-1, keepdim=True)
    torch.testing.assert_close(alpha, expected, rtol=1e-10, atol=1e-14)


def test_cwnet_starts_exactly_at_the_prior():
    x, log_g = _points_and_log_g()
    for prior in (SherpaPrior(3), UniformWeights(3), SherpaPrior(3, [1.0, 2.0, 3.0])):
        net = ChannelWeightNet(3, 1, prior=prior, generator=torch.Generator().manual_seed(3))
        net.fit_inputs(x)
        torch.testing.assert_close(net(x, log_g), prior(x, log_g), rtol=0, atol=1e-15)
        # and it is trainable: the gradient reaches the last layer
        net(x, log_g)[:, 0].sum().backward()
        assert net.net[-1].weight.grad is not None and bool(net.net[-1].weight.grad.abs().sum() > 0)


def test_cwnet_features_are_used():
    x, log_g = _points_and_log_g()
    net = ChannelWeightNet(
        3, 1, features=lambda x: x**2, n_features=1, generator=torch.Generator().manual_seed(0)
    )
    assert net.inputs(x).shape == (x.shape[0], 2)
    with pytest.raises(ValueError, match="Expected features of shape"):
        ChannelWeightNet(3, 1, features=lambda x: torch.cat([x, x, x], -1), n_features=1).inputs(x)


def test_mg_prior_zero_everywhere_falls_back_to_uniform():
    x, log_g = _points_and_log_g(10)
    prior = FunctionPrior(3, lambda x: torch.zeros(x.shape[0], 3))
    alpha = prior(x, log_g)
    support = torch.isfinite(log_g)
    torch.testing.assert_close(alpha, support.double() / support.sum(-1, keepdim=True).double())


def test_bad_prior_values_are_reported():
    x, log_g = _points_and_log_g(10)
    with pytest.raises(ValueError, match="Expected non-negative finite prior values"):
        FunctionPrior(3, lambda x: -torch.ones(x.shape[0], 3))(x, log_g)


def test_point_outside_every_channel_is_an_error():
    log_g = torch.full((2, 2), -math.inf, dtype=torch.float64)
    log_g[0, 0] = 0.0
    with pytest.raises(ValueError, match="Expected every point inside the support of at least one"):
        UniformWeights(2)(torch.zeros(2, 1, dtype=torch.float64), log_g)


def test_masked_softmax_gradient_is_finite():
    logits = torch.tensor([[0.0, -math.inf, 1.0], [-math.inf, -math.inf, 2.0]], requires_grad=True)
    support = torch.tensor([[True, True, False], [True, True, True]])
    out = masked_softmax(logits, support)
    out[:, 0].sum().backward()
    assert bool(torch.isfinite(logits.grad).all())
    torch.testing.assert_close(out.sum(-1), torch.ones(2))
