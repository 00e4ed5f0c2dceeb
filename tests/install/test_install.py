"""The README's two commands on a fresh machine (issue 12): Python runs only in the project
venv, which holds exactly the versions of requirements/lock.txt, and that lock covers every
requirement pyproject.toml names."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
SLITHER_LOCK = ROOT / "requirements" / "slither-lock.txt"


def pins(path: Path) -> dict[str, Requirement]:
    """name -> pinned requirement, for the lines whose markers hold on this interpreter."""
    out = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            out[canonicalize_name(req.name)] = req
    return out


def pinned_version(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator == "==", f"{req} is not an exact pin"
    return spec.version


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [*project["project"]["dependencies"],
             *project["project"]["optional-dependencies"]["dev"],
             *project["build-system"]["requires"]]
    return [Requirement(n) for n in names]


def test_every_line_of_the_locks_is_an_exact_pin_with_its_regenerating_command():
    for path in (LOCK, SLITHER_LOCK):
        text = path.read_text()
        assert "Regenerate with `make lock`" in text
        assert re.search(r"^#   uv pip compile .* -o requirements/\S+ ", text, re.M)
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith(("#", " "))]
        assert len(lines) > 5
        for line in lines:
            req = Requirement(line)
            pinned_version(req)


def test_the_lock_satisfies_every_requirement_pyproject_names():
    lock = pins(LOCK)
    for req in declared():
        env = {**default_environment(), "extra": ""}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is in pyproject.toml but not in the lock: make lock"
        version = pinned_version(lock[name])
        assert req.specifier.contains(version, prereleases=True), (
            f"lock pins {req.name}=={version}, outside pyproject's {req.specifier}: make lock")


def test_pytest_is_pinned_below_the_release_that_breaks_schemathesis():
    # pytest 9.2.0 made tests/reliability/test_rel_fuzz_openapi.py error out inside
    # schemathesis 4.32.5 ("'Function' object has no attribute '_nodeid'").
    assert pinned_version(pins(LOCK)["pytest"]) == "9.0.3"


def test_this_interpreter_is_the_project_venv_holding_exactly_the_locked_versions():
    # make test-py / .ci/run run pytest as .venv/bin/python: a test run from anywhere else
    # would prove nothing about what `make setup` installs.
    assert sys.prefix != sys.base_prefix, "not running in a virtual environment"
    assert Path(sys.prefix).name == ".venv"
    wrong = {}
    for name, req in pins(LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned_version(req):
            wrong[name] = (installed, pinned_version(req))
    assert wrong == {}


# python, pip or credanchor in a command's position (start of a line or after ; & | ( { `,
# exec, if, then, do, !): found on PATH instead of in .venv/bin.
PYTHON_CALL = re.compile(
    r"(^\s*|[;&|({`]\s*|\b(?:exec|if|then|do|!)\s+)(python3?|pip3?|credanchor)(\s|$)")


def test_make_scripts_and_ci_run_python_only_through_the_venv():
    files = [ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "scripts" / "demo.sh",
             ROOT / "scripts" / "slither.sh"]
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if code.lstrip().startswith("echo") or re.match(r"^[A-Z_]+ [?:]?= ", code):
                continue  # a message, or the Makefile naming the interpreter that makes .venv
            assert not PYTHON_CALL.search(code), f"{path.name}:{n} calls Python off the venv: {line}"
    makefile = (ROOT / "Makefile").read_text()
    assert "PY := $(VENV)/bin/python" in makefile and "VENV := .venv" in makefile
    assert "$(PY) -m pytest" in makefile
    assert "-c $(LOCK)" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "rm -rf .venv .venv-slither" in ci and ci.rstrip().endswith("make test")
