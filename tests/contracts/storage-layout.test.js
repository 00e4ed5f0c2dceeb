"use strict";

// The storage layout documented in docs/contract.md, read back slot by slot: an anchor and a
// credential revocation each take exactly one slot.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, blockTimestampOf } = require("./helpers");

const SLOT = Object.freeze({ issuers: 1n, anchors: 2n, batchRevocations: 3n, credentialRevocations: 4n });

const coder = ethers.AbiCoder.defaultAbiCoder();
const mappingSlot = (keyType, key, slot) => BigInt(ethers.keccak256(coder.encode([keyType, "uint256"], [key, slot])));

async function word(contract, slot) {
  return BigInt(await ethers.provider.getStorage(await contract.getAddress(), slot));
}

describe("CredentialAnchor: storage layout", function () {
  it("packs an anchor as 1 | anchoredAt << 8 | count << 72 in one slot, keyed by issuer then root", async function () {
    const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
    const root = ethers.id("layout root");
    const count = 0xfedcba98n;
    const at = await blockTimestampOf(await anchor.connect(issuerA).anchor(root, count));
    const slot = mappingSlot("bytes32", root, mappingSlot("address", issuerA.address, SLOT.anchors));
    expect(await word(anchor, slot)).to.equal(1n | (at << 8n) | (count << 72n));
    expect(await word(anchor, slot + 1n)).to.equal(0n);
    const other = mappingSlot("bytes32", root, mappingSlot("address", issuerB.address, SLOT.anchors));
    expect(await word(anchor, other)).to.equal(0n);
  });

  it("packs a credential revocation as revokedAt | reason << 64 | 1 << 72 in one slot", async function () {
    const { anchor, issuerA } = await loadFixture(deployFixture);
    const h = ethers.id("layout credential");
    const at = await blockTimestampOf(await anchor.connect(issuerA).revokeCredential(h, 0xab));
    const inner = mappingSlot("address", issuerA.address, SLOT.credentialRevocations);
    const slot = mappingSlot("bytes32", h, inner);
    expect(await word(anchor, slot)).to.equal(at | (0xabn << 64n) | (1n << 72n));
  });

  it("packs a batch revocation as by | revokedAt << 160 | reason << 224 in one slot, keyed by issuer then root", async function () {
    const { anchor, admin, issuerA, batch } = await loadFixture(deployFixture);
    const at = await blockTimestampOf(await anchor.connect(admin).revokeBatch(issuerA.address, batch.tree.root, 3));
    const inner = mappingSlot("address", issuerA.address, SLOT.batchRevocations);
    const slot = mappingSlot("bytes32", batch.tree.root, inner);
    expect(await word(anchor, slot)).to.equal(BigInt(admin.address) | (at << 160n) | (3n << 224n));
  });

  it("keeps the flags an anchor and a revocation read in the first slot of an issuer record, then name, URI and DID", async function () {
    const { anchor, issuerA, suspended } = await loadFixture(deployFixture);
    const [, , , , accreditedA] = await anchor.issuerInfo(issuerA.address);
    const [, , , , accreditedS, suspendedS] = await anchor.issuerInfo(suspended.address);
    // active (byte 0) | everAccredited (byte 1) | accreditedAt (bytes 2-9) | suspendedAt (bytes 10-17)
    expect(await word(anchor, mappingSlot("address", issuerA.address, SLOT.issuers))).to.equal(
      1n | (1n << 8n) | (accreditedA << 16n),
    );
    expect(await word(anchor, mappingSlot("address", suspended.address, SLOT.issuers))).to.equal(
      0n | (1n << 8n) | (accreditedS << 16n) | (suspendedS << 80n),
    );
    // Strings of 31 bytes or fewer sit in their slot as data | length * 2.
    const base = mappingSlot("address", suspended.address, SLOT.issuers);
    const short = (text) => {
      const bytes = ethers.toUtf8Bytes(text);
      return BigInt(ethers.hexlify(ethers.concat([bytes, new Uint8Array(32 - bytes.length)]))) | BigInt(bytes.length * 2);
    };
    await anchor.updateIssuerProfile(suspended.address, "Name", "https://u.example", "did:web:d.example");
    expect(await word(anchor, base + 1n)).to.equal(short("Name"));
    expect(await word(anchor, base + 2n)).to.equal(short("https://u.example"));
    expect(await word(anchor, base + 3n)).to.equal(short("did:web:d.example"));
  });
});
