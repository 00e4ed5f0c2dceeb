"""A small bounded cache with expiring entries, for the verifiers' reads of the chain and of
status lists (credanchor.verify.verifier, credanchor.verify.status_lists)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

__all__ = ["TtlCache"]


class TtlCache:
    """A small thread-safe cache whose entries expire after ``ttl`` seconds (None: never;
    0: nothing is kept). Bounded: past ``maxsize`` entries the least recently used goes."""

    def __init__(self, ttl: float | None, maxsize: int = 100_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
        if entry is None or (self.ttl is not None and entry[0] < time.monotonic()):
            return False, None
        return True, entry[1]

    def put(self, key: Any, value: Any) -> None:
        if self.ttl == 0:
            return
        expires = float("inf") if self.ttl is None else time.monotonic() + self.ttl
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
