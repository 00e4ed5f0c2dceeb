// Shared fixture and Merkle helpers for the CredentialAnchor tests (defines no tests itself).
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { ethers } = require("hardhat");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const ROOT_DIR = path.join(__dirname, "..", "..");
const ARTIFACT_PATH = path.join(ROOT_DIR, "service", "credanchor", "artifacts", "CredentialAnchor.json");

const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** Mirrors the contract's `Status` enum. */
const Status = Object.freeze({ Valid: 0n, NotAnchored: 1n, InvalidProof: 2n, CredentialRevoked: 3n, BatchRevoked: 4n });

/** The DID an issuer names itself by today (did:pkh of its account on the Hardhat chain). */
function didOf(address) {
  return `did:pkh:eip155:31337:${address}`;
}

/** `n` distinct, deterministic credential hashes; `label` keeps different batches apart. */
function credentialHashes(n, label = "batch") {
  return Array.from({ length: n }, (_, i) => ethers.keccak256(ethers.toUtf8Bytes(`credanchor-test-${label}-${i}`)));
}

/** The tree the issuer side builds: StandardMerkleTree over `[credentialHash]` leaves. */
function buildTree(hashes) {
  return StandardMerkleTree.of(
    hashes.map((h) => [h]),
    ["bytes32"],
  );
}

/** keccak256(bytes.concat(keccak256(abi.encode(credentialHash)))), computed off chain. */
function leafOf(credentialHash) {
  const inner = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32"], [credentialHash]));
  return ethers.keccak256(inner);
}

/**
 * Proof of an arbitrary node (leaf or inner) of a tree in the `standard-v1` flat layout:
 * children of i are 2i+1 and 2i+2, so the sibling of i is i-1 (i even) or i+1 (i odd).
 */
function nodeProof(flatTree, index) {
  const proof = [];
  for (let i = index; i > 0; i = Math.floor((i - 1) / 2)) {
    proof.push(flatTree[i % 2 === 0 ? i - 1 : i + 1]);
  }
  return proof;
}

function readShippedArtifact() {
  return JSON.parse(fs.readFileSync(ARTIFACT_PATH, "utf8"));
}

/**
 * The one fixture: a freshly compiled CredentialAnchor (instrumented under `hardhat coverage`)
 * with issuers A and B accredited, one suspended issuer, and a batch of 7 credentials anchored
 * by A; plus a deployment of the committed artifact with only A accredited, which is the exact
 * bytecode the Python service ships and the one the gas bounds are measured on.
 */
async function deployFixture() {
  const [admin, issuerA, issuerB, outsider, suspended] = await ethers.getSigners();
  const anchor = await ethers.deployContract("CredentialAnchor", admin);
  await anchor.waitForDeployment();
  await anchor.accreditIssuer(issuerA.address, "Issuer A", "https://a.example/issuer.json", didOf(issuerA.address));
  await anchor.accreditIssuer(issuerB.address, "Issuer B", "https://b.example/issuer.json", didOf(issuerB.address));
  await anchor.accreditIssuer(suspended.address, "Suspended issuer", "", didOf(suspended.address));
  await anchor.suspendIssuer(suspended.address);
  const batchHashes = credentialHashes(7, "fixture-batch");
  const batchTree = buildTree(batchHashes);
  await anchor.connect(issuerA).anchor(batchTree.root, batchHashes.length);

  const artifact = readShippedArtifact();
  const shippedFactory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, admin);
  const shipped = await shippedFactory.deploy();
  const shippedDeployReceipt = await shipped.deploymentTransaction().wait();
  await shipped.accreditIssuer(issuerA.address, "Issuer A", "https://a.example/issuer.json", didOf(issuerA.address));

  return {
    anchor,
    shipped,
    shippedDeployReceipt,
    admin,
    issuerA,
    issuerB,
    outsider,
    suspended,
    batch: { hashes: batchHashes, tree: batchTree },
  };
}

/** Timestamp of the block that included `tx`. */
async function blockTimestampOf(tx) {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt.blockNumber);
  return BigInt(block.timestamp);
}

module.exports = {
  ROOT_DIR,
  ARTIFACT_PATH,
  DEFAULT_ADMIN_ROLE,
  Status,
  didOf,
  credentialHashes,
  buildTree,
  leafOf,
  nodeProof,
  readShippedArtifact,
  deployFixture,
  blockTimestampOf,
};
