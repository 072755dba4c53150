"""Divergences between an integrand and a flow density, in their sampled (q-weighted) form.

Every loss has one signature (MadNIS appendix A; ZüNIS eq. 9)::

    loss(f, log_g, log_q) -> scalar

* ``f``, shape ``(n,)``: integrand values at points ``x`` drawn from a sampling density ``q``.
  Signed integrands are trained on ``|f|``.
* ``log_g``, shape ``(n,)``: the log-density of the model being trained at those points, *with*
  gradient.
* ``log_q``, shape ``(n,)``: the log-density the points were drawn from, *without* gradient: the
  uniform density (``0``), a frozen copy of the model, or the model itself at sampling time
  (online and buffered training).

The target density is ``p = |f| / I``. ``I`` is estimated from the same batch,
``Î = mean(|f| / q)``, and detached, so a loss and its gradient do not depend on the scale of
``f``. Each function returns a Monte Carlo estimate of the divergence itself (so its value can be
compared between models, e.g. by the adaptive survey strategy), whose gradient with respect to
``log_g`` is the estimator of the gradient of the exact divergence given in MadNIS appendix A:

=================  ==========================  ================================================
name               divergence                  sampled estimate
=================  ==========================  ================================================
``variance``       χ²_Neyman = ∫ p²/g − 1      mean[(p/q)² · q/g] − 1 (the variance of f/(I g))
``pearson_chi2``   χ²_Pearson = ∫ g²/p − 1     mean[(g/q)² · q/p] − 1
``kl``             KL(p‖g) = ∫ p log(p/g)      mean[(p/q) · (log p − log g)]
``reverse_kl``     KL(g‖p) = ∫ g log(g/p)      mean[(g/q) · (log g − log p)]
=================  ==========================  ================================================

The Pearson χ² and the reverse KL divide by ``p``; where ``f = 0`` the density ``p`` is floored at
``P_FLOOR`` times the batch's mean density, which keeps the losses finite (the exact divergences
are infinite when the model puts mass where ``f`` vanishes).

A batch whose ``f`` is zero everywhere carries no information: every loss returns ``0`` (still
attached to ``log_g`` so that ``backward()`` works) and callers may skip the step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "Loss",
    "LOSSES",
    "P_FLOOR",
    "variance_loss",
    "pearson_chi2_loss",
    "kl_loss",
    "reverse_kl_loss",
    "get_loss",
]

Loss = Callable[[Tensor, Tensor, Tensor], Tensor]
"""The loss signature: ``loss(f, log_g, log_q) -> scalar tensor``."""

P_FLOOR = 1e-12
"""Lower bound of ``p / q`` (relative to its batch mean) where a loss divides by ``p``."""


def _check(f: Tensor, log_g: Tensor, log_q: Tensor) -> None:
    for name, t in (("f", f), ("log_g", log_g), ("log_q", log_q)):
        if not isinstance(t, Tensor):
            raise TypeError(f"Expected {name} to be a torch.Tensor; got {type(t).__name__}.")
        if t.dim() != 1:
            raise ValueError(f"Expected {name} of shape (n,); got shape {tuple(t.shape)}.")
    if not (f.shape == log_g.shape == log_q.shape):
        raise ValueError(
            "Expected f, log_g and log_q of the same shape (n,); got "
            f"{tuple(f.shape)}, {tuple(log_g.shape)} and {tuple(log_q.shape)}."
        )
    if f.shape[0] == 0:
        raise ValueError("Expected a non-empty batch; got 0 points.")


def _ratios(f: Tensor, log_g: Tensor, log_q: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Return ``(r, log_g, log_q, informative)`` in float64 with ``r = p / q`` detached.

    ``r = |f| / (Î q)`` with ``Î = mean(|f| / q)``; ``informative`` is a 0-d bool tensor, false
    when ``f`` vanishes on the batch (then ``r = 0``). Nothing here waits for the device (no
    host-side branch on a tensor), so a loss can run inside a captured CUDA graph.
    """
    _check(f, log_g, log_q)
    log_q = log_q.detach().to(torch.float64)
    log_g = log_g.to(torch.float64)
    w = f.detach().to(torch.float64).abs() * torch.exp(-log_q)
    mean_w = w.mean()
    informative = mean_w > 0
    return w / torch.where(informative, mean_w, 1.0), log_g, log_q, informative


def _select(informative: Tensor, value: Tensor, log_g: Tensor) -> Tensor:
    """``value``, or ``0`` (still attached to ``log_g``) on a batch where ``f`` vanishes."""
    return torch.where(informative, value, (log_g * 0.0).sum())


