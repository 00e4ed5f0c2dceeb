"""The compiled CredentialAnchor contract, shipped as package data.

The artifact is written by ``npx hardhat run scripts/export_artifact.js`` and committed, so the
service deploys and talks to the contract without a Node toolchain at run time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

from credanchor.errors import ConfigError

CONTRACT_NAME = "CredentialAnchor"
_REQUIRED = ("contractName", "abi", "bytecode", "deployedBytecode", "solcVersion", "sources")


@dataclass(frozen=True)
class Artifact:
    contract_name: str
    abi: tuple[Mapping[str, Any], ...] = field(repr=False)
    bytecode: bytes = field(repr=False)
    deployed_bytecode: bytes = field(repr=False)
    solc_version: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)  # path -> sha256 of the source

    @property
    def abi_list(self) -> list[dict[str, Any]]:
        """A fresh mutable copy, for APIs (web3) that want a list of dicts."""
        return [dict(entry) for entry in self.abi]

    @property
    def deployed_code_hash(self) -> str:
        return hashlib.sha256(self.deployed_bytecode).hexdigest()


def parse_artifact(document: Mapping[str, Any], origin: str = "artifact") -> Artifact:
    missing = [key for key in _REQUIRED if key not in document]
    if missing:
        raise ConfigError(f"{origin} lacks {', '.join(missing)}; rebuild it (make compile)")
    try:
        bytecode = bytes(HexBytes(document["bytecode"]))
        deployed = bytes(HexBytes(document["deployedBytecode"]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin} has malformed bytecode: {exc}") from exc
    if not bytecode:
        raise ConfigError(f"{origin} has empty bytecode (abstract contract or failed build?)")
    return Artifact(
        contract_name=str(document["contractName"]),
        abi=tuple(document["abi"]),
        bytecode=bytecode,
        deployed_bytecode=deployed,
        solc_version=str(document["solcVersion"]),
        sources=dict(document["sources"]),
    )


def load_artifact(path: Path | None = None) -> Artifact:
    """The packaged CredentialAnchor artifact, or the one at ``path``."""
    try:
        if path is not None:
            text = Path(path).read_text()
            origin = str(path)
        else:
            resource = resources.files("credanchor") / "artifacts" / f"{CONTRACT_NAME}.json"
            text = resource.read_text()
            origin = f"package artifact {CONTRACT_NAME}.json"
    except FileNotFoundError:
        raise ConfigError(
            f"the {CONTRACT_NAME} artifact is missing; build it with "
            "`npx hardhat run scripts/export_artifact.js`"
        ) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{origin} is not valid JSON: {exc}") from exc
    return parse_artifact(document, origin)
