"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, blockTimestampOf, credentialHashes, buildTree, Status } = require("./helpers");

const REASON_SUPERSEDED = 4;
const REASON_KEY_COMPROMISE = 1;

describe("CredentialAnchor: revocation", function () {
  describe("revokeCredential", function () {
    it("records the revocation under the caller and emits CredentialRevoked", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const [h] = credentialHashes(1);
      const tx = anchor.connect(issuerA).revokeCredential(h, REASON_SUPERSEDED);
      await expect(tx).to.emit(anchor, "CredentialRevoked").withArgs(issuerA.address, h, REASON_SUPERSEDED);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.credentialRevocation(issuerA.address, h)).to.deep.equal([at, BigInt(REASON_SUPERSEDED)]);
      expect(await anchor.credentialRevocation(issuerB.address, h)).to.deep.equal([0n, 0n]);
    });

    it("keeps reason 0 and reason 255 as given", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [h0, h255] = credentialHashes(2);
      await expect(anchor.connect(issuerA).revokeCredential(h0, 0))
        .to.emit(anchor, "CredentialRevoked")
        .withArgs(issuerA.address, h0, 0);
      await expect(anchor.connect(issuerA).revokeCredential(h255, 255))
        .to.emit(anchor, "CredentialRevoked")
        .withArgs(issuerA.address, h255, 255);
      const [at0, reason0] = await anchor.credentialRevocation(issuerA.address, h0);
      const [at255, reason255] = await anchor.credentialRevocation(issuerA.address, h255);
      expect(at0).to.be.greaterThan(0n);
      expect(reason0).to.equal(0n);
      expect(at255).to.be.greaterThan(at0);
      expect(reason255).to.equal(255n);
    });

    it("reverts when the caller already revoked the hash, keeping the first record", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [h] = credentialHashes(1);
      const at = await blockTimestampOf(await anchor.connect(issuerA).revokeCredential(h, 2));
      await expect(anchor.connect(issuerA).revokeCredential(h, 3))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorCredentialAlreadyRevoked")
        .withArgs(issuerA.address, h);
      expect(await anchor.credentialRevocation(issuerA.address, h)).to.deep.equal([at, 2n]);
    });

    it("lets a suspended issuer revoke", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const [h] = credentialHashes(1);
      await expect(anchor.connect(suspended).revokeCredential(h, 1))
        .to.emit(anchor, "CredentialRevoked")
        .withArgs(suspended.address, h, 1);
    });

    it("refuses an address never accredited, admin included", async function () {
      const { anchor, outsider, admin } = await loadFixture(deployFixture);
      const [h] = credentialHashes(1);
      await expect(anchor.connect(outsider).revokeCredential(h, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNeverAccredited")
        .withArgs(outsider.address);
      await expect(anchor.connect(admin).revokeCredential(h, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNeverAccredited")
        .withArgs(admin.address);
    });
  });

  describe("revokeCredentials", function () {
    it("revokes every hash, one event each, all under the caller with the same time and reason", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const hashes = credentialHashes(4);
      const tx = anchor.connect(issuerA).revokeCredentials(hashes, 7);
      for (const h of hashes) {
        await expect(tx).to.emit(anchor, "CredentialRevoked").withArgs(issuerA.address, h, 7);
      }
      const receipt = await (await tx).wait();
      expect(receipt.logs.length).to.equal(4);
      const at = await blockTimestampOf(await tx);
      for (const h of hashes) {
        expect(await anchor.credentialRevocation(issuerA.address, h)).to.deep.equal([at, 7n]);
      }
    });

    it("skips hashes already revoked and duplicates, without an event for them, and keeps their first record", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [old, fresh1, fresh2] = credentialHashes(3);
      const oldAt = await blockTimestampOf(await anchor.connect(issuerA).revokeCredential(old, 1));
      const tx = await anchor.connect(issuerA).revokeCredentials([old, fresh1, fresh1, fresh2, old], 2);
      const receipt = await tx.wait();
      const events = receipt.logs.map((log) => anchor.interface.parseLog(log));
      expect(events.map((e) => [e.name, e.args.issuer, e.args.credentialHash, e.args.reason])).to.deep.equal([
        ["CredentialRevoked", issuerA.address, fresh1, 2n],
        ["CredentialRevoked", issuerA.address, fresh2, 2n],
      ]);
      expect(await anchor.credentialRevocation(issuerA.address, old)).to.deep.equal([oldAt, 1n]);
      const [fresh1At, fresh1Reason] = await anchor.credentialRevocation(issuerA.address, fresh1);
      expect(fresh1At).to.be.greaterThan(oldAt);
      expect(fresh1Reason).to.equal(2n);
    });

    it("makes a retried list harmless: no event, no change", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const hashes = credentialHashes(3);
      const at = await blockTimestampOf(await anchor.connect(issuerA).revokeCredentials(hashes, 5));
      const retry = anchor.connect(issuerA).revokeCredentials(hashes, 6);
      await expect(retry).not.to.emit(anchor, "CredentialRevoked");
      expect((await (await retry).wait()).logs).to.deep.equal([]);
      for (const h of hashes) {
        expect(await anchor.credentialRevocation(issuerA.address, h)).to.deep.equal([at, 5n]);
      }
    });

    it("reverts on an empty list", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      await expect(anchor.connect(issuerA).revokeCredentials([], 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyList")
        .withArgs();
    });

    it("lets a suspended issuer revoke in bulk", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const hashes = credentialHashes(2);
      const tx = anchor.connect(suspended).revokeCredentials(hashes, 3);
      await expect(tx).to.emit(anchor, "CredentialRevoked").withArgs(suspended.address, hashes[0], 3);
      await expect(tx).to.emit(anchor, "CredentialRevoked").withArgs(suspended.address, hashes[1], 3);
    });

    it("refuses an address never accredited", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.connect(outsider).revokeCredentials(credentialHashes(2), 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNeverAccredited")
        .withArgs(outsider.address);
    });
  });

  describe("revokeBatch", function () {
    it("lets the root's issuer revoke its batch and emits BatchRevoked", async function () {
      const { anchor, issuerA, batch: { tree } } = await loadFixture(deployFixture);
      const tx = anchor.connect(issuerA).revokeBatch(issuerA.address, tree.root, REASON_SUPERSEDED);
      await expect(tx)
        .to.emit(anchor, "BatchRevoked")
        .withArgs(tree.root, issuerA.address, issuerA.address, REASON_SUPERSEDED);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.batchRevocation(issuerA.address, tree.root)).to.deep.equal([
        issuerA.address,
        at,
        BigInt(REASON_SUPERSEDED),
      ]);
    });

    it("lets the admin revoke any issuer's batch (compromised issuer key)", async function () {
      const { anchor, admin, issuerA, batch: { tree } } = await loadFixture(deployFixture);
      const tx = anchor.connect(admin).revokeBatch(issuerA.address, tree.root, REASON_KEY_COMPROMISE);
      await expect(tx)
        .to.emit(anchor, "BatchRevoked")
        .withArgs(tree.root, issuerA.address, admin.address, REASON_KEY_COMPROMISE);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.batchRevocation(issuerA.address, tree.root)).to.deep.equal([
        admin.address,
        at,
        BigInt(REASON_KEY_COMPROMISE),
      ]);
    });

    it("lets the root's issuer revoke its batch after being suspended", async function () {
      const { anchor, admin, issuerA, batch: { tree } } = await loadFixture(deployFixture);
      await anchor.connect(admin).suspendIssuer(issuerA.address);
      await expect(anchor.connect(issuerA).revokeBatch(issuerA.address, tree.root, 9))
        .to.emit(anchor, "BatchRevoked")
        .withArgs(tree.root, issuerA.address, issuerA.address, 9);
    });

    it("refuses another accredited issuer and an outsider", async function () {
      const { anchor, issuerA, issuerB, outsider, batch: { tree } } = await loadFixture(deployFixture);
      await expect(anchor.connect(issuerB).revokeBatch(issuerA.address, tree.root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNotRootIssuer")
        .withArgs(tree.root, issuerB.address);
      await expect(anchor.connect(outsider).revokeBatch(issuerA.address, tree.root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNotRootIssuer")
        .withArgs(tree.root, outsider.address);
      expect(await anchor.batchRevocation(issuerA.address, tree.root)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });

    it("reverts on a root the named issuer never anchored, even for the admin", async function () {
      const { anchor, admin, issuerA, issuerB, batch: { tree } } = await loadFixture(deployFixture);
      const unknown = ethers.id("unknown root");
      await expect(anchor.connect(issuerA).revokeBatch(issuerA.address, unknown, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootNotAnchored")
        .withArgs(unknown, issuerA.address);
      await expect(anchor.connect(admin).revokeBatch(issuerA.address, unknown, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootNotAnchored")
        .withArgs(unknown, issuerA.address);
      // A's root is not B's batch: B cannot "revoke" it under its own name either.
      await expect(anchor.connect(issuerB).revokeBatch(issuerB.address, tree.root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootNotAnchored")
        .withArgs(tree.root, issuerB.address);
    });

    it("reverts when the batch is already revoked, whoever revoked it first", async function () {
      const { anchor, admin, issuerA, batch: { tree } } = await loadFixture(deployFixture);
      const at = await blockTimestampOf(await anchor.connect(admin).revokeBatch(issuerA.address, tree.root, 1));
      await expect(anchor.connect(issuerA).revokeBatch(issuerA.address, tree.root, 2))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorBatchAlreadyRevoked")
        .withArgs(tree.root, issuerA.address);
      await expect(anchor.connect(admin).revokeBatch(issuerA.address, tree.root, 3))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorBatchAlreadyRevoked")
        .withArgs(tree.root, issuerA.address);
      expect(await anchor.batchRevocation(issuerA.address, tree.root)).to.deep.equal([admin.address, at, 1n]);
    });

    it("revokes one issuer's batch only, when two issuers anchored the same root", async function () {
      const { anchor, issuerA, issuerB, batch } = await loadFixture(deployFixture);
      await anchor.connect(issuerB).anchor(batch.tree.root, 7);
      await expect(anchor.connect(issuerB).revokeBatch(issuerB.address, batch.tree.root, 1))
        .to.emit(anchor, "BatchRevoked")
        .withArgs(batch.tree.root, issuerB.address, issuerB.address, 1);
      const proof = batch.tree.getProof(0);
      expect((await anchor.verify(issuerB.address, batch.hashes[0], proof, batch.tree.root)).status).to.equal(
        Status.BatchRevoked,
      );
      expect((await anchor.verify(issuerA.address, batch.hashes[0], proof, batch.tree.root)).status).to.equal(
        Status.Valid,
      );
      expect(await anchor.batchRevocation(issuerA.address, batch.tree.root)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });
  });

  describe("views", function () {
    it("credentialRevocation and batchRevocation are zero when nothing was revoked", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      expect(await anchor.credentialRevocation(issuerA.address, ethers.id("x"))).to.deep.equal([0n, 0n]);
      expect(await anchor.batchRevocation(issuerA.address, ethers.id("x"))).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });
  });

  describe("cross-issuer isolation", function () {
    it("a revocation by issuer B of a hash in A's batch changes nothing for A", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const hashes = credentialHashes(7, "isolation");
      const tree = buildTree(hashes);
      await anchor.connect(issuerA).anchor(tree.root, hashes.length);
      const before = await anchor.verify(issuerA.address, hashes[2], tree.getProof(2), tree.root);
      expect(before.status).to.equal(Status.Valid);

      await expect(anchor.connect(issuerB).revokeCredential(hashes[2], 1))
        .to.emit(anchor, "CredentialRevoked")
        .withArgs(issuerB.address, hashes[2], 1);
      await anchor.connect(issuerB).revokeCredentials(hashes, 1);

      for (const [i, h] of hashes.entries()) {
        const result = await anchor.verify(issuerA.address, h, tree.getProof(i), tree.root);
        expect(result).to.deep.equal([Status.Valid, before.anchoredAt, true]);
      }
      expect(await anchor.credentialRevocation(issuerA.address, hashes[2])).to.deep.equal([0n, 0n]);

      // B cannot revoke A's batch either.
      await expect(anchor.connect(issuerB).revokeBatch(issuerA.address, tree.root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNotRootIssuer")
        .withArgs(tree.root, issuerB.address);

      // A's own revocation does take effect, for that credential only.
      await anchor.connect(issuerA).revokeCredential(hashes[2], 1);
      expect((await anchor.verify(issuerA.address, hashes[2], tree.getProof(2), tree.root)).status).to.equal(
        Status.CredentialRevoked,
      );
      expect((await anchor.verify(issuerA.address, hashes[3], tree.getProof(3), tree.root)).status).to.equal(Status.Valid);
    });

    it("an issuer's revocation covers every batch of that issuer containing the credential", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const shared = credentialHashes(1, "shared")[0];
      const treeA1 = buildTree([shared, ...credentialHashes(2, "a1")]);
      const treeA2 = buildTree([shared, ...credentialHashes(3, "a2")]);
      const treeB = buildTree([shared, ...credentialHashes(4, "b")]);
      await anchor.connect(issuerA).anchor(treeA1.root, 3);
      await anchor.connect(issuerA).anchor(treeA2.root, 4);
      await anchor.connect(issuerB).anchor(treeB.root, 5);
      await anchor.connect(issuerA).revokeCredential(shared, 1);
      expect((await anchor.verify(issuerA.address, shared, treeA1.getProof([shared]), treeA1.root)).status).to.equal(
        Status.CredentialRevoked,
      );
      expect((await anchor.verify(issuerA.address, shared, treeA2.getProof([shared]), treeA2.root)).status).to.equal(
        Status.CredentialRevoked,
      );
      expect((await anchor.verify(issuerB.address, shared, treeB.getProof([shared]), treeB.root)).status).to.equal(
        Status.Valid,
      );
    });
  });
});
