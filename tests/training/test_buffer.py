"""SampleBatch and SampleBuffer."""

from __future__ import annotations

import pytest
import torch

from nisflow.training import SampleBatch, SampleBuffer


def _batch(start: int, n: int) -> SampleBatch:
    idx = torch.arange(start, start + n, dtype=torch.float64)
    return SampleBatch(idx[:, None].repeat(1, 2) / 100, -idx / 100, idx)


def test_batch_weights_and_cat():
    b = _batch(0, 4)
    assert torch.allclose(b.weights, b.f * torch.exp(b.log_q.neg()))
    c = SampleBatch.cat([b, _batch(4, 3)])
    assert len(c) == 7 and c.f.tolist() == list(range(7))
    with pytest.raises(ValueError, match="Expected x of shape"):
        SampleBatch(torch.zeros(3, 2), torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="at least one batch"):
        SampleBatch.cat([])


def test_buffer_keeps_the_newest_points():
    buf = SampleBuffer(10)
    buf.add(_batch(0, 6))
    buf.add(_batch(6, 6))
    assert len(buf) == 10
    assert buf.batch().f.tolist() == list(range(2, 12))
    buf.add(_batch(12, 25))
    assert buf.batch().f.tolist() == list(range(27, 37))
    buf.clear()
    assert len(buf) == 0
    with pytest.raises(ValueError, match="non-empty buffer"):
        buf.batch()
    with pytest.raises(ValueError, match="positive integer capacity"):
        SampleBuffer(0)
