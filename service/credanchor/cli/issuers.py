"""The operator's commands for issuers and the contract: ``issuer add|key|list|show|rotate-key|
fund|suspend|reactivate``, ``deploy`` and ``config``.

Thin: parse, call :mod:`credanchor.usecases.issuers`, print.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from credanchor.cli.context import Ctx
from credanchor.cli.errors import handle_errors
from credanchor.core.terminal import printable


@click.group()
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
               "accredited": facts.active, "onChainName": facts.name, "did": i.did}
        click.echo(json.dumps(row) if as_json else printable(
                   f"{i.id:>3}  {i.address}  {i.status:<9}  "
                   f"{'accredited' if facts.active else 'NOT accredited':<14}  {i.name}"))


@issuer.command("show")
@click.argument("issuer_ref")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.pass_obj
@handle_errors
def issuer_show(obj: Ctx, issuer_ref: str, as_json: bool) -> None:
    """Show an issuer (id or address): its signing DID, where its DID document and status
    lists are served, and its signing keys.

    \b
    Example:
      credanchor issuer show 1
    """
    from credanchor.core.timefmt import format_datetime
    from credanchor.errors import KeyUnavailable
    from credanchor.usecases.issuer_identity import key_ring, public_base_url

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    keys: list[dict[str, str | None]] = []
    if found.did:
        try:
            keys = [{"publicKeyMultibase": k.public_multibase,
                     "created": format_datetime(k.created),
                     "retired": format_datetime(k.retired) if k.retired else None}
                    for k in key_ring(runtime, found).list_keys()]
        except KeyUnavailable as exc:  # the ring is gone or unreadable: say so, show the rest
            click.echo(printable(f"warning: {exc.detail}"), err=True)
    did_document = None
    if found.did and found.did.startswith("did:web:"):
        from credanchor.core.multikey import did_web_url

        did_document = did_web_url(found.did)
    row = {"id": found.id, "name": found.name, "address": found.address,
           "status": found.status, "did": found.did, "didDocument": did_document,
           "statusLists": f"{public_base_url(runtime)}/status/{found.id}/" if found.did else None,
           "keys": keys}
    if as_json:
        click.echo(json.dumps(row))
        return
    click.echo(printable(f"issuer {found.id}: {found.name} ({found.address}), {found.status}"))
    click.echo(printable(f"did: {found.did or 'none: unsigned badges, named by did:pkh'}"))
    if did_document:
        click.echo(printable(f"DID document: {did_document}"))
    if row["statusLists"]:
        click.echo(printable(f"status lists: {row['statusLists']}<n>"))
    for k in keys:
        state = f"retired {k['retired']}" if k["retired"] else "current"
        click.echo(printable(f"key {k['publicKeyMultibase']}  created {k['created']}  {state}"))


@issuer.command("rotate-key")
@click.argument("issuer_ref")
@click.pass_obj
@handle_errors
def issuer_rotate_key(obj: Ctx, issuer_ref: str) -> None:
    """Give a did:web issuer (id or address) a new signing key; the old one is retired now and
    stays in its DID document, so the badges it signed keep verifying. A did:key issuer cannot
    rotate: its DID is its key.

    \b
    Example:
      credanchor issuer rotate-key 1
    """
    from credanchor.usecases.issuer_identity import rotate_key

    runtime = obj.runtime()
    found = runtime.store().find_issuer(issuer_ref)
    info = rotate_key(runtime, found)
    click.echo(printable(f"issuer {found.id} ({found.did}) now signs with key "
                         f"{info.public_multibase}; the previous key is retired"))


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


@click.command()
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


@click.command()
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


COMMANDS = (issuer, deploy, config)
