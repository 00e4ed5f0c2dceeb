"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, blockTimestampOf, credentialHashes, buildTree, leafOf } = require("./helpers");

const UINT32_MAX = 2n ** 32n - 1n;

describe("CredentialAnchor: anchoring", function () {
  describe("anchor", function () {
    it("records issuer, time and count in anchorOf and emits Anchored", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const tree = buildTree(credentialHashes(3));
      const tx = anchor.connect(issuerA).anchor(tree.root, 3);
      await expect(tx).to.emit(anchor, "Anchored").withArgs(tree.root, issuerA.address, 3);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.anchorOf(tree.root)).to.deep.equal([issuerA.address, at, 3n]);
    });

    it("stores the largest uint32 count unchanged", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const root = ethers.id("big batch");
      await expect(anchor.connect(issuerA).anchor(root, UINT32_MAX))
        .to.emit(anchor, "Anchored")
        .withArgs(root, issuerA.address, UINT32_MAX);
      const [issuer, anchoredAt, count] = await anchor.anchorOf(root);
      expect(issuer).to.equal(issuerA.address);
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

    it("refuses a root already anchored, by the same issuer or by another one, and keeps the first record", async function () {
      const { anchor, issuerA, issuerB } = await loadFixture(deployFixture);
      const root = ethers.id("only once");
      const at = await blockTimestampOf(await anchor.connect(issuerA).anchor(root, 5));
      await expect(anchor.connect(issuerA).anchor(root, 5))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootAlreadyAnchored")
        .withArgs(root, issuerA.address);
      await expect(anchor.connect(issuerB).anchor(root, 9))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorRootAlreadyAnchored")
        .withArgs(root, issuerA.address);
      expect(await anchor.anchorOf(root)).to.deep.equal([issuerA.address, at, 5n]);
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
      expect(await anchor.anchorOf(root)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });

    it("refuses a suspended issuer, and accepts it again once re-accredited", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const root = ethers.id("suspended");
      await expect(anchor.connect(suspended).anchor(root, 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(suspended.address);
      await anchor.accreditIssuer(suspended.address, "Reinstated", "");
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

  describe("anchorOf", function () {
    it("is all zero for an unknown root", async function () {
      const { anchor } = await loadFixture(deployFixture);
      expect(await anchor.anchorOf(ethers.id("never anchored"))).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
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
