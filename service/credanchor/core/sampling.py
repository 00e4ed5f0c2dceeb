"""Which results of a fast path to recompute with its reference, in production.

Both fast paths with a slower reference — the RDFC-1.0 canonicaliser (credanchor.core.rdfc)
and the compiled JSON Schema validator (credanchor.core.credentials) — recompute a sample of
their answers: the first ones of every process (a forked worker counts afresh, so its first
answers are checked too) and the same number in every ``every()`` after that.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

__all__ = ["ProcessSampler"]


class ProcessSampler:
    """``due()`` is True for calls ``0 .. per_round-1`` modulo ``every()`` of this process.

    ``every`` is read at each call, so a module constant can be changed (tests do). ``checked``
    counts the True answers."""

    def __init__(self, every: Callable[[], int], per_round: int = 1) -> None:
        self._every = every
        self._per_round = per_round
        self._pid = -1
        self._count = itertools.count()
        self.checked = 0

    def due(self) -> bool:
        pid = os.getpid()
        if pid != self._pid:
            self._pid, self._count = pid, itertools.count()
        # next() on itertools.count is atomic under the GIL: no lock on the hot path.
        if next(self._count) % self._every() < self._per_round:
            self.checked += 1
            return True
        return False
