"use strict";

// The golden vectors in tests/vectors/merkle/ must load, regenerate identically, and verify
// on chain, proof by proof.
const fs = require("node:fs");
const path = require("node:path");
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const generator = require("../../scripts/make_merkle_vectors");
const { deployFixture, blockTimestampOf, leafOf, Status } = require("./helpers");

const VECTOR_KEYS = ["description", "generator", "leafEncoding", "credentialHashes", "leaves", "root", "proofs", "dump"];

const vectorFiles = fs
  .readdirSync(generator.VECTOR_DIR)
  .filter((name) => name.startsWith("oz-standard-v1-") && name.endsWith(".json"))
  .sort();

describe("CredentialAnchor: golden Merkle vectors", function () {
  it("has a file for each generated size (1, 2, 3, 7 and 1000 credentials)", function () {
    for (const size of [1, 2, 3, 7, 1000]) {
      expect(vectorFiles).to.include(generator.vectorFileName(size));
    }
    expect(vectorFiles.length).to.be.at.least(generator.SIZES.length);
  });

  for (const size of generator.SIZES) {
    it(`${generator.vectorFileName(size)} is byte for byte what the generator produces`, function () {
      const onDisk = fs.readFileSync(path.join(generator.VECTOR_DIR, generator.vectorFileName(size)), "utf8");
      expect(onDisk).to.equal(generator.serialize(generator.buildVector(size)));
    });
  }

  for (const name of vectorFiles) {
    describe(name, function () {
      const vector = JSON.parse(fs.readFileSync(path.join(generator.VECTOR_DIR, name), "utf8"));

      it("has the documented shape", function () {
        expect(Object.keys(vector)).to.deep.equal(VECTOR_KEYS);
        expect(vector.generator).to.equal("@openzeppelin/merkle-tree 1.0.8");
        expect(vector.leafEncoding).to.deep.equal(["bytes32"]);
        const n = vector.credentialHashes.length;
        expect(n).to.be.greaterThan(0);
        expect(vector.leaves.length).to.equal(n);
        expect(vector.proofs.length).to.equal(n);
        expect(vector.dump.format).to.equal("standard-v1");
        expect(vector.dump.values.map((v) => v.value)).to.deep.equal(vector.credentialHashes.map((h) => [h]));
        for (const hex of [...vector.credentialHashes, ...vector.leaves, vector.root, ...vector.proofs.flat()]) {
          expect(hex).to.match(/^0x[0-9a-f]{64}$/);
        }
      });

      it("loads with StandardMerkleTree.load and agrees with its own leaves, root and proofs", function () {
        const tree = StandardMerkleTree.load(vector.dump);
        expect(tree.root).to.equal(vector.root);
        for (const [i, h] of vector.credentialHashes.entries()) {
          expect(tree.leafHash([h])).to.equal(vector.leaves[i]);
          expect(leafOf(h)).to.equal(vector.leaves[i]);
          expect(tree.getProof([h])).to.deep.equal(vector.proofs[i]);
          expect(StandardMerkleTree.verify(vector.root, ["bytes32"], [h], vector.proofs[i])).to.equal(true);
        }
      });

      it("verifies every credential on chain once its root is anchored", async function () {
        const { anchor, issuerA } = await loadFixture(deployFixture);
        const n = vector.credentialHashes.length;
        expect(
          (await anchor.verify(issuerA.address, vector.credentialHashes[0], vector.proofs[0], vector.root)).status,
        ).to.equal(Status.NotAnchored);
        const at = await blockTimestampOf(await anchor.connect(issuerA).anchor(vector.root, n));
        for (const [i, h] of vector.credentialHashes.entries()) {
          expect(await anchor.leafOf(h)).to.equal(vector.leaves[i]);
          expect(await anchor.verify(issuerA.address, h, vector.proofs[i], vector.root)).to.deep.equal([
            Status.Valid,
            at,
            true,
          ]);
        }
        // A proof does not transfer to another credential of the same batch (n > 1), nor to
        // a credential outside it.
        const stranger = ethers.id(`not in ${name}`);
        expect((await anchor.verify(issuerA.address, stranger, vector.proofs[0], vector.root)).status).to.equal(
          Status.InvalidProof,
        );
        if (n > 1) {
          expect(
            (await anchor.verify(issuerA.address, vector.credentialHashes[1], vector.proofs[0], vector.root)).status,
          ).to.equal(Status.InvalidProof);
        }
      });
    });
  }
});
