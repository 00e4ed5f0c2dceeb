"""Named fault points in the anchoring state machine, reachable from tests.

The exactly-once guarantee is only worth what its crash tests prove, so every step boundary of
the anchoring and revocation machinery calls :func:`reach` with a stable name. In production
nothing is configured and the call is a dictionary lookup.

Two ways to trigger a fault:

* ``CREDANCHOR_CRASH_AT=<name>[,<name>…]`` in the environment: the process SIGKILLs itself the
  first time it reaches that point (the reliability suite runs the worker as a real process).
* :func:`install` a callable in-process (unit tests): it is called with the point's name and
  typically raises :class:`SimulatedCrash` to abandon the step half-way.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Every fault point, in the order the anchoring state machine reaches them.
POINTS: tuple[str, ...] = (
    "seal:before-commit",
    "seal:after-commit",
    "submit:after-sign",
    "submit:after-persist",
    "submit:after-broadcast",
    "confirm:after-receipt",
    "confirm:after-commit",
)

_hook: Callable[[str], None] | None = None


class SimulatedCrash(BaseException):
    """Raised by test hooks to abandon a step; BaseException so no ``except Exception`` eats it."""


def reach(point: str) -> None:
    """Mark that the state machine has reached ``point``; may not return if a fault is armed."""
    if _hook is not None:
        _hook(point)
    armed = os.environ.get("CREDANCHOR_CRASH_AT")
    if armed and point in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)


def install(hook: Callable[[str], None] | None) -> None:
    global _hook
    _hook = hook


@contextmanager
def crash_at(point: str) -> Iterator[list[str]]:
    """Within the block, reaching ``point`` raises :class:`SimulatedCrash` (once)."""
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}")
    fired: list[str] = []

    def hook(name: str) -> None:
        if name == point and not fired:
            fired.append(name)
            raise SimulatedCrash(name)

    install(hook)
    try:
        yield fired
    finally:
        install(None)
