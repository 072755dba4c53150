"""A bounded store of evaluated points for buffered training (MadNIS §3.3)."""

from __future__ import annotations

from .batch import SampleBatch

__all__ = ["SampleBuffer"]


class SampleBuffer:
    """Keeps the most recent evaluated points ``(x, f(x), q(x))`` up to ``capacity`` points.

    Online training fills it; buffered training re-uses its points with the q-weighted loss,
    which stays correct although the model has moved since the points were drawn.

    Args:
        capacity: the largest number of points kept; older points are dropped first.
    """

    def __init__(self, capacity: int):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"Expected a positive integer capacity; got {capacity!r}.")
        self.capacity = capacity
        self._batches: list[SampleBatch] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, batch: SampleBatch) -> None:
        """Append ``batch``; drop the oldest points beyond :attr:`capacity`."""
        self._batches.append(batch)
        self._size += len(batch)
        while self._size > self.capacity:
            excess = self._size - self.capacity
            first = self._batches[0]
            if len(first) <= excess:
                self._batches.pop(0)
                self._size -= len(first)
            else:
                self._batches[0] = SampleBatch(
                    first.x[excess:], first.log_q[excess:], first.f[excess:]
                )
                self._size -= excess

    def batch(self) -> SampleBatch:
        """All stored points as one :class:`SampleBatch`."""
        if not self._batches:
            raise ValueError("Expected a non-empty buffer; got an empty one.")
        if len(self._batches) > 1:
            self._batches = [SampleBatch.cat(self._batches)]
        return self._batches[0]

    def clear(self) -> None:
        """Drop every stored point."""
        self._batches = []
        self._size = 0
