"""The auditor's commands: ``audit`` (replay the contract's events and reconcile them with a
ledger) and ``export`` (a ledger for an auditor, no personal data).

Thin click commands over :mod:`credanchor.audit.reconcile` and :mod:`credanchor.ledger.export`.
``scripts/audit.py`` and ``scripts/export.py`` run them standalone; ``credanchor audit`` and
``credanchor export`` are the same commands, which then default to the service's own
configuration (ledger, RPC URL, contract, deployment block). Exit codes:
:mod:`credanchor.cli.errors`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from credanchor.cli.context import service_context
from credanchor.cli.errors import EXIT_FOUND, EXIT_OK, handle_errors
from credanchor.cli.render import progress as progress_bar
from credanchor.core.terminal import printable, printable_data
from credanchor.errors import ConfigError, InvalidInput

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# -- audit ------------------------------------------------------------------------------------


def _contract_for(rpc_url: str | None, contract: str | None, chain_id: int | None,
                  from_block: int | None, timeout: float) -> tuple[Any, Callable[[], None]]:
    """The CredentialAnchor client to audit, and how to close what was opened for it."""
    from credanchor.chain.contract import CredentialAnchor
    from credanchor.chain.rpc import connect_rpc

    service = service_context()
    if service is not None:
        settings = service.settings()
        rpc_url = rpc_url or settings.rpc_url
        contract = contract or settings.contract_address
        chain_id = chain_id if chain_id is not None else settings.chain_id
        from_block = from_block if from_block is not None else settings.deploy_block
        if rpc_url is None and settings.chain == "embedded":
            from credanchor.usecases.bootstrap import open_chain

            chain, _ = open_chain(settings)
            return chain.contract, chain.close
    if not rpc_url or not contract:
        raise InvalidInput("give --rpc URL and --contract ADDRESS")
    w3 = connect_rpc(rpc_url, expected_chain_id=chain_id, timeout=timeout)
    anchor = CredentialAnchor(w3, contract, deploy_block=from_block or 0)
    if not anchor.has_code():
        raise ConfigError(f"no contract at {contract} on this chain")
    if not from_block:
        from credanchor.audit.replay import find_deploy_block

        found = find_deploy_block(anchor)
        if found is None:
            click.echo("warning: the node keeps no old state to find the deployment block; "
                       "replaying from block 0 (give --from-block)", err=True)
        anchor.deploy_block = found or 0
    return anchor, lambda: None


def _ledger_path(ledger: str | None) -> str:
    if ledger:
        return ledger
    service = service_context()
    if service is None:
        raise InvalidInput("give --ledger (the service's ledger.sqlite or an export)")
    return str(service.settings().ledger_path)


@click.command("audit", context_settings=CONTEXT)
@click.option("--rpc", "rpc_url", metavar="URL", help="JSON-RPC URL of the chain.")
@click.option("--contract", metavar="ADDRESS", help="The CredentialAnchor contract to audit.")
@click.option("--chain-id", type=int, help="Expected chain id (checked against the node).")
@click.option("--ledger", type=click.Path(exists=True),
              help="The issuer's ledger.sqlite (or its data folder), or a ledger export "
                   "(folder or .json) from `export`.")
@click.option("--issuer", help="Reconcile only this ledger issuer (address, or id in a "
                               "database).")
@click.option("--from-block", type=click.IntRange(min=0),
              help="The contract's deployment block, where the replay starts [found by "
                   "bisecting eth_getCode, which needs a node with old state].")
@click.option("--to-block", type=click.IntRange(min=0), help="Last block to replay [head].")
@click.option("--step", default=2000, show_default=True, type=click.IntRange(min=1),
              help="Blocks per eth_getLogs request (halved when the node refuses a range).")
@click.option("--checkpoint", type=click.Path(dir_okay=False),
              help="Save the replay here as it goes, and resume from it when run again.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the JSON report here.")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False),
              help="Write the summary for people here (.md Markdown, .html HTML).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON report instead of the Markdown summary.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per RPC request.")
@handle_errors
def audit_command(rpc_url: str | None, contract: str | None, chain_id: int | None,
                  ledger: str | None, issuer: str | None, from_block: int | None,
                  to_block: int | None, step: int, checkpoint: str | None,
                  report_path: str | None, summary_path: str | None, as_json: bool,
                  timeout: float) -> int:
    """Replay the contract's events and reconcile them with an issuer's ledger.

    Reads every event from the deployment block to the head, in ranges of --step blocks
    (resumable with --checkpoint), into the on-chain picture — issuers and their accreditation
    history, anchors, revocations — and compares it with the ledger: roots anchored by a ledger
    issuer that the ledger does not know, confirmed batches missing on chain, count or
    transaction mismatches, revocations out of sync either way, and batches whose stored tree
    does not rebuild from their credential hashes.

    Prints the Markdown summary (or --json the report). Exit status: 0 clean,
    1 discrepancies found, 3 bad input, 4 the chain could not be read.

    \b
    Examples:
      scripts/audit.py --rpc http://127.0.0.1:8545 --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3 \\
          --from-block 1 --ledger credanchor-data/ledger.sqlite --report audit.json --summary audit.md
      scripts/audit.py --rpc $RPC --chain-id 11155111 --contract 0x… --from-block 5123456 \\
          --ledger acme-export/ --step 500 --checkpoint audit.ckpt
      credanchor audit --summary audit.html      # the service's own ledger and chain
    """
    from credanchor.audit.reconcile import reconcile
    from credanchor.audit.replay import replay
    from credanchor.audit.summary import build_report, render_html, render_markdown, write_report
    from credanchor.chain.tx import chain_errors
    from credanchor.ledger.export import open_ledger

    view = open_ledger(_ledger_path(ledger), issuer=issuer)
    anchor, close = _contract_for(rpc_url, contract, chain_id, from_block, timeout)
    try:
        with chain_errors("reading the chain"):
            node_chain = int(anchor.w3.eth.chain_id)
            head = int(anchor.w3.eth.block_number) if to_block is None else to_block
        if view.contract and (view.chain_id, view.contract.lower()) != (
                node_chain, anchor.address.lower()):
            raise InvalidInput(f"the ledger export is for contract {view.contract} on chain "
                               f"{view.chain_id}, not {anchor.address} on chain {node_chain}")
        started = time.perf_counter()
        first = anchor.deploy_block
        with progress_bar(head - first + 1, "replaying") as progress:
            task = progress.add_task("replay", total=max(1, head - first + 1))

            def advanced(picture: Any, end: int) -> None:
                progress.update(task, completed=picture.next_block - first,
                                total=max(1, end - first + 1))

            picture = replay(anchor, to_block=to_block, step=step, checkpoint=checkpoint,
                             progress=advanced)
        replayed = time.perf_counter() - started
        new_events = picture.events - picture.resumed_events
        click.echo(f"replayed {new_events} event(s) in blocks "
                   f"{picture.resumed_from or picture.from_block}-{picture.to_block}"
                   + (f" (resumed at {picture.resumed_from})" if picture.resumed_from else "")
                   + f" in {replayed:.1f} s, {new_events / replayed if replayed else 0:,.0f} "
                   "events/s", err=True)
        started = time.perf_counter()
        batches = view.batches()
        total = sum(b.count for b in batches)
        with progress_bar(total, "reconciling") as progress:
            task = progress.add_task("reconcile", total=total)
            found = reconcile(picture, view, progress=lambda n: progress.advance(task, n))
        reconciled = time.perf_counter() - started
        click.echo(f"reconciled {len(batches)} batch(es), {total} credential(s) in "
                   f"{reconciled:.1f} s: {len(found)} discrepancy(ies)", err=True)
        report = build_report(picture, view, found,
                              elapsed={"replay": round(replayed, 3),
                                       "reconcile": round(reconciled, 3)})
    finally:
        close()
        view.close()
    if report_path:
        write_report(report, report_path)
    # The summaries are for people and quote the ledger's and the chain's names: every string
    # escaped first, so none can break a line or steer a terminal (the JSON report is exact).
    readable = printable_data(report)
    if summary_path:
        render = render_html if summary_path.lower().endswith((".html", ".htm")) else \
            render_markdown
        Path(summary_path).write_text(render(readable), encoding="utf-8")
    click.echo(json.dumps(report, indent=2) if as_json else render_markdown(readable), nl=False)
    if as_json:
        click.echo()
    return EXIT_OK if report["clean"] else EXIT_FOUND


# -- export -----------------------------------------------------------------------------------


@click.command("export", context_settings=CONTEXT)
@click.option("--ledger", type=click.Path(exists=True),
              help="The service's ledger.sqlite (or its data folder).")
@click.option("--out", required=True, type=click.Path(),
              help="Folder to write (manifest.json + batches/), or a .json file for one file.")
@click.option("--issuer", help="Export only this issuer (id or address).")
@click.option("--chain-id", type=int, help="Record the chain id the ledger anchors on.")
@click.option("--contract", metavar="ADDRESS", help="Record the contract it anchors in.")
@click.option("--force", is_flag=True, help="Overwrite an existing export.")
@handle_errors
def export_command(ledger: str | None, out: str, issuer: str | None, chain_id: int | None,
                   contract: str | None, force: bool) -> int:
    """Export an issuer's ledger for an auditor — no personal data.

    Writes every batch as an OpenZeppelin `standard-v1` tree dump (exactly as stored), its
    anchor (transaction, block, time), the revocations and their state, and the hashes of
    credentials whose batch row is missing. Credential documents never leave the ledger.
    `audit --ledger OUT` audits the export as it would the database.

    \b
    Examples:
      scripts/export.py --ledger credanchor-data/ledger.sqlite --out acme-export/ \\
          --issuer 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --chain-id 31337 --contract 0x5Fb…
      credanchor export --out ledger-export.json
    """
    from credanchor.ledger.export import SqliteLedger, export_ledger, open_ledger

    service = service_context()
    if service is not None and (chain_id is None or contract is None):
        if service.settings().chain == "embedded":
            chain = service.runtime().chain
            chain_id, contract = chain.chain_id, chain.contract_address
        else:
            chain_id = chain_id if chain_id is not None else service.settings().chain_id
            contract = contract or service.settings().contract_address
    view = open_ledger(_ledger_path(ledger), issuer=issuer)
    try:
        if not isinstance(view, SqliteLedger):
            raise InvalidInput(f"{view.path} is already an export; export reads a ledger "
                               "database")
        total = sum(b.count for b in view.batches())
        with progress_bar(total, "exporting") as progress:
            task = progress.add_task("export", total=total)
            summary = export_ledger(view, out, chain_id=chain_id, contract=contract,
                                    force=force, progress=lambda n: progress.advance(task, n))
    finally:
        view.close()
    click.echo(printable(f"exported {summary.issuers} issuer(s), {summary.batches} batch(es), "
                         f"{summary.credentials} credential hash(es), {summary.revocations} "
                         f"revocation(s) to {summary.path}"))
    return EXIT_OK


COMMANDS = (audit_command, export_command)
