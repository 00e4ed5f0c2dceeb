#!/usr/bin/env node
// Generates the golden Merkle vectors in tests/vectors/merkle/ with @openzeppelin/merkle-tree.
//
//   node scripts/make_merkle_vectors.js           write the vectors that are missing
//   node scripts/make_merkle_vectors.js --check   write nothing, fail unless every vector exists
//                                                 and regenerates byte for byte
//
// Vectors are never edited, only added: an existing file that no longer regenerates
// identically is reported and left alone, and the command fails. To cover a new case, add a
// size (or a new file name) instead of changing an old one.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { keccak256, toUtf8Bytes } = require("ethers");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const GENERATOR = "@openzeppelin/merkle-tree 1.0.8";
const LEAF_ENCODING = ["bytes32"];
const SIZES = [1, 2, 3, 7, 1000];
const VECTOR_DIR = path.join(__dirname, "..", "tests", "vectors", "merkle");

/** credentialHash i of a vector of `size` credentials: keccak256(utf8 "credanchor-vector-<size>-<i>"). */
function vectorCredentialHashes(size) {
  return Array.from({ length: size }, (_, i) => keccak256(toUtf8Bytes(`credanchor-vector-${size}-${i}`)));
}

function vectorFileName(size) {
  return `oz-standard-v1-n${size}.json`;
}

/** The vector object for `size` credentials, keys in the documented order. */
function buildVector(size) {
  const credentialHashes = vectorCredentialHashes(size);
  const tree = StandardMerkleTree.of(
    credentialHashes.map((h) => [h]),
    LEAF_ENCODING,
  );
  return {
    description:
      `OpenZeppelin StandardMerkleTree (format standard-v1, sorted leaves) over ${size} ` +
      `credential(s); each value is [credentialHash] with leaf encoding ["bytes32"], so ` +
      `leaf = keccak256(keccak256(abi.encode(credentialHash))). ` +
      `credentialHashes[i] = keccak256(utf8("credanchor-vector-${size}-<i>")). ` +
      `leaves[i] and proofs[i] belong to credentialHashes[i].`,
    generator: GENERATOR,
    leafEncoding: LEAF_ENCODING,
    credentialHashes,
    leaves: credentialHashes.map((h) => tree.leafHash([h])),
    root: tree.root,
    proofs: credentialHashes.map((_, i) => tree.getProof(i)),
    dump: tree.dump(),
  };
}

function serialize(vector) {
  return `${JSON.stringify(vector, null, 2)}\n`;
}

function main(argv) {
  const check = argv.includes("--check");
  fs.mkdirSync(VECTOR_DIR, { recursive: true });
  let failures = 0;
  for (const size of SIZES) {
    const file = path.join(VECTOR_DIR, vectorFileName(size));
    const expected = serialize(buildVector(size));
    if (!fs.existsSync(file)) {
      if (check) {
        console.error(`missing: ${file}`);
        failures += 1;
      } else {
        fs.writeFileSync(file, expected);
        console.log(`wrote:   ${file}`);
      }
    } else if (fs.readFileSync(file, "utf8") !== expected) {
      console.error(`differs: ${file} (golden vectors are never edited; add a new one instead)`);
      failures += 1;
    } else {
      console.log(`ok:      ${file}`);
    }
  }
  return failures === 0 ? 0 : 1;
}

module.exports = { GENERATOR, LEAF_ENCODING, SIZES, VECTOR_DIR, vectorCredentialHashes, vectorFileName, buildVector, serialize };

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
