// Writes the CredentialAnchor deployment artifact that the Python service deploys from
// (it has no Node toolchain at run time):
//
//   npx hardhat run scripts/export_artifact.js
//
// writes service/credanchor/artifacts/CredentialAnchor.json. With CREDANCHOR_ARTIFACT_OUT set,
// the artifact goes to that path instead (the Hardhat tests use this to compare a fresh build
// with the committed file, so a stale artifact fails CI).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const hre = require("hardhat");

const CONTRACT_NAME = "CredentialAnchor";
const SOURCE_NAME = "contracts/CredentialAnchor.sol";
const DEFAULT_OUT = path.join("service", "credanchor", "artifacts", "CredentialAnchor.json");

function sha256Hex(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * sha256 of each of the project's own sources the contract is built from (the contract and
 * the interface it implements; OpenZeppelin is pinned by package-lock.json), sorted by path.
 */
function projectSources(buildInfo) {
  const out = {};
  for (const name of Object.keys(buildInfo.input.sources).sort()) {
    if (name.startsWith("contracts/")) out[name] = sha256Hex(path.join(hre.config.paths.root, name));
  }
  return out;
}

/** The artifact object, keys in a fixed order so that the file is stable. */
async function buildArtifact() {
  await hre.run("compile", { quiet: true });
  const artifact = await hre.artifacts.readArtifact(`${SOURCE_NAME}:${CONTRACT_NAME}`);
  const buildInfo = await hre.artifacts.getBuildInfo(`${SOURCE_NAME}:${CONTRACT_NAME}`);
  const { settings } = buildInfo.input;
  return {
    contractName: artifact.contractName,
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    deployedBytecode: artifact.deployedBytecode,
    solcVersion: buildInfo.solcVersion,
    solcLongVersion: buildInfo.solcLongVersion,
    evmVersion: settings.evmVersion,
    viaIR: settings.viaIR === true,
    optimizer: { enabled: settings.optimizer.enabled, runs: settings.optimizer.runs },
    sources: projectSources(buildInfo),
  };
}

async function main() {
  const out = process.env.CREDANCHOR_ARTIFACT_OUT || path.join(hre.config.paths.root, DEFAULT_OUT);
  const artifact = await buildArtifact();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(artifact, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out) || out}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
