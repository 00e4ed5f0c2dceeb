"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, blockTimestampOf, credentialHashes, buildTree, leafOf, nodeProof, didOf, Status } = require("./helpers");

describe("CredentialAnchor: verify", function () {
  describe("trees built by @openzeppelin/merkle-tree", function () {
    for (const size of [1, 2, 3, 7, 1000]) {
      it(`accepts every proof of a batch of ${size} and rejects each proof against a wrong credential`, async function () {
        const { anchor, issuerA } = await loadFixture(deployFixture);
        const hashes = credentialHashes(size, `size-${size}`);
        const tree = buildTree(hashes);
        const at = await blockTimestampOf(await anchor.connect(issuerA).anchor(tree.root, size));
        const outsiderHash = ethers.id(`not in batch ${size}`);
        const { values } = tree.dump();
        for (const [i, h] of hashes.entries()) {
          const proof = tree.getProof(i);
          // One sibling per level between the leaf and the root.
          expect(proof.length).to.equal(Math.floor(Math.log2(values[i].treeIndex + 1)));
          expect(await anchor.verify(issuerA.address, h, proof, tree.root)).to.deep.equal([Status.Valid, at, true]);
          if (i < 3 || i === size - 1) {
            expect(await anchor.verify(issuerA.address, outsiderHash, proof, tree.root)).to.deep.equal([
              Status.InvalidProof,
              at,
              true,
            ]);
          }
        }
      });
    }

    it("rejects a valid proof of one batch against another anchored root", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const other = buildTree(credentialHashes(7, "other"));
      await anchor.connect(issuerA).anchor(other.root, 7);
      const result = await anchor.verify(issuerA.address, batch.hashes[0], batch.tree.getProof(0), other.root);
      expect(result.status).to.equal(Status.InvalidProof);
    });

    it("rejects a tampered proof and a truncated proof", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const verify = (...args) => anchor.verify(issuerA.address, ...args);
      const proof = batch.tree.getProof(4);
      const tampered = [...proof];
      tampered[1] = ethers.id("tampered");
      expect((await verify(batch.hashes[4], tampered, batch.tree.root)).status).to.equal(Status.InvalidProof);
      expect((await verify(batch.hashes[4], proof.slice(0, -1), batch.tree.root)).status).to.equal(Status.InvalidProof);
      expect((await verify(batch.hashes[4], [], batch.tree.root)).status).to.equal(Status.InvalidProof);
    });
  });

  describe("domain separation of leaves", function () {
    it("refuses an inner node of a real tree passed as a credentialHash with its sub-proof", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const [, anchoredAt] = await anchor.anchorOf(issuerA.address, batch.tree.root);
      const flat = batch.tree.dump().tree; // root at 0, 7 leaves at 6..12, inner nodes at 1..5
      for (const innerIndex of [1, 2, 3, 4, 5]) {
        const inner = flat[innerIndex];
        const subProof = nodeProof(flat, innerIndex);
        // The sub-proof really does lead from this node to the root...
        let node = inner;
        for (const sibling of subProof) {
          const [a, b] = [node, sibling].sort();
          node = ethers.keccak256(ethers.concat([a, b]));
        }
        expect(node).to.equal(batch.tree.root);
        // ...but the contract derives the leaf from the hash, so the node is not a credential.
        expect(await anchor.verify(issuerA.address, inner, subProof, batch.tree.root)).to.deep.equal([
          Status.InvalidProof,
          anchoredAt,
          true,
        ]);
      }
    });

    it("refuses a leaf hash passed as a credentialHash", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const leaf = leafOf(batch.hashes[0]);
      const proof = batch.tree.getProof(0);
      expect((await anchor.verify(issuerA.address, leaf, proof, batch.tree.root)).status).to.equal(Status.InvalidProof);
      expect((await anchor.verify(issuerA.address, batch.hashes[0], proof, batch.tree.root)).status).to.equal(
        Status.Valid,
      );
    });
  });

  describe("status codes and their order", function () {
    it("returns NotAnchored with no time for a root never anchored, and the issuer's accreditation", async function () {
      const { anchor, issuerA, outsider, batch } = await loadFixture(deployFixture);
      const stray = buildTree(credentialHashes(3, "stray"));
      expect(await anchor.verify(issuerA.address, batch.hashes[0], stray.getProof(0), stray.root)).to.deep.equal([
        Status.NotAnchored,
        0n,
        true,
      ]);
      expect(await anchor.verify(outsider.address, batch.hashes[0], stray.getProof(0), stray.root)).to.deep.equal([
        Status.NotAnchored,
        0n,
        false,
      ]);
    });

    it("returns NotAnchored for a real batch asked about under an issuer that did not anchor it", async function () {
      const { anchor, issuerB, batch } = await loadFixture(deployFixture);
      // Issuer A anchored it; B's name on the credential would be a lie the chain does not back.
      expect(await anchor.verify(issuerB.address, batch.hashes[0], batch.tree.getProof(0), batch.tree.root)).to.deep.equal([
        Status.NotAnchored,
        0n,
        true,
      ]);
    });

    it("reports CredentialRevoked for the issuer's revoked credential only", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const [, anchoredAt] = await anchor.anchorOf(issuerA.address, batch.tree.root);
      await anchor.connect(issuerA).revokeCredential(batch.hashes[5], 1);
      expect(await anchor.verify(issuerA.address, batch.hashes[5], batch.tree.getProof(5), batch.tree.root)).to.deep.equal([
        Status.CredentialRevoked,
        anchoredAt,
        true,
      ]);
      expect(
        (await anchor.verify(issuerA.address, batch.hashes[6], batch.tree.getProof(6), batch.tree.root)).status,
      ).to.equal(Status.Valid);
    });

    it("reports BatchRevoked for every credential of the batch, before CredentialRevoked", async function () {
      const { anchor, admin, issuerA, batch } = await loadFixture(deployFixture);
      await anchor.connect(issuerA).revokeCredential(batch.hashes[0], 1);
      await anchor.connect(admin).revokeBatch(issuerA.address, batch.tree.root, 1);
      const [, anchoredAt] = await anchor.anchorOf(issuerA.address, batch.tree.root);
      for (const [i, h] of batch.hashes.entries()) {
        const result = await anchor.verify(issuerA.address, h, batch.tree.getProof(i), batch.tree.root);
        expect(result).to.deep.equal([Status.BatchRevoked, anchoredAt, true]);
      }
    });

    it("reports InvalidProof before any revocation", async function () {
      const { anchor, issuerA, batch } = await loadFixture(deployFixture);
      const wrong = ethers.id("wrong");
      await anchor.connect(issuerA).revokeCredential(wrong, 1);
      await anchor.connect(issuerA).revokeBatch(issuerA.address, batch.tree.root, 1);
      expect((await anchor.verify(issuerA.address, wrong, batch.tree.getProof(0), batch.tree.root)).status).to.equal(
        Status.InvalidProof,
      );
    });

    it("stays Valid with issuerActive false after the issuer is suspended, and true again after re-accreditation", async function () {
      const { anchor, admin, issuerA, batch } = await loadFixture(deployFixture);
      const [, anchoredAt] = await anchor.anchorOf(issuerA.address, batch.tree.root);
      const verify = (...args) => anchor.verify(issuerA.address, ...args);
      await anchor.connect(admin).suspendIssuer(issuerA.address);
      expect(await verify(batch.hashes[1], batch.tree.getProof(1), batch.tree.root)).to.deep.equal([
        Status.Valid,
        anchoredAt,
        false,
      ]);
      expect(await verify(ethers.id("x"), batch.tree.getProof(1), batch.tree.root)).to.deep.equal([
        Status.InvalidProof,
        anchoredAt,
        false,
      ]);
      await anchor.connect(admin).accreditIssuer(issuerA.address, "Issuer A", "", didOf(issuerA.address));
      expect((await verify(batch.hashes[1], batch.tree.getProof(1), batch.tree.root)).issuerActive).to.equal(true);
    });

    it("exposes the enum order 0..4 in the ABI", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const fragment = anchor.interface.getFunction("verify");
      expect(fragment.inputs.map((o) => [o.name, o.type])).to.deep.equal([
        ["issuer", "address"],
        ["credentialHash", "bytes32"],
        ["proof", "bytes32[]"],
        ["root", "bytes32"],
      ]);
      expect(fragment.outputs.map((o) => [o.name, o.type])).to.deep.equal([
        ["status", "uint8"],
        ["anchoredAt", "uint64"],
        ["issuerActive", "bool"],
      ]);
      expect(Object.values(Status)).to.deep.equal([0n, 1n, 2n, 3n, 4n]);
    });
  });
});
