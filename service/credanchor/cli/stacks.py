"""Stacked qualifications: ``stack publish|list|check|issue`` (docs/stacking.md).

Thin: parse, call :mod:`credanchor.usecases.stacks`, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from credanchor.cli.context import Ctx
from credanchor.cli.errors import EXIT_INVALID, handle_errors
from credanchor.core.terminal import printable


@click.group()
def stack() -> None:
    """Stackable credentials: publish a stack definition, check a learner's badges against it,
    grant the qualification they add up to (docs/stacking.md).

    \b
    Example:
      credanchor stack publish examples/stack-data-analyst.json --anchor
    """


def _load_components(paths: tuple[str, ...]) -> list[Any]:
    from credanchor.core.hashing import loads_strict
    from credanchor.verify.bulk import collect_paths

    return [loads_strict(p.read_bytes()) for p in collect_paths(paths)]


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
                issuer_ref: str, version: int | None, as_json: bool) -> int | None:
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
        return EXIT_INVALID
    return None


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
        from credanchor.issuing.holder_files import holder_file_name
        from credanchor.usecases.issuing import write_holder_files

        write_holder_files(runtime, [accepted.id], Path(out))
        click.echo(printable(f"wrote {Path(out) / holder_file_name(accepted.id)}"))


COMMANDS = (stack,)
