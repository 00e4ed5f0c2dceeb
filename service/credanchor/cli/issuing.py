"""The issuer's commands: ``issue``, ``anchor``, ``status`` and ``revoke``.

Thin: parse, call :mod:`credanchor.usecases.issuing` / :mod:`credanchor.usecases.revocation`,
print.
"""

from __future__ import annotations

from pathlib import Path

import click

from credanchor.cli.context import Ctx
from credanchor.cli.errors import handle_errors
from credanchor.cli.render import echo
from credanchor.errors import InvalidInput


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--anchor", is_flag=True, help="Seal, anchor and wait for confirmation.")
@click.option("--out", type=click.Path(file_okay=False), help="Write one credential file per "
              "badge here (needs --anchor, or credentials already anchored).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait with --anchor.")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None,
              help="Processes that build and sign the badges of a large file (over 5,000 "
                   "badges) [default: one per CPU].")
@click.pass_obj
@handle_errors
def issue(obj: Ctx, file: str, issuer_ref: str, anchor: bool, out: str | None,
          timeout: float, workers: int | None) -> None:
    """Issue the badges in FILE (CSV or JSON).

    \b
    Example:
      credanchor issue examples/badges.csv --anchor --out badges/
      credanchor issue cohort-2026.csv -j 1      # one process, whatever the size
    """
    from rich.progress import Progress

    from credanchor.issuing.pipeline import load_items
    from credanchor.usecases.issuing import anchor_pending, issue_file, write_holder_files

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    data = Path(file).read_bytes()
    items = load_items(data, "text/csv" if file.lower().endswith(".csv") else "application/json")
    refusal: InvalidInput | None = None
    # All or nothing, every item checked: a bad item is named with every other bad one, and
    # nothing of the file is issued (rich draws only the bar; no file text goes through it).
    with Progress(transient=True, disable=len(items) < 1000) as progress:
        task = progress.add_task("issuing", total=len(items))
        try:
            accepted = issue_file(runtime, found, items, workers=workers,
                                  progress=lambda n: progress.advance(task, n))
        except InvalidInput as exc:
            if "refused" not in exc.extra:
                raise
            refusal = exc
    if refusal is not None:
        for detail in refusal.extra["refused"]:
            echo(f"error: {detail}", err=True)
        raise refusal
    click.echo(f"accepted {len(accepted)} credential(s) as pending")
    if anchor:
        anchor_pending(runtime, timeout=timeout)
        click.echo("anchored and confirmed")
    if out:
        written = write_holder_files(runtime, [a.id for a in accepted], Path(out))
        echo(f"wrote {written} credential file(s) to {out}")


@click.command()
@click.option("--timeout", default=300.0, show_default=True)
@click.pass_obj
@handle_errors
def anchor(obj: Ctx, timeout: float) -> None:
    """Seal everything pending, anchor it and wait for confirmation.

    Operations that failed before (an unfunded issuer, a node outage) are tried again at once,
    whatever back-off the failure stored; the background worker keeps backing off.

    \b
    Example:
      credanchor issuer fund 1 --eth 10 && credanchor anchor --timeout 600
    """
    from credanchor.usecases.issuing import anchor_pending

    pending = anchor_pending(obj.runtime(), timeout=timeout)
    click.echo(f"done; {pending} credential(s) pending")


@click.command()
@click.pass_obj
@handle_errors
def status(obj: Ctx) -> int | None:
    """Backlog, batches in flight, last anchor, chain head.

    Reads the ledger and the chain head without starting the service's runtime, so it also
    answers while the service runs. Exit 4 when the head could not be read (the rest is
    printed all the same).

    \b
    Example:
      credanchor status
    """
    from credanchor.cli.errors import EXIT_CHAIN
    from credanchor.usecases.status import service_status

    s = service_status(obj.settings())
    last = s.last_confirmed
    head = str(s.head) if s.head is not None else f"unavailable ({s.head_error})"
    chain_id = "?" if s.chain_id is None else s.chain_id
    echo(f"chain      {chain_id} contract {s.contract} head {head}")
    echo(f"pending    {s.pending} credential(s)")
    echo("batches    " + ", ".join(f"{k} {v}" for k, v in s.batches.items()))
    echo(f"last      {' batch ' + str(last.id) + ' tx ' + str(last.tx_hash) if last else ' none'}")
    return EXIT_CHAIN if s.head is None else None


@click.command()
@click.argument("target")
@click.option("--reason", default="unspecified", show_default=True,
              help="unspecified, issued-in-error, superseded, misconduct, key-compromise, "
                   "withdrawn, or 0-255.")
@click.option("--batch", "is_batch", is_flag=True, help="TARGET is a batch id.")
@click.option("--wait/--no-wait", default=True, help="Wait until the revocation is on chain.")
@click.pass_obj
@handle_errors
def revoke(obj: Ctx, target: str, reason: str, is_batch: bool, wait: bool) -> None:
    """Revoke a credential (by id) or, with --batch, a whole batch.

    \b
    Examples:
      credanchor revoke urn:uuid:0b7e… --reason issued-in-error
      credanchor revoke 12 --batch --reason misconduct
    """
    from credanchor.usecases.revocation import (
        carry_to_chain,
        reason_code,
        revoke_batch,
        revoke_credential,
    )

    code = reason_code(int(reason) if reason.isascii() and reason.isdigit() else reason)
    if is_batch and not (target.isascii() and target.isdigit()):
        raise InvalidInput(f"a batch id is a number, not {target!r:.80}")
    runtime = obj.runtime()
    if is_batch:
        revoke_batch(runtime, int(target), code)
    else:
        revoke_credential(runtime, target, code)
    if wait:
        carry_to_chain(runtime, timeout=300)
        click.echo("revoked on chain")
    else:
        click.echo("revocation queued")


COMMANDS = (issue, anchor, status, revoke)
