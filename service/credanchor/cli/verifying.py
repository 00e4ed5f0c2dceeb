"""``verify``: the one verification command, for ``credanchor verify`` and
``scripts/verify.py``.

The same code and the same output either way; only the chain reader differs. With ``--rpc``
(always, as a script) it reads the chain through JSON-RPC batches and trusts exactly the
``--contract``/``--chain-id``/``--trust-list`` given (:func:`credanchor.verify.bulk.open_bulk_verifier`);
as ``credanchor verify`` without ``--rpc`` it uses the service's own chain and trust list
(:meth:`credanchor.usecases.container.Runtime.verifier`).

Output: a table ``STATUS FILE DETAIL`` (or ``--json`` lines), a summary on stderr, every file a
row whatever happens to the others. Exit status (:mod:`credanchor.cli.errors`): 0 every
credential VALID, 1 some not VALID, 3 bad input, 4 the chain could not be reached.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credanchor.cli.context import Ctx, service_context
from credanchor.cli.errors import EXIT_CHAIN, EXIT_INVALID, EXIT_OK, handle_errors
from credanchor.cli.render import progress
from credanchor.core.hashing import loads_strict
from credanchor.core.terminal import printable
from credanchor.errors import InvalidInput

if TYPE_CHECKING:
    from credanchor.core.report import Report
    from credanchor.verify.bulk import FileResult

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: Options that choose the chain reader of --rpc; the service's own reader has its settings.
_RPC_ONLY = ("contract", "chain_id", "trust_list", "confirmations", "timeout", "workers")


@click.command("verify", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--rpc", "rpc_urls", multiple=True, metavar="URL",
              help="JSON-RPC URL of the chain (repeat for credentials on several chains). "
                   "`credanchor verify` without it reads the service's own chain.")
@click.option("--contract", metavar="ADDRESS", help="The trusted CredentialAnchor contract.")
@click.option("--chain-id", type=int, help="Its chain id (checked against the node).")
@click.option("--trust-list", type=click.Path(dir_okay=False, exists=True),
              help='JSON file of trusted {"chainId", "contract"} pairs, instead of or beside '
                   "--contract/--chain-id.")
@click.option("--confirmations", default=1, show_default=True, type=click.IntRange(min=1),
              help="Blocks an anchor must be deep to count (shallower: PENDING).")
@click.option("--json", "as_json", is_flag=True, help="One JSON report per line.")
@click.option("--problems-only", is_flag=True, help="Print only credentials that are not VALID.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per RPC request.")
@click.option("-j", "--workers", "--jobs", "workers", type=click.IntRange(min=1), metavar="N",
              help="Processes to verify with (default: one per CPU; 1: in this process). The "
                   "output is the same whatever the number.")
@handle_errors
def verify_command(inputs: tuple[str, ...], rpc_urls: tuple[str, ...], contract: str | None,
                   chain_id: int | None, trust_list: str | None, confirmations: int,
                   as_json: bool, problems_only: bool, timeout: float,
                   workers: int | None) -> int:
    """Verify credential files against the chain.

    INPUTS are credential files, folders (every *.json below), glob patterns (quote them) or
    a CSV listing with a `path` column (else its first column; relative to the CSV's folder).
    With --rpc no issuer service or database is involved: each file is checked on its own,
    and the chain is asked through JSON-RPC batches of the contract's `verify`, the facts of
    each batch and issuer once per run. The files are spread over one process per CPU
    (--workers). As `credanchor verify` without --rpc, the service's own chain and trust list
    are used, in this process.

    Prints a table (or JSON lines) and a summary on stderr; every file gets a row, a file
    that could not be verified at all an ERROR row with the reason. Exit status: 0 every
    credential VALID, 1 some not VALID, 3 bad input, 4 the chain could not be reached.

    \b
    Examples:
      credanchor verify badges/ --json
      scripts/verify.py --rpc https://rpc.sepolia.org --chain-id 11155111 \\
          --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3 badges/
      scripts/verify.py --rpc http://127.0.0.1:8545 --trust-list trusted.json \\
          'inbox/**/*.json' listing.csv --json > results.jsonl
      scripts/verify.py --rpc $RPC --chain-id 11155111 --contract 0x… -j 4 badges/
    """
    from credanchor.verify.bulk import collect_paths

    paths = collect_paths(inputs)
    width = column_width(paths)
    digest = functools.partial(result_row, as_json=as_json, problems_only=problems_only,
                               width=width)
    service = service_context()
    rows: Iterable[Row]
    if service is not None and not rpc_urls:
        rows = map(digest, _service_results(service, paths))
    else:
        rows = _rpc_rows(paths, digest, rpc_urls=rpc_urls, contract=contract,
                         chain_id=chain_id, trust_list=trust_list,
                         min_confirmations=confirmations, timeout=timeout,
                         workers=workers)
    return render_rows(rows, len(paths), as_json=as_json, width=width)


def _service_results(service: Ctx, paths: list[Path]) -> Iterable[FileResult]:
    """The service's chain reader: its own verifier (chain, trust list, confirmations)."""
    from credanchor.verify.bulk import BulkVerifier

    ctx = click.get_current_context()
    given = [f"--{name.replace('_', '-')}" for name in _RPC_ONLY
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    if given:
        raise InvalidInput(f"{', '.join(given)} need(s) --rpc; without it the service's own "
                           "chain and settings are used")
    return BulkVerifier(service.runtime().verifier(), {}).verify_files(paths)


def _rpc_rows(paths: list[Path], digest: Callable[[FileResult], Row], *,
              workers: int | None, **options: Any) -> Iterable[Row]:
    """A JSON-RPC chain reader trusting exactly what the options say, in ``workers``
    processes (None: one per CPU); each worker renders its files' rows."""
    from credanchor.verify.bulk import default_workers, verify_files_in_processes

    jobs = default_workers() if workers is None else workers
    return verify_files_in_processes(paths, jobs=jobs, digest=digest, **options)


@dataclass(frozen=True)
class Row:
    """One file's part of the output, made where it was verified (a worker process sends
    this, not the report: a few hundred bytes instead of a pickled report)."""

    status: str
    chain_trouble: bool
    text: str | None  # its lines, escaped, ready to print; None: nothing to print


def column_width(paths: Sequence[Path]) -> int:
    """The FILE column's width: the longest path, for up to 1,000 files (more: unaligned)."""
    return max(len(printable(p)) for p in paths) if len(paths) <= 1000 else 0


def result_row(result: FileResult, *, as_json: bool, problems_only: bool, width: int) -> Row:
    """How ``result`` is printed: a JSON line, or a table row (and a stacked qualification's
    tree below it); nothing for a VALID file with ``problems_only``."""
    from credanchor.core.report import Status

    status = result.status
    text: str | None = None
    if not (problems_only and status == Status.VALID):
        if as_json:  # json.dumps escapes every control character: safe for a terminal
            text = json.dumps(result.to_dict())
        else:
            reason = result.reason()
            lines = [printable(f"{status.value:<8} {printable(result.path):<{width}}"
                               + (f"  {reason}" if reason else ""))]
            if result.report is not None and result.report.components:
                lines += [printable(line) for line in _tree_of(result.path, result.report)]
            text = "\n".join(lines)
    return Row(status.value, result.chain_trouble, text)


def render_rows(rows: Iterable[Row], total_files: int, *, as_json: bool, width: int) -> int:
    """Print every row and the summary; the exit code: 4 when the chain did not answer for
    some file, 1 when some file is not VALID."""
    from credanchor.core.report import Status

    counts: dict[str, int] = {}
    chain_trouble = False
    started = time.perf_counter()
    if not as_json:
        click.echo(f"{'STATUS':<8} {'FILE':<{width}}  DETAIL")
    with progress(total_files, "verifying") as bar:
        task = bar.add_task("verify", total=total_files)
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
            chain_trouble |= row.chain_trouble
            bar.advance(task)
            if row.text is not None:
                click.echo(row.text)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    figures = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    click.echo(f"verified {total} file(s): {figures} — {elapsed:.1f} s, "
               f"{total / elapsed if elapsed else 0:,.0f} files/s", err=True)
    if chain_trouble:  # not for an ERROR that is a fault of ours: retrying would not help
        return EXIT_CHAIN
    return EXIT_OK if counts.get(Status.VALID.value, 0) == total else EXIT_INVALID


def render_results(results: Iterable[FileResult], paths: Sequence[Path], *, as_json: bool,
                   problems_only: bool) -> int:
    """Print a row per :class:`~credanchor.verify.bulk.FileResult` and the summary (see
    :func:`render_rows`)."""
    width = column_width(paths)
    digest = functools.partial(result_row, as_json=as_json, problems_only=problems_only,
                               width=width)
    return render_rows(map(digest, results), len(paths), as_json=as_json, width=width)


def _tree_of(path: Path, report: Report) -> list[str]:
    """A stacked qualification's tree, from its file again (the results keep no documents)."""
    from credanchor.usecases.stacks import tree_lines

    try:
        document = loads_strict(path.read_bytes())
    except Exception as exc:  # the verdict is printed already; the tree is extra
        return [f"  (its components cannot be shown: {type(exc).__name__}: {exc})"]
    try:
        return list(tree_lines(report, document))
    except Exception as exc:  # as credanchor.cli.render.echo_tree words it
        return [f"  (its components cannot be shown: {type(exc).__name__}: {exc})"]


COMMANDS = (verify_command,)
