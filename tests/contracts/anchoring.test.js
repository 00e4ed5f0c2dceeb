"use strict";

const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, blockTimestampOf, credentialHashes, buildTree, leafOf, didOf, Status } = require("./helpers");

const UINT32_MAX = 2n ** 32n - 1n;

describe("CredentialAnchor: anchoring", function () {
  describe("anchor", function () {
    it("records time and count under (issuer, root) in anchorOf and emits Anchored", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const tree = buildTree(credentialHashes(3));
      const tx = anchor.connect(issuerA).anchor(tree.root, 3);
      await expect(tx).to.emit(anchor, "Anchored").withArgs(tree.root, issuerA.address, 3);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.anchorOf(issuerA.address, tree.root)).to.deep.equal([true, at, 3n]);
      expect(await anchor.anchorOf(issuerB.address, tree.root)).to.deep.equal([false, 0n, 0n]);
    });

    it("stores the largest uint32 count unchanged", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const root = ethers.id("big batch");
      await expect(anchor.connect(issuerA).anchor(root, UINT32_MAX))
        .to.emit(anchor, "Anchored")
        .withArgs(root, issuerA.address, UINT32_MAX);
      const [anchored, anchoredAt, count] = await anchor.anchorOf(issuerA.address, root);
      expect(anchored).to.equal(true);
      expect(anchoredAt).to.be.greaterThan(0n);
      expect(count).to.equal(UINT32_MAX);
    });

    it("reverts on a zero root", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      await expect(anchor.connect(issuerA).anchor(ethers.ZeroHash, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorZeroRoot")
        .withArgs();
    });

    it("reverts on a zero count, naming the root", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const root = ethers.id("empty batch");
      await expect(anchor.connect(issuerA).anchor(root, 0))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorZeroCount")
        .withArgs(root);
    });

    it("refuses a root the same issuer already anchored, and keeps the first record", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const root = ethers.id("only once");
      const at = await blockTimestampOf(await anchor.connect(issuerA).anchor(root, 5));
      await expect(anchor.connect(issuerA).anchor(root, 9))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootAlreadyAnchored")
        .withArgs(root, issuerA.address);
      expect(await anchor.anchorOf(issuerA.address, root)).to.deep.equal([true, at, 5n]);
    });

    it("lets another issuer anchor the same root under its own address without touching the first record", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const root = ethers.id("shared root");
      const atA = await blockTimestampOf(await anchor.connect(issuerA).anchor(root, 5));
      const txB = anchor.connect(issuerB).anchor(root, 9);
      await expect(txB).to.emit(anchor, "Anchored").withArgs(root, issuerB.address, 9);
      const atB = await blockTimestampOf(await txB);
      expect(await anchor.anchorOf(issuerA.address, root)).to.deep.equal([true, atA, 5n]);
      expect(await anchor.anchorOf(issuerB.address, root)).to.deep.equal([true, atB, 9n]);
      await expect(anchor.connect(issuerB).anchor(root, 9))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootAlreadyAnchored")
        .withArgs(root, issuerB.address);
    });

    it("refuses an address never accredited", async function () {
      const { anchor, outsider, admin } = await loadFixture(deployFixture);
      const root = ethers.id("outsider");
      await expect(anchor.connect(outsider).anchor(root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(outsider.address);
      // Being admin does not make an account an issuer.
      await expect(anchor.connect(admin).anchor(root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(admin.address);
      expect(await anchor.anchorOf(outsider.address, root)).to.deep.equal([false, 0n, 0n]);
      expect(await anchor.anchorOf(admin.address, root)).to.deep.equal([false, 0n, 0n]);
    });

    it("refuses a suspended issuer, and accepts it again once re-accredited", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const root = ethers.id("suspended");
      await expect(anchor.connect(suspended).anchor(root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(suspended.address);
      await anchor.accreditIssuer(suspended.address, "Reinstated", "", didOf(suspended.address));
      await expect(anchor.connect(suspended).anchor(root, 1))
        .to.emit(anchor, "Anchored")
        .withArgs(root, suspended.address, 1);
    });

    it("checks accreditation before the arguments", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.connect(outsider).anchor(ethers.ZeroHash, 0))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(outsider.address);
    });
  });

  describe("front-running", function () {
    // Issuer B copies issuer A's pending anchor from the mempool and outbids it. Before anchors
    // were keyed by (issuer, root), B became the root's anchorer and A's transaction reverted
    // for good; now both succeed, each under its own address, and A's credentials verify
    // under A whatever B does with its copy.
    afterEach(async function () {
      await network.provider.send("evm_setAutomine", [true]);
    });

    it("a copied anchor mined first neither blocks the victim's anchor nor affects its batch", async function () {
      const { anchor, issuerA, issuerB, outsider } = await loadFixture(deployFixture);
      const hashes = credentialHashes(5, "front-run");
      const tree = buildTree(hashes);
      await network.provider.send("evm_setAutomine", [false]);

      const tip = ethers.parseUnits("1", "gwei");
      const fees = { maxPriorityFeePerGas: tip, maxFeePerGas: ethers.parseUnits("100", "gwei") };
      const victim = await anchor.connect(issuerA).anchor(tree.root, hashes.length, fees);
      // What a front-runner sees: the pending transaction, read back from the node.
      const pending = await ethers.provider.getTransaction(victim.hash);
      expect(pending.blockNumber).to.equal(null);
      const copy = await issuerB.sendTransaction({
        to: pending.to,
        data: pending.data,
        maxPriorityFeePerGas: tip * 10n,
        maxFeePerGas: fees.maxFeePerGas,
      });
      await network.provider.send("evm_mine", []);

      const [copyReceipt, victimReceipt] = await Promise.all([copy.wait(), victim.wait()]);
      expect(copyReceipt.blockNumber).to.equal(victimReceipt.blockNumber);
      expect(copyReceipt.index).to.be.lessThan(victimReceipt.index); // the copy really went first
      expect([copyReceipt.status, victimReceipt.status]).to.deep.equal([1, 1]);
      await expect(victim).to.emit(anchor, "Anchored").withArgs(tree.root, issuerA.address, 5);
      await expect(copy).to.emit(anchor, "Anchored").withArgs(tree.root, issuerB.address, 5);
      const at = BigInt((await ethers.provider.getBlock(victimReceipt.blockNumber)).timestamp);
      expect(await anchor.anchorOf(issuerA.address, tree.root)).to.deep.equal([true, at, 5n]);
      for (const [i, h] of hashes.entries()) {
        expect(await anchor.verify(issuerA.address, h, tree.getProof(i), tree.root)).to.deep.equal([Status.Valid, at, true]);
      }

      // B's copy is B's own business: revoking it, or revoking the hashes as B, leaves A's
      // batch valid, and B cannot revoke A's batch.
      await network.provider.send("evm_setAutomine", [true]);
      await anchor.connect(issuerB).revokeBatch(issuerB.address, tree.root, 1);
      await anchor.connect(issuerB).revokeCredentials(hashes, 1);
      await expect(anchor.connect(issuerB).revokeBatch(issuerA.address, tree.root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNotRootIssuer")
        .withArgs(tree.root, issuerB.address);
      expect((await anchor.verify(issuerA.address, hashes[0], tree.getProof(0), tree.root)).status).to.equal(Status.Valid);
      expect((await anchor.verify(issuerB.address, hashes[0], tree.getProof(0), tree.root)).status).to.equal(
        Status.BatchRevoked,
      );
      // Under any account that did not anchor the root, the batch is simply not anchored.
      expect((await anchor.verify(outsider.address, hashes[0], tree.getProof(0), tree.root)).status).to.equal(
        Status.NotAnchored,
      );
    });
  });

  describe("anchorOf", function () {
    it("is all zero for an unknown root", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      expect(await anchor.anchorOf(issuerA.address, ethers.id("never anchored"))).to.deep.equal([false, 0n, 0n]);
    });

    it("is all zero for a root anchored by another issuer only", async function () {
      const { anchor, issuerB, batch } = await loadFixture(deployFixture);
      expect(await anchor.anchorOf(issuerB.address, batch.tree.root)).to.deep.equal([false, 0n, 0n]);
    });
  });

  describe("leafOf", function () {
    it("is the StandardMerkleTree leaf of [credentialHash] with encoding bytes32", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const hashes = [ethers.ZeroHash, ethers.toBeHex(ethers.MaxUint256, 32), ...credentialHashes(5)];
      const tree = buildTree(hashes);
      for (const h of hashes) {
        const onChain = await anchor.leafOf(h);
        expect(onChain).to.equal(tree.leafHash([h]));
        expect(onChain).to.equal(leafOf(h));
        expect(onChain).to.not.equal(h);
      }
    });
  });
});
