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

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credanchor.cli.context import Ctx, service_context
from credanchor.cli.errors import EXIT_CHAIN, EXIT_INVALID, EXIT_OK, handle_errors
from credanchor.cli.render import echo, echo_tree, progress
from credanchor.core.hashing import loads_strict
from credanchor.core.terminal import printable
from credanchor.errors import InvalidInput

if TYPE_CHECKING:
    from credanchor.core.report import Report
    from credanchor.verify.bulk import FileResult

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: Options that choose the chain reader of --rpc; the service's own reader has its settings.
_RPC_ONLY = ("contract", "chain_id", "trust_list", "confirmations", "timeout", "jobs")


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
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes to verify with; worth it on machines with cores to spare "
                   "(once the chain reads are batched, the work is local CPU).")
@handle_errors
def verify_command(inputs: tuple[str, ...], rpc_urls: tuple[str, ...], contract: str | None,
                   chain_id: int | None, trust_list: str | None, confirmations: int,
                   as_json: bool, problems_only: bool, timeout: float, jobs: int) -> int:
    """Verify credential files against the chain.

    INPUTS are credential files, folders (every *.json below), glob patterns (quote them) or
    a CSV listing with a `path` column (else its first column; relative to the CSV's folder).
    With --rpc no issuer service or database is involved: each file is checked on its own,
    and the chain is asked through JSON-RPC batches of the contract's `verify`. As
    `credanchor verify` without --rpc, the service's own chain and trust list are used.

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
    """
    from credanchor.verify.bulk import collect_paths

    paths = collect_paths(inputs)
    service = service_context()
    if service is not None and not rpc_urls:
        results = _service_results(service, paths)
    else:
        results = _rpc_results(paths, rpc_urls=rpc_urls, contract=contract, chain_id=chain_id,
                               trust_list=trust_list, min_confirmations=confirmations,
                               timeout=timeout, jobs=jobs)
    return render_results(results, paths, as_json=as_json, problems_only=problems_only)


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


def _rpc_results(paths: list[Path], *, jobs: int, **options: Any) -> Iterable[FileResult]:
    """A JSON-RPC chain reader trusting exactly what the options say, in ``jobs`` processes."""
    from credanchor.verify.bulk import CHUNK, open_bulk_verifier, verify_files_in_processes

    jobs = min(jobs, -(-len(paths) // CHUNK))  # no more processes than chunks
    if jobs > 1:
        return verify_files_in_processes(paths, jobs=jobs, **options)
    return open_bulk_verifier(**options).verify_files(paths)


def render_results(results: Iterable[FileResult], paths: Sequence[Path], *, as_json: bool,
                   problems_only: bool) -> int:
    """Print a row per :class:`~credanchor.verify.bulk.FileResult` and the summary; the exit
    code: 4 when the chain did not answer for some file, 1 when some file is not VALID."""
    from credanchor.core.report import Status

    counts: dict[str, int] = {}
    chain_trouble = False
    width = max(len(printable(p)) for p in paths) if len(paths) <= 1000 else 0
    started = time.perf_counter()
    if not as_json:
        click.echo(f"{'STATUS':<8} {'FILE':<{width}}  DETAIL")
    with progress(len(paths), "verifying") as bar:
        task = bar.add_task("verify", total=len(paths))
        for result in results:
            status = result.status
            counts[status.value] = counts.get(status.value, 0) + 1
            chain_trouble |= result.chain_trouble
            bar.advance(task)
            if problems_only and status == Status.VALID:
                continue
            if as_json:  # json.dumps escapes every control character: safe for a terminal
                click.echo(json.dumps(result.to_dict()))
            else:
                reason = result.reason()
                echo(f"{status.value:<8} {printable(result.path):<{width}}"
                     + (f"  {reason}" if reason else ""))
                if result.report is not None and result.report.components:
                    _echo_tree_of(result.path, result.report)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    figures = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    click.echo(f"verified {total} file(s): {figures} — {elapsed:.1f} s, "
               f"{total / elapsed if elapsed else 0:,.0f} files/s", err=True)
    if chain_trouble:  # not for an ERROR that is a fault of ours: retrying would not help
        return EXIT_CHAIN
    return EXIT_OK if counts.get(Status.VALID.value, 0) == total else EXIT_INVALID


def _echo_tree_of(path: Path, report: Report) -> None:
    """A stacked qualification's tree, from its file again (the results keep no documents)."""
    try:
        document = loads_strict(path.read_bytes())
    except Exception as exc:  # the verdict is printed already; the tree is extra
        echo(f"  (its components cannot be shown: {type(exc).__name__}: {exc})")
        return
    echo_tree(report, document)


COMMANDS = (verify_command,)
