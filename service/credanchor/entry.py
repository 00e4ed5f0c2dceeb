"""The ``credanchor`` program: the command-line face (:mod:`credanchor.cli`) plus ``serve``,
which runs the web face (:mod:`credanchor.web`).

The two faces never import each other; this module, above both, is where they meet — the
only place that knows both. ``credanchor`` (pyproject) and ``python -m credanchor`` run
:func:`main`.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import click

from credanchor.cli.context import Ctx
from credanchor.cli.errors import handle_errors
from credanchor.cli.main import main

# -- serving: the web face ------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not run the anchoring worker thread.")
@click.pass_obj
@handle_errors
def serve(obj: Ctx, host: str, port: int, no_worker: bool) -> None:
    """Serve the API and the pages, with the anchoring worker in a thread.

    \b
    Example:
      credanchor serve --host 0.0.0.0 --port 8000
    For production use gunicorn plus one `credanchor worker` (see README).
    """
    from werkzeug.serving import make_server

    from credanchor.web import create_app

    app = create_app(runtime=obj.runtime(), start_worker=not no_worker)
    server = make_server(host, port, app, threaded=True)
    click.echo(f"credanchor serving on http://{host}:{server.port}/ (Ctrl-C to stop)")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
