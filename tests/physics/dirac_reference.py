"""Independent reference for the tests: tree amplitudes from explicit Dirac matrices and spinors.

numpy complex arithmetic, one phase-space point at a time, explicit sums over all spin (and
colour) states; shares nothing with :mod:`nisflow.physics.matrix_elements` but the couplings.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["GAMMA", "spinor_u", "spinor_v", "current", "massless_2to2", "minkowski"]

_I2 = np.eye(2, dtype=complex)
_Z2 = np.zeros((2, 2), dtype=complex)
_SIGMA = [
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
]
# Dirac representation
GAMMA = [np.block([[_I2, _Z2], [_Z2, -_I2]])] + [np.block([[_Z2, s], [-s, _Z2]]) for s in _SIGMA]
GAMMA5 = np.block([[_Z2, _I2], [_I2, _Z2]])
PL = 0.5 * (np.eye(4) - GAMMA5)
PR = 0.5 * (np.eye(4) + GAMMA5)
_BASIS = [np.array([1, 0], dtype=complex), np.array([0, 1], dtype=complex)]


def minkowski(a: np.ndarray, b: np.ndarray) -> complex:
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]


def _sigma_dot(p: np.ndarray) -> np.ndarray:
    return p[1] * _SIGMA[0] + p[2] * _SIGMA[1] + p[3] * _SIGMA[2]


def spinor_u(p: np.ndarray, s: int) -> np.ndarray:
    """Massless Dirac spinor u(p) for basis spin state s (0, 1): Σ_s u ū = p-slash."""
    chi = _BASIS[s]
    e = p[0]
    return np.concatenate([np.sqrt(e) * chi, _sigma_dot(p) @ chi / np.sqrt(e)])


def spinor_v(p: np.ndarray, s: int) -> np.ndarray:
    """Massless Dirac spinor v(p): Σ_s v v̄ = p-slash."""
    eta = _BASIS[s]
    e = p[0]
    return np.concatenate([_sigma_dot(p) @ eta / np.sqrt(e), np.sqrt(e) * eta])


def bar(w: np.ndarray) -> np.ndarray:
    return w.conj() @ GAMMA[0]


def current(left: np.ndarray, right: np.ndarray, gl: float, gr: float) -> np.ndarray:
    """``J^μ = left-bar γ^μ (gl P_L + gr P_R) right`` for a bar-spinor ``left`` (already barred)."""
    vertex = gl * PL + gr * PR
    return np.array([left @ GAMMA[mu] @ vertex @ right for mu in range(4)])


def massless_2to2(s: float, cos_t: float, phi: float, axis: np.ndarray) -> tuple[np.ndarray, ...]:
    """p1, p2 along ±axis (unit 3-vector) and k1, k2 at angle θ to p1, in the CM frame."""
    e = np.sqrt(s) / 2
    n1 = axis / np.linalg.norm(axis)
    a = np.array([1.0, 0, 0]) if abs(n1[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(n1, a)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n1, e1)
    sin_t = np.sqrt(1 - cos_t**2)
    d = cos_t * n1 + sin_t * (np.cos(phi) * e1 + np.sin(phi) * e2)
    p1 = np.concatenate([[e], e * n1])
    p2 = np.concatenate([[e], -e * n1])
    k1 = np.concatenate([[e], e * d])
    k2 = np.concatenate([[e], -e * d])
    return p1, p2, k1, k2


def spin_states():
    return itertools.product((0, 1), repeat=4)
