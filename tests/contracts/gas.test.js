"use strict";

// Gas bounds, measured with receipts' gasUsed on the committed artifact (the bytecode the
// Python service deploys; artifact.test.js proves it equals a fresh build). Run
//   npx hardhat test tests/contracts/gas.test.js
// to print the figures quoted in docs/contract.md.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, buildTree, credentialHashes, didOf } = require("./helpers");

const ANCHOR_LIMIT = 50_000n;
const ANCHOR_AIM = 48_500n; // OpenAttestation DocumentStore.issue: 48,168 for a bare bool
const REVOKE_LIMIT = 50_000n;
const BULK_PER_HASH_LIMIT = 25_000n;

/**
 * Deterministic bytes32 values without a zero byte: calldata costs 16 gas per non-zero byte
 * and 4 per zero byte, so these are the most expensive roots and hashes to send.
 */
function worstCaseWords(n, label) {
  const words = [];
  for (let i = 0; words.length < n; i += 1) {
    const word = ethers.id(`gas-${label}-${i}`);
    if (!/^(?:[0-9a-f]{2})*?00/.test(word.slice(2))) words.push(word);
  }
  return words;
}

async function gasOf(txPromise) {
  return (await (await txPromise).wait()).gasUsed;
}

const measured = {};

describe("CredentialAnchor: gas (committed artifact)", function () {
  after(function () {
    console.log("\n      gas measured (receipts' gasUsed, committed artifact):");
    for (const [what, gas] of Object.entries(measured)) {
      console.log(`        ${what.padEnd(44)} ${gas.toLocaleString("en-US").padStart(10)}`);
    }
  });

  it("deploys for under 2,000,000 gas", async function () {
    const { shippedDeployReceipt } = await loadFixture(deployFixture);
    measured["deploy"] = shippedDeployReceipt.gasUsed;
    expect(shippedDeployReceipt.gasUsed).to.be.lessThan(2_000_000n);
  });

  for (const count of [1n, 7n, 1000n, 65_535n, 2n ** 32n - 1n]) {
    it(`anchors a batch of ${count} for at most ${ANCHOR_AIM} gas (limit ${ANCHOR_LIMIT})`, async function () {
      const { shipped, issuerA } = await loadFixture(deployFixture);
      const [root] = worstCaseWords(1, `anchor-${count}`);
      const gas = await gasOf(shipped.connect(issuerA).anchor(root, count));
      measured[`anchor(root, ${count})`] = gas;
      expect(gas).to.be.at.most(ANCHOR_LIMIT);
      expect(gas).to.be.at.most(ANCHOR_AIM);
      expect((await shipped.anchorOf(issuerA.address, root)).count).to.equal(count);
    });
  }

  it(`revokes one credential for at most ${REVOKE_LIMIT} gas`, async function () {
    const { shipped, issuerA } = await loadFixture(deployFixture);
    const [h] = worstCaseWords(1, "revoke");
    const gas = await gasOf(shipped.connect(issuerA).revokeCredential(h, 255));
    measured["revokeCredential"] = gas;
    expect(gas).to.be.at.most(REVOKE_LIMIT);
    expect((await shipped.credentialRevocation(issuerA.address, h)).reason).to.equal(255n);
  });

  it(`revokes 100 credentials in one call for at most ${BULK_PER_HASH_LIMIT} gas per hash`, async function () {
    const { shipped, issuerA } = await loadFixture(deployFixture);
    const hashes = worstCaseWords(100, "bulk");
    const gas = await gasOf(shipped.connect(issuerA).revokeCredentials(hashes, 255));
    measured["revokeCredentials(100 hashes), total"] = gas;
    measured["revokeCredentials(100 hashes), per hash"] = gas / 100n;
    expect(gas).to.be.at.most(BULK_PER_HASH_LIMIT * 100n);
    for (const h of hashes) {
      expect((await shipped.credentialRevocation(issuerA.address, h)).reason).to.equal(255n);
    }
  });

  it("reports the gas of the other transactions and of verify (as a transaction would pay it)", async function () {
    const { shipped, admin, issuerA, outsider } = await loadFixture(deployFixture);
    const [root] = worstCaseWords(1, "batch-root");
    await shipped.connect(issuerA).anchor(root, 10);
    measured["revokeBatch"] = await gasOf(shipped.connect(issuerA).revokeBatch(issuerA.address, root, 1));
    const did = didOf(outsider.address); // 62 bytes
    measured["accreditIssuer (name 10, URI 30, DID 62 B)"] = await gasOf(
      shipped.connect(admin).accreditIssuer(outsider.address, "Issuer XYZ", "https://issuer.example/xyz.json", did),
    );
    measured["updateIssuerProfile (same sizes)"] = await gasOf(
      shipped.connect(admin).updateIssuerProfile(outsider.address, "Issuer XYZ", "https://issuer.example/xy2.json", did),
    );
    measured["suspendIssuer"] = await gasOf(shipped.connect(admin).suspendIssuer(outsider.address));
    measured["accreditIssuer again (reactivation)"] = await gasOf(
      shipped.connect(admin).accreditIssuer(outsider.address, "Issuer XYZ", "https://issuer.example/xy2.json", did),
    );

    const hashes = credentialHashes(1000, "gas-verify");
    const tree = buildTree(hashes);
    await shipped.connect(issuerA).anchor(tree.root, hashes.length);
    const estimate = await shipped.verify.estimateGas(issuerA.address, hashes[0], tree.getProof(0), tree.root);
    measured["verify, 1000-credential batch (estimateGas)"] = estimate;
    expect(estimate).to.be.lessThan(50_000n);
    for (const value of Object.values(measured)) expect(value).to.be.greaterThan(0n);
  });
});
