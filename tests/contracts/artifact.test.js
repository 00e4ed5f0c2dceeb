"use strict";

// The Python service deploys service/credanchor/artifacts/CredentialAnchor.json without Node:
// it must be exactly what the current sources and compiler settings produce. The fresh build
// runs in a separate Hardhat process so that `hardhat coverage` (which instruments the
// contract in this one) checks the real, uninstrumented build too.
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { expect } = require("chai");
const { ROOT_DIR, ARTIFACT_PATH, readShippedArtifact } = require("./helpers");

const REGENERATE = "npx hardhat run scripts/export_artifact.js";

function freshArtifactText() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "credanchor-artifact-"));
  const out = path.join(dir, "CredentialAnchor.json");
  try {
    const env = { ...process.env, CREDANCHOR_ARTIFACT_OUT: out };
    delete env.HARDHAT_NETWORK;
    execFileSync(process.execPath, [require.resolve("hardhat/internal/cli/cli.js"), "run", "scripts/export_artifact.js"], {
      cwd: ROOT_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return fs.readFileSync(out, "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("CredentialAnchor: committed artifact for Python", function () {
  let fresh;
  let shipped;

  before(function () {
    this.timeout(180_000);
    fresh = JSON.parse(freshArtifactText());
    shipped = readShippedArtifact();
  });

  it(`has the ABI of a fresh build (regenerate with \`${REGENERATE}\`)`, function () {
    expect(shipped.contractName).to.equal("CredentialAnchor");
    expect(shipped.abi).to.deep.equal(fresh.abi);
  });

  it(`has the bytecode and deployed bytecode of a fresh build (regenerate with \`${REGENERATE}\`)`, function () {
    expect(shipped.bytecode).to.match(/^0x[0-9a-f]+$/);
    expect(shipped.bytecode).to.equal(fresh.bytecode);
    expect(shipped.deployedBytecode).to.equal(fresh.deployedBytecode);
  });

  it("records the compiler settings and the sha256 of the contract and interface sources", function () {
    const sha256 = (name) => crypto.createHash("sha256").update(fs.readFileSync(path.join(ROOT_DIR, name))).digest("hex");
    expect(shipped.sources).to.deep.equal({
      "contracts/CredentialAnchor.sol": sha256("contracts/CredentialAnchor.sol"),
      "contracts/ICredentialAnchor.sol": sha256("contracts/ICredentialAnchor.sol"),
    });
    expect(shipped.solcVersion).to.equal("0.8.30");
    expect(shipped.evmVersion).to.equal("prague");
    expect(shipped.optimizer).to.deep.equal({ enabled: true, runs: 1_000_000 });
    expect(shipped.viaIR).to.equal(true);
  });

  it("is byte for byte the file the export script writes (stable keys and formatting)", function () {
    expect(fs.readFileSync(ARTIFACT_PATH, "utf8")).to.equal(`${JSON.stringify(fresh, null, 2)}\n`);
  });
});
