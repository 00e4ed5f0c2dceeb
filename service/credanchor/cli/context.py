"""What a ``credanchor`` command knows about the service it runs for: the settings (from
``--config``/``--data-dir`` and ``CREDANCHOR_*``) and, opened on first use, the runtime.

The auditing commands (verify, audit, export) also run standalone as ``scripts/*.py``, with no
service at all: :func:`service_context` tells them which, by the context object's type.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credanchor.usecases.config import Settings, load_settings

if TYPE_CHECKING:
    from credanchor.usecases.container import Runtime


class Ctx:
    def __init__(self, config: str | None, data_dir: str | None) -> None:
        self.config = config
        self.data_dir = data_dir
        self._runtime: Runtime | None = None

    def settings(self, **overrides: Any) -> Settings:
        if self.data_dir:
            overrides.setdefault("data_dir", Path(self.data_dir))
        return load_settings(config_file=self.config, **overrides)

    def runtime(self, **overrides: Any) -> Runtime:
        from credanchor.usecases.container import Runtime

        if self._runtime is None:
            self._runtime = Runtime.open(self.settings(**overrides))
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def service_context() -> Ctx | None:
    """The service's context when running as ``credanchor …``; None as a standalone script."""
    return click.get_current_context().find_object(Ctx)


__all__ = ["Ctx", "service_context"]
