"""The ``credanchor`` command. Thin: parse arguments, call the library, print.

Errors from the library (:class:`~credanchor.errors.CredanchorError`) become a one-line
message on stderr and a non-zero exit; nothing prints a traceback at an operator.
Every line that can carry text from a file goes through :func:`credanchor.core.terminal.printable`.
Configuration comes from ``CREDANCHOR_*`` variables and an optional ``--config`` TOML file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credanchor import __version__
from credanchor.core.terminal import printable
from credanchor.errors import CredanchorError, InvalidInput
from credanchor.usecases.config import Settings, load_settings

if TYPE_CHECKING:
    from credanchor.usecases.container import Runtime

EXIT_INVALID = 1  # verify: at least one credential is not VALID (or could not be verified)
EXIT_USAGE = 2  # click's own
EXIT_ERROR = 3  # a credanchor error (bad input, configuration, …)
EXIT_CHAIN = 4  # the chain could not be reached


class Ctx:
    def __init__(self, config: str | None, data_dir: str | None) -> None:
        self.config = config
        self.data_dir = data_dir
        self._runtime: Runtime | None = None

    def settings(self, **overrides: Any) -> Settings:
        if self.data_dir:
            overrides.setdefault("data_dir", Path(self.data_dir))
        return load_settings(config_file=self.config, **overrides)

    def runtime(self, **overrides: Any):
        from credanchor.usecases.container import Runtime

        if self._runtime is None:
            self._runtime = Runtime.open(self.settings(**overrides))
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from credanchor.errors import ChainUnavailable

        try:
            return fn(*args, **kwargs)
        except ChainUnavailable as exc:
            click.echo(printable(f"error: {exc.detail}"), err=True)
            sys.exit(EXIT_CHAIN)
        except CredanchorError as exc:
            click.echo(printable(f"error: {exc.detail}"), err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="credanchor")
@click.option("--config", type=click.Path(dir_okay=False), envvar="CREDANCHOR_CONFIG",
              help="TOML file with settings (environment variables override it).")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CREDANCHOR_DATA_DIR",
              help="Where the ledger, the embedded chain and keystores live.")
@click.pass_context
def main(ctx: click.Context, config: str | None, data_dir: str | None) -> None:
    """Issue Open Badges 3.0 micro-credentials anchored on an Ethereum chain, and verify them.

    \b
    Examples:
      credanchor issue examples/badges.csv --anchor --out badges/
      credanchor verify badges/
      credanchor serve --port 8000
    """
    obj = Ctx(config, data_dir)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


# -- serving ----------------------------------------------------------------------------------


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


@main.command()
@click.option("--once", is_flag=True, help="Seal and drive everything once, then exit.")
@click.pass_obj
@handle_errors
def worker(obj: Ctx, once: bool) -> None:
    """Run the anchoring worker (one per ledger) until interrupted.

    \b
    Example:
      credanchor worker
    """
    from credanchor.issuing.anchoring import worker_lock

    runtime = obj.runtime()
    with worker_lock(runtime.settings.data_dir):
        anchorer = runtime.anchorer()
        if once:
            report = anchorer.step(force_seal=True)
            click.echo(f"sealed {len(report.sealed)}, submitted {len(report.submitted)}, "
                       f"confirmed {len(report.confirmed)}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        anchorer.run(stop, interval=runtime.settings.worker_interval)


# -- issuers ----------------------------------------------------------------------------------


@main.group()
def issuer() -> None:
    """Manage the issuers this service signs for.

    \b
    Example:
      credanchor issuer add "Acme Academy" --url https://acme.example
    """


@issuer.command("add")
@click.argument("name")
@click.option("--url", help="The issuer's public web site.")
@click.option("--keystore", type=click.Path(dir_okay=False, exists=True),
              help="Use this encrypted keystore (password from CREDANCHOR_KEYSTORE_PASSWORD) "
                   "instead of generating a key.")
@click.pass_obj
@handle_errors
def issuer_add(obj: Ctx, name: str, url: str | None, keystore: str | None) -> None:
    """Add an issuer, accredit it on chain when we hold the admin key, print its API key once.

    \b
    Example:
      credanchor issuer add "Acme Academy" --url https://acme.example
    """
    from credanchor.usecases.issuers import add_issuer

    runtime = obj.runtime()
    result = add_issuer(runtime, name=name, url=url, keystore=Path(keystore) if keystore else None)
    click.echo(printable(f"issuer {result.issuer.id}: {result.issuer.name} "
                         f"({result.issuer.address})"))
    click.echo(f"accredited on chain: {'yes' if result.accredited else 'no - ask the registry admin'}")
    click.echo(f"API key (shown once, store it now): {result.api_key}")


@issuer.command("key")
@click.argument("issuer_ref")
@click.pass_obj
@handle_errors
def issuer_key(obj: Ctx, issuer_ref: str) -> None:
    """Create another API key for an issuer (id or address); printed once.

    \b
    Example:
      credanchor issuer key 1
    """
    store = obj.runtime().store()
    found = store.find_issuer(issuer_ref)
    click.echo(store.create_api_key(found.id))


@issuer.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def issuer_list(obj: Ctx, as_json: bool) -> None:
    """List issuers with their on-chain accreditation.

    \b
    Example:
      credanchor issuer list --json
    """
    runtime = obj.runtime()
    for i in runtime.store().list_issuers():
        facts = runtime.chain.issuer_facts(i.address)
        row = {"id": i.id, "name": i.name, "address": i.address, "status": i.status,
               "accredited": facts.active, "onChainName": facts.name}
        click.echo(json.dumps(row) if as_json else printable(
                   f"{i.id:>3}  {i.address}  {i.status:<9}  "
                   f"{'accredited' if facts.active else 'NOT accredited':<14}  {i.name}"))


@issuer.command("fund")
@click.argument("issuer_ref")
@click.option("--eth", "eth", required=True, metavar="N",
              help="How much ETH to send, e.g. 10 or 0.5.")
@click.option("--force", is_flag=True,
              help="Send even though the chain is not a development chain (real money).")
@click.pass_obj
@handle_errors
def issuer_fund(obj: Ctx, issuer_ref: str, eth: str, force: bool) -> None:
    """Send N ETH from the admin key to an issuer's (id or address) anchoring address.

    Refused on chains that are not development chains (CREDANCHOR_DEVELOPMENT_CHAIN; by default
    the embedded chain and chain ids 31337 and 1337) unless --force.

    \b
    Example:
      credanchor issuer fund 1 --eth 10
    """
    from credanchor.usecases.issuers import eth_to_wei, fund_issuer, wei_to_eth

    result = fund_issuer(obj.runtime(), issuer_ref, eth_to_wei(eth), force=force)
    click.echo(f"sent {wei_to_eth(result.amount_wei)} ETH to issuer {result.issuer.id} "
               f"({result.issuer.address}): tx {result.tx_hash}")
    click.echo(f"balance: {wei_to_eth(result.balance_wei)} ETH")


@issuer.command("suspend")
@click.argument("issuer_ref")
@click.pass_obj
@handle_errors
def issuer_suspend(obj: Ctx, issuer_ref: str) -> None:
    """Suspend an issuer: its API keys stop working; on chain too when we hold the admin key.

    \b
    Example:
      credanchor issuer suspend 0x1234…
    """
    from credanchor.usecases.issuers import suspend_issuer

    result = suspend_issuer(obj.runtime(), issuer_ref)
    click.echo(f"suspended {result.issuer.address} "
               f"({'also on chain' if result.accredited is False else 'ledger only'})")


@issuer.command("reactivate")
@click.argument("issuer_ref")
@click.pass_obj
@handle_errors
def issuer_reactivate(obj: Ctx, issuer_ref: str) -> None:
    """Reinstate a suspended issuer: its API keys work again and the credentials held while it
    was suspended are anchored; on chain too when we hold the admin key.

    \b
    Example:
      credanchor issuer reactivate 2
    """
    from credanchor.usecases.issuers import reactivate_issuer

    result = reactivate_issuer(obj.runtime(), issuer_ref)
    on_chain = ("accredited on chain" if result.accredited
                else "still suspended on chain: the registry admin must accredit it again")
    click.echo(f"reactivated {result.issuer.address} ({on_chain})")


# -- issuing ----------------------------------------------------------------------------------


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--anchor", is_flag=True, help="Seal, anchor and wait for confirmation.")
@click.option("--out", type=click.Path(file_okay=False), help="Write one credential file per "
              "badge here (needs --anchor, or credentials already anchored).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait with --anchor.")
@click.pass_obj
@handle_errors
def issue(obj: Ctx, file: str, issuer_ref: str, anchor: bool, out: str | None,
          timeout: float) -> None:
    """Issue the badges in FILE (CSV or JSON).

    \b
    Example:
      credanchor issue examples/badges.csv --anchor --out badges/
    """
    from rich.progress import Progress

    from credanchor.issuing.pipeline import issue_all, load_items

    runtime = obj.runtime()
    store = runtime.store()
    found = store.find_issuer(issuer_ref)
    data = Path(file).read_bytes()
    items = load_items(data, "text/csv" if file.lower().endswith(".csv") else "application/json")
    refusal: InvalidInput | None = None
    # All or nothing, every item checked: a bad item is named with every other bad one, and
    # nothing of the file is issued (rich draws only the bar; no file text goes through it).
    with Progress(transient=True, disable=len(items) < 1000) as progress:
        task = progress.add_task("issuing", total=len(items))
        try:
            accepted = issue_all(store, found, runtime.issuer_profile(found), items,
                                 progress=lambda n: progress.advance(task, n))
        except InvalidInput as exc:
            if "refused" not in exc.extra:
                raise
            refusal = exc
    if refusal is not None:
        for detail in refusal.extra["refused"]:
            click.echo(printable(f"error: {detail}"), err=True)
        raise refusal
    click.echo(f"accepted {len(accepted)} credential(s) as pending")
    if anchor:
        runtime.anchorer().run_until_idle(timeout=timeout)
        click.echo("anchored and confirmed")
    if out:
        written = write_files(runtime, [a.id for a in accepted], Path(out))
        click.echo(printable(f"wrote {written} credential file(s) to {out}"))


def write_files(runtime: Any, ids: list[str], out: Path) -> int:
    """Write each credential's holder file into ``out``, named from its id but never outside
    ``out`` (:func:`credanchor.issuing.pipeline.holder_file_path`); return how many."""
    from credanchor.issuing.pipeline import holder_file_path

    out.mkdir(parents=True, exist_ok=True)
    store = runtime.store()
    proofs = runtime.proofs()
    taken: set[str] = set()
    n = 0
    for cid in ids:
        document = proofs.credential_file(store.get_credential(cid))
        holder_file_path(out, cid, taken).write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        n += 1
    return n


@main.command()
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
    runtime = obj.runtime()
    runtime.anchorer().run_until_idle(timeout=timeout)
    pending, _ = runtime.store().pending_summary()
    click.echo(f"done; {pending} credential(s) pending")


@main.command()
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
    from credanchor.web.api import REVOCATION_REASONS

    code = REVOCATION_REASONS.get(reason)
    if code is None:
        if not reason.isdigit() or int(reason) > 255:
            raise InvalidInput(f"unknown reason {reason!r}")
        code = int(reason)
    runtime = obj.runtime()
    store = runtime.store()
    if is_batch:
        b = store.get_batch(int(target))
        store.add_revocation(b.issuer_id, "batch", b.root, code)
    else:
        c = store.get_credential(target)
        store.add_revocation(c.issuer_id, "credential", c.credential_hash, code)
    if wait:
        runtime.anchorer().run_until_idle(timeout=300, force_seal=False)
        click.echo("revoked on chain")
    else:
        click.echo("revocation queued")


# -- verifying --------------------------------------------------------------------------------


def iter_credential_files(paths: tuple[str, ...]) -> Iterator[Path]:
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*.json") if q.is_file())
        elif p.exists():
            yield p
        else:
            raise InvalidInput(f"no such file or folder: {p}")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON report per line.")
@click.pass_obj
@handle_errors
def verify(obj: Ctx, paths: tuple[str, ...], as_json: bool) -> None:
    """Verify credential files or folders against the chain.

    Every file gets a line, whatever happens verifying another. Exit status 0 only when every
    credential is VALID; 4 when the chain was unreachable; 1 otherwise (including a file
    that could not be verified at all: ERROR, with the reason).

    \b
    Example:
      credanchor verify badges/ --json
    """
    from credanchor.core.hashing import loads_strict
    from credanchor.core.report import Report, Status
    from credanchor.errors import ChainError

    runtime = obj.runtime()
    verifier = runtime.verifier()
    statuses = []
    chain_trouble = False
    for path in iter_credential_files(paths):
        document: Any = None
        report: Report | None = None
        failing: list[Any] = []
        try:
            document = loads_strict(path.read_bytes())
            report = verifier.verify(document)
            # reasons(): failed checks, or why a PENDING one is not confirmed
            status, failing = report.status, list(report.reasons())
            data = report.to_dict()
            chain_trouble |= status == Status.ERROR  # ERROR checks: the chain did not answer
        except InvalidInput as exc:
            status, data = Status.INVALID, {"error": exc.detail}
        except OSError as exc:
            status, data = Status.INVALID, {"error": f"cannot read the file: {exc.strerror or exc}"}
        except ChainError as exc:  # the verifier turns these into ERROR checks; just in case
            chain_trouble = True
            status, data = Status.ERROR, {"error": f"the chain could not be read: {exc.detail}"}
        except CredanchorError as exc:
            status, data = Status.INVALID, {"error": f"cannot be verified: {exc.detail}"}
        except Exception as exc:  # one odd file must not end a run of thousands
            status, data = Status.ERROR, {"error": "could not be verified (an internal error; "
                                          f"please report it): {type(exc).__name__}: {exc}"}
        if report is None:
            data = {"status": status.value, **data}
        statuses.append(status)
        if as_json:  # json.dumps escapes every control character: safe for a terminal
            click.echo(json.dumps({"file": str(path), **data}))
        else:
            why = "; ".join(f"{c.name}: {c.message}" for c in failing) or data.get("error", "")
            click.echo(printable(f"{status.value:<8} {path}{'  — ' + why if why else ''}"))
            if report is not None and data.get("components"):  # a stacked qualification
                _echo_tree(report, document)
    if not statuses:
        raise InvalidInput("no credential files found")
    if chain_trouble:
        sys.exit(EXIT_CHAIN)
    if any(s != Status.VALID for s in statuses):
        sys.exit(EXIT_INVALID)


def _echo_tree(report: Any, document: Any) -> None:
    """A stacked qualification's components and rule as a tree, below its line."""
    from credanchor.usecases.stacks import tree_lines

    try:
        lines = list(tree_lines(report, document))
    except Exception as exc:  # the verdict is printed already; the tree is extra
        lines = [f"  (its components cannot be shown: {type(exc).__name__}: {exc})"]
    for line in lines:
        click.echo(printable(line))