def variance_loss(f: Tensor, log_g: Tensor, log_q: Tensor) -> Tensor:
    """Neyman χ² divergence (= relative variance of ``f / g``) in its q-weighted form.

    Estimates ``∫ p²/g − 1 = Var_g[f/g] / I²`` as ``mean[(p/q)² q/g] − 1``; its gradient is
    ``−mean[p²/(q g) ∇ log g]`` (MadNIS eq. 72, ZüNIS eq. 9).

    Args:
        f: integrand values, shape ``(n,)``.
        log_g: model log-density with gradient, shape ``(n,)``.
        log_q: sampling log-density, shape ``(n,)``.

    Returns:
        A float64 scalar.
    """
    r, log_g, log_q, informative = _ratios(f, log_g, log_q)
    return _select(informative, (r * r * torch.exp(log_q - log_g)).mean() - 1.0, log_g)


def pearson_chi2_loss(f: Tensor, log_g: Tensor, log_q: Tensor) -> Tensor:
    """Pearson χ² divergence ``∫ g²/p − 1`` in its q-weighted form ``mean[(g/q)² q/p] − 1``.

    Its gradient is ``2 mean[g²/(p q) ∇ log g]`` (MadNIS eq. 76). ``p`` is floored at
    :data:`P_FLOOR` (relative) where ``f`` vanishes.

    Args:
        f: integrand values, shape ``(n,)``.
        log_g: model log-density with gradient, shape ``(n,)``.
        log_q: sampling log-density, shape ``(n,)``.

    Returns:
        A float64 scalar.
    """
    r, log_g, log_q, informative = _ratios(f, log_g, log_q)
    r = r.clamp_min(P_FLOOR)
    return _select(informative, (torch.exp(2.0 * (log_g - log_q)) / r).mean() - 1.0, log_g)


def kl_loss(f: Tensor, log_g: Tensor, log_q: Tensor) -> Tensor:
    """Forward Kullback–Leibler divergence ``KL(p‖g)`` in its q-weighted form.

    Estimates ``∫ p log(p/g)`` as ``mean[(p/q)(log p − log g)]`` (terms with ``p = 0`` vanish);
    its gradient is ``−mean[(p/q) ∇ log g]`` (MadNIS eq. 79, the weighted maximum likelihood).

    Args:
        f: integrand values, shape ``(n,)``.
        log_g: model log-density with gradient, shape ``(n,)``.
        log_q: sampling log-density, shape ``(n,)``.

    Returns:
        A float64 scalar.
    """
    r, log_g, log_q, informative = _ratios(f, log_g, log_q)
    # p log p with p = r q: r (log r + log q), zero where r = 0.
    entropy_term = torch.xlogy(r, r) + r * log_q
    return _select(informative, (entropy_term - r * log_g).mean(), log_g)


def reverse_kl_loss(f: Tensor, log_g: Tensor, log_q: Tensor) -> Tensor:
    """Reverse Kullback–Leibler divergence ``KL(g‖p)`` in its q-weighted form.

    Estimates ``∫ g log(g/p)`` as ``mean[(g/q)(log g − log p)]``; its gradient is
    ``mean[(g/q)(1 + log(g/p)) ∇ log g]`` (MadNIS eq. 83). ``p`` is floored at :data:`P_FLOOR`
    (relative) where ``f`` vanishes.

    Args:
        f: integrand values, shape ``(n,)``.
        log_g: model log-density with gradient, shape ``(n,)``.
        log_q: sampling log-density, shape ``(n,)``.

    Returns:
        A float64 scalar.
    """
    r, log_g, log_q, informative = _ratios(f, log_g, log_q)
    log_p = torch.log(r.clamp_min(P_FLOOR)) + log_q
    return _select(informative, (torch.exp(log_g - log_q) * (log_g - log_p)).mean(), log_g)


LOSSES: dict[str, Loss] = {
    "variance": variance_loss,
    "neyman_chi2": variance_loss,
    "pearson_chi2": pearson_chi2_loss,
    "kl": kl_loss,
    "dkl": kl_loss,
    "forward_kl": kl_loss,
    "reverse_kl": reverse_kl_loss,
}
"""Losses by name; ``neyman_chi2`` is an alias of ``variance``, ``dkl``/``forward_kl`` of ``kl``."""


def get_loss(loss: str | Loss) -> Loss:
    """Return the loss function named ``loss`` (see :data:`LOSSES`), or ``loss`` if callable.

    Raises:
        ValueError: an unknown name.
        TypeError: neither a string nor a callable.
    """
    if isinstance(loss, str):
        try:
            return LOSSES[loss]
        except KeyError:
            raise ValueError(
                f"Expected a loss name in {sorted(LOSSES)} or a callable; got {loss!r}."
            ) from None
    if callable(loss):
        return loss
    raise TypeError(f"Expected a loss name or a callable loss(f, log_g, log_q); got {loss!r}.")
