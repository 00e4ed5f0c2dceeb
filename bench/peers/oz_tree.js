#!/usr/bin/env node
// Build @openzeppelin/merkle-tree's StandardMerkleTree over the credential hashes in a binary
// file (32 bytes each, in input order) and print {root, seconds, n, maxRssBytes} as JSON.
// Usage: node bench/peers/oz_tree.js HASHES_FILE   (called by bench/run.py)
"use strict";

const fs = require("fs");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const buf = fs.readFileSync(process.argv[2]);
const values = [];
for (let off = 0; off < buf.length; off += 32) {
  values.push(["0x" + buf.subarray(off, off + 32).toString("hex")]);
}
const t0 = process.hrtime.bigint();
const tree = StandardMerkleTree.of(values, ["bytes32"]);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({
  root: tree.root, seconds, n: values.length, maxRssBytes: process.resourceUsage().maxRSS * 1024,
}) + "\n");
