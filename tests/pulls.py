"""Shared check that a sample of pulls looks like N(0, 1) (for 200 independent runs)."""

from __future__ import annotations

import numpy as np

__all__ = ["assert_standard_normal_pulls"]


def assert_standard_normal_pulls(pulls) -> None:
    """|pull| < 1 in [0.60, 0.77], |pull| < 2 at least 0.91, |mean| < 0.25 (about 3σ for 200)."""
    p = np.asarray(pulls)
    assert 0.6 <= float(np.mean(np.abs(p) < 1)) <= 0.77, p
    assert float(np.mean(np.abs(p) < 2)) >= 0.91, p
    assert abs(float(np.mean(p))) < 0.25, p