# -- operating --------------------------------------------------------------------------------


@main.command()
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of the node.")
@click.option("--chain-id", type=int, help="Expected chain id (checked against the node).")
@click.pass_obj
@handle_errors
def deploy(obj: Ctx, rpc_url: str, chain_id: int | None) -> None:
    """Deploy CredentialAnchor with the configured key (it becomes the admin); print its address.

    \b
    Example:
      CREDANCHOR_PRIVATE_KEY=0x… credanchor deploy --rpc http://127.0.0.1:8545
    """
    from credanchor.usecases.issuers import deploy_contract

    result = deploy_contract(obj.settings(rpc_url=rpc_url, chain="rpc", chain_id=chain_id))
    click.echo(result.address)
    click.echo(f"deployed in block {result.deploy_block} on chain {result.chain_id}; set "
               f"CREDANCHOR_CONTRACT_ADDRESS={result.address} "
               f"CREDANCHOR_DEPLOY_BLOCK={result.deploy_block}", err=True)


@main.command()
@click.pass_obj
@handle_errors
def status(obj: Ctx) -> None:
    """Backlog, batches in flight, last anchor, chain head.

    \b
    Example:
      credanchor status
    """
    runtime = obj.runtime()
    store = runtime.store()
    pending, _ = store.pending_summary()
    counts = {s: len(store.list_batches(status=s, limit=1_000_000))
              for s in ("queued", "submitted", "confirmed", "failed")}
    last = store.last_confirmed_batch()
    click.echo(f"chain      {runtime.chain.chain_id} contract {runtime.chain.contract_address} "
               f"head {runtime.chain.head()}")
    click.echo(f"pending    {pending} credential(s)")
    click.echo("batches    " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    click.echo(f"last      {' batch ' + str(last.id) + ' tx ' + str(last.tx_hash) if last else ' none'}")


@main.command()
@click.pass_obj
@handle_errors
def config(obj: Ctx) -> None:
    """Print the effective configuration (secrets masked).

    \b
    Example:
      CREDANCHOR_CHAIN=rpc CREDANCHOR_RPC_URL=http://127.0.0.1:8545 credanchor config
    """
    for key, value in obj.settings().masked().items():
        click.echo(printable(f"{key} = {value}"))  # values may come from a TOML file


# -- stacked qualifications -------------------------------------------------------------------


@main.group()
def stack() -> None:
    """Stackable credentials: publish a stack definition, check a learner's badges against it,
    grant the qualification they add up to (docs/stacking.md).

    \b
    Example:
      credanchor stack publish examples/stack-data-analyst.json --anchor
    """


def _load_components(paths: tuple[str, ...]) -> list[Any]:
    from credanchor.core.hashing import loads_strict

    return [loads_strict(p.read_bytes()) for p in iter_credential_files(paths)]


@stack.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--anchor", is_flag=True, help="Seal, anchor and wait for confirmation.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait with --anchor.")
@click.pass_obj
@handle_errors
def stack_publish(obj: Ctx, file: str, issuer_ref: str, anchor: bool, timeout: float) -> None:
    """Publish the stack definition in FILE (JSON); publishing an existing stack name again
    makes a new version (published versions never change).

    \b
    Example:
      credanchor stack publish examples/stack-data-analyst.json --anchor
    """
    from credanchor.core.hashing import loads_strict
    from credanchor.usecases.stacks import publish

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    published = publish(runtime, found, loads_strict(Path(file).read_bytes()))
    summary = published.summary()
    click.echo(printable(f"published {summary['stack']} version {summary['version']}: "
                         f"{summary['id']}"))
    click.echo(printable(f"definition hash {summary['definitionHash']} ({summary['rule']})"))
    if anchor:
        runtime.anchorer().run_until_idle(timeout=timeout)
        click.echo("anchored and confirmed")


@stack.command("list")
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
@handle_errors
def stack_list(obj: Ctx, issuer_ref: str, as_json: bool) -> None:
    """List an issuer's stack definitions, every version, with their anchoring status.

    \b
    Example:
      credanchor stack list --json
    """
    from credanchor.usecases.stacks import list_stacks

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    for p in list_stacks(runtime, found.id):
        row = p.summary()
        click.echo(json.dumps(row) if as_json else printable(
                   f"{row['stack']:<24} v{row['version']:<3} {row['status']:<9} "
                   f"{row['definitionHash']}  {row['name']} ({row['rule']})"))


@stack.command("check")
@click.argument("stack_id")
@click.argument("paths", nargs=-1, required=True)
@click.option("--recipient", required=True, help="The learner's e-mail address or identifier.")
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--version", type=int, help="Definition version (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="The eligibility answer as JSON.")
@click.pass_obj
@handle_errors
def stack_check(obj: Ctx, stack_id: str, paths: tuple[str, ...], recipient: str,
                issuer_ref: str, version: int | None, as_json: bool) -> None:
    """Check whether the badge files in PATHS earn stack STACK_ID; list what is missing.

    Exit status 0 when eligible, 1 when not.

    \b
    Example:
      credanchor stack check data-analyst badges/ --recipient ada@example.org
    """
    from credanchor.usecases.stacks import check_eligibility

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    result = check_eligibility(runtime, found, stack_id, _load_components(paths), recipient,
                               version=version).to_dict()
    if as_json:
        click.echo(json.dumps(result))
    else:
        # The names, issuers and problems come from the presented files: escaped.
        click.echo(printable(
            f"{'eligible' if result['eligible'] else 'NOT eligible'} for "
            f"{result['stack']} version {result['version']} ({result['name']}: "
            f"{result['rule']}); {result['usable']} usable of {result['required']} required"))
        for line in result["shortfalls"]:
            click.echo(printable(f"  {line}"))
        for m in result["missing"]:
            click.echo(printable(f"  missing: {m['name']} ({m['achievement']}) — {m['reason']}"))
        for c in result["components"]:
            mark = f"fills {c['requirement']}" if c["requirement"] else "not counted"
            why = "; ".join(c["problems"])
            click.echo(printable(f"  #{c['index'] + 1} {c['status'] or '?':<8} {c['name'] or '?'} "
                                 f"({c['issuerName'] or c['issuer'] or '?'}): {mark}"
                                 + (f" — {why}" if why else "")))
    if not result["eligible"]:
        sys.exit(EXIT_INVALID)


@stack.command("issue")
@click.argument("stack_id")
@click.argument("paths", nargs=-1, required=True)
@click.option("--recipient", required=True, help="The learner's e-mail address or identifier.")
@click.option("--name", help="The learner's name, shown on the qualification.")
@click.option("--issuer", "issuer_ref", default="1", show_default=True,
              help="Issuer id or address.")
@click.option("--version", type=int, help="Definition version (default: the latest).")
@click.option("--anchor", is_flag=True, help="Seal, anchor and wait for confirmation.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Write the qualification's file here (needs --anchor).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait with --anchor.")
@click.pass_obj
@handle_errors
def stack_issue(obj: Ctx, stack_id: str, paths: tuple[str, ...], recipient: str,
                name: str | None, issuer_ref: str, version: int | None, anchor: bool,
                out: str | None, timeout: float) -> None:
    """Grant the qualification of stack STACK_ID from the badge files in PATHS; one file then
    carries the qualification, its definition and every component.

    \b
    Example:
      credanchor stack issue data-analyst badges/ --recipient ada@example.org \\
          --name "Ada Lovelace" --anchor --out qualifications/
    """
    from credanchor.usecases.stacks import issue_qualification

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    accepted = issue_qualification(runtime, found, stack_id, _load_components(paths), recipient,
                                   name=name, version=version)
    click.echo(printable(f"accepted qualification {accepted.id} ({accepted.credential_hash}) "
                         "as pending"))
    if anchor:
        runtime.anchorer().run_until_idle(timeout=timeout)
        click.echo("anchored and confirmed")
    if out:
        from credanchor.issuing.pipeline import holder_file_name

        write_files(runtime, [accepted.id], Path(out))
        click.echo(printable(f"wrote {Path(out) / holder_file_name(accepted.id)}"))


# -- auditing ---------------------------------------------------------------------------------
# The auditor's commands live in credanchor.cli.auditor: scripts/audit.py and scripts/export.py run
# the same ones standalone. Under `credanchor` they default to this service's ledger and chain.

from credanchor.cli.auditor import audit_command, export_command  # noqa: E402

main.add_command(audit_command, "audit")
main.add_command(export_command, "export")


if __name__ == "__main__":  # pragma: no cover
    main()
