"""Integrand wrapping: torch/numpy callables, output checks, non-finite values, domains."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from nisflow.integrand import Integrand, check_domain


def test_torch_and_numpy_callables_agree():
    u = torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch_f = Integrand(lambda x: (x**2).sum(-1), 3)
    numpy_f = Integrand(lambda x: np.sum(np.asarray(x) ** 2, axis=1), 3)
    strict_numpy = Integrand(lambda x: x.dot(np.ones(3)) + np.exp(np.asarray(x)[:, 0]), 3)
    assert torch.allclose(torch_f(u), numpy_f(u))
    expected = torch.exp(u[:, 0]) + u.sum(-1)
    assert torch.allclose(strict_numpy(u), expected)
    assert strict_numpy.backend == "numpy"  # x.dot(ndarray) fails on a tensor: switched
    assert torch_f(u).dtype == torch.float64 and torch_f.n_evals == 100


def test_column_output_int_output_and_chunks():
    calls = []

    def f(x):
        calls.append(x.shape[0])
        return torch.ones(x.shape[0], 1, dtype=torch.int64)

    g = Integrand(f, 2, chunk_size=7)
    out = g(torch.rand(20, 2))
    assert out.shape == (20,) and out.dtype == torch.float64 and bool((out == 1).all())
    assert calls == [7, 7, 6]


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (lambda x: torch.ones(x.shape[0], 2), ValueError, r"shape \(5,\) or \(5, 1\)"),
        (lambda x: torch.ones(x.shape[0] + 1), ValueError, r"got \(6,\)"),
        (lambda x: torch.ones(x.shape[0], dtype=torch.complex64), TypeError, "real numbers"),
        (lambda x: np.array(["a"] * x.shape[0]), TypeError, "real numbers"),
        (lambda x: [1.0] * x.shape[0], TypeError, "torch.Tensor or numpy array"),
    ],
)
def test_bad_output_raises(bad, error, match):
    with pytest.raises(error, match=match):
        Integrand(bad, 2)(torch.rand(5, 2))


def _with_nan(x):
    out = x.sum(-1).clone()
    out[x[:, 0] < 0.3] = float("nan")
    out[x[:, 0] > 0.9] = float("inf")
    return out


def test_nonfinite_raises_with_count_and_point():
    x = torch.tensor([[0.1, 0.5], [0.5, 0.5], [0.95, 0.2], [0.2, 0.1]], dtype=torch.float64)
    with pytest.raises(ValueError) as info:
        Integrand(_with_nan, 2)(x)
    msg = str(info.value)
    assert "Expected finite integrand values" in msg
    assert "3 of 4 non-finite (2 NaN, 1 inf)" in msg
    assert "[0.1, 0.5]" in msg  # one offending point, in the user's coordinates


def test_nonfinite_zero_warns_and_zeroes():
    x = torch.tensor([[0.1, 0.5], [0.5, 0.5], [0.95, 0.2]], dtype=torch.float64)
    g = Integrand(_with_nan, 2, nonfinite="zero")
    with pytest.warns(RuntimeWarning, match="2 of 3 non-finite"):
        out = g(x)
    assert out.tolist() == [0.0, 1.0, 0.0]
    assert g.n_nonfinite == 2


def test_domain_jacobian_and_mapping():
    # ∫_{-1}^{2} ∫_{0}^{0.5} x y dx dy = [x²/2]_{-1}^{2} [y²/2]_0^{0.5} = 1.5 * 0.125
    seen = []

    def f(x):
        seen.append(x.clone())
        return x[:, 0] * x[:, 1]

    g = Integrand(f, 2, domain=[(-1, 2), (0, 0.5)])
    u = torch.rand(200_000, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    values = g(u)
    assert float(values.mean()) == pytest.approx(1.5 * 0.125, abs=5 * float(values.std()) / 447)
    x = seen[0]
    assert float(x[:, 0].min()) >= -1 and float(x[:, 0].max()) <= 2
    assert float(x[:, 1].max()) <= 0.5
    assert torch.allclose(g.from_domain(g.to_domain(u)), u)
    assert g.volume == pytest.approx(1.5) and g.log_volume == pytest.approx(math.log(1.5))


@pytest.mark.parametrize(
    "domain, match",
    [
        ([(0, 1)], "2 pairs"),
        ([(0, 1), (1, 0)], r"a < b in domain\[1\]"),
        ([(0, 1), (0, float("inf"))], "finite limits"),
        ([(0, 1), (0, 1, 2)], "2 pairs"),
        ("ab", "pairs"),
    ],
)
def test_bad_domain(domain, match):
    with pytest.raises(ValueError, match=match):
        check_domain(domain, 2)


def test_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        Integrand(3, 2)
    with pytest.raises(ValueError, match="nonfinite"):
        Integrand(lambda x: x, 2, nonfinite="ignore")
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        Integrand(lambda x: x.sum(-1), 2)(torch.rand(4, 3))


def test_errors_inside_f_propagate():
    def f(x):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        Integrand(f, 2)(torch.rand(3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Integrand(lambda x: x.sum(-1), 2)(torch.rand(3, 2))
