"""Which results of a fast path to recompute with its reference, in production.

Both fast paths with a slower reference — the RDFC-1.0 canonicaliser (credanchor.core.rdfc)
and the compiled JSON Schema validator (credanchor.core.credentials) — recompute a sample of
their answers: the first ones of every process (a forked worker counts afresh, so its first
answers are checked too) and the same number in every ``every()`` after that.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Callable

__all__ = ["ProcessSampler"]


class ProcessSampler:
    """``due()`` is True for calls ``0 .. per_round-1`` modulo ``every()`` of this process.

    ``every`` is read at each call, so a module constant can be changed (tests do). ``checked``
    counts the True answers."""

    def __init__(self, every: Callable[[], int], per_round: int = 1) -> None:
        self._every = every
        self._per_round = per_round
        self._count = itertools.count()
        self.checked = 0
        # A forked child counts afresh, so its first answers are checked too. Registered once,
        # here, rather than asking os.getpid() on every call (this runs three times for each
        # signed badge); a weak reference, so that a discarded sampler is not kept alive.
        ref = weakref.ref(self)

        def restart() -> None:
            sampler = ref()
            if sampler is not None:
                sampler._count = itertools.count()

        os.register_at_fork(after_in_child=restart)

    def due(self) -> bool:
        # next() on itertools.count is atomic under the GIL: no lock on the hot path.
        if next(self._count) % self._every() < self._per_round:
            self.checked += 1
            return True
        return False
