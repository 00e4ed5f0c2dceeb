#!/usr/bin/env node
// Gas of credanchor's CredentialAnchor and of two peers, deployed from their published npm
// packages onto ONE local node in one run, so the figures are comparable:
//   - OpenAttestation DocumentStore (@govtechsg/document-store, the version the OA CLI
//     `deploy document-store` uses): issue(root), revoke(hash)
//   - Ethereum Attestation Service (@ethereum-attestation-service/eas-contracts): attest,
//     multiAttest (100), timestamp(root)
// Usage: node bench/peers/gas.js RPC_URL  → one JSON object on stdout.
// Called by bench/run.py, which starts and stops anvil.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { ethers } = require("ethers");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const ROOT = path.resolve(__dirname, "..", "..");
// anvil's first well-known development key (public; funded only on a local dev node)
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function nonZeroHash() {
  // No zero byte: the most expensive calldata, as docs/contract.md measures.
  const b = ethers.randomBytes(32);
  for (let i = 0; i < 32; i++) if (b[i] === 0) b[i] = 1;
  return ethers.hexlify(b);
}

function ourArtifact() {
  const p = path.join(ROOT, "service", "credanchor", "artifacts", "CredentialAnchor.json");
  const a = JSON.parse(fs.readFileSync(p, "utf8"));
  return { abi: a.abi, bytecode: a.bytecode };
}

function documentStoreArtifact() {
  // The package ships ethers-v5 typechain factories whose ABI and bytecode are module-private
  // constants; evaluate the file with a stub `ethers` to read them (nothing else runs).
  const file = require.resolve(
    "@govtechsg/document-store/dist/contracts/factories/DocumentStore__factory.js",
    { paths: [path.join(ROOT, "node_modules", "@govtechsg", "open-attestation-cli")] },
  );
  const version = JSON.parse(
    fs.readFileSync(path.join(path.dirname(file), "..", "..", "..", "package.json"), "utf8"),
  ).version;
  const src = fs.readFileSync(file, "utf8") + "\n;__out.abi = _abi; __out.bytecode = _bytecode;";
  const sandbox = {
    exports: {},
    require: () => ({ ContractFactory: class {}, Contract: class {} }),
    __out: {},
  };
  vm.runInNewContext(src, sandbox);
  return { abi: sandbox.__out.abi, bytecode: sandbox.__out.bytecode, version };
}

function easArtifacts() {
  const base = path.join(ROOT, "node_modules", "@ethereum-attestation-service", "eas-contracts");
  const load = (name) =>
    JSON.parse(fs.readFileSync(path.join(base, "artifacts", "contracts", `${name}.sol`, `${name}.json`)));
  const version = JSON.parse(fs.readFileSync(path.join(base, "package.json"), "utf8")).version;
  return { registry: load("SchemaRegistry"), eas: load("EAS"), version };
}

async function gasOf(txPromise) {
  const tx = await txPromise;
  const receipt = await tx.wait();
  if (receipt.status !== 1) throw new Error("transaction reverted");
  return Number(receipt.gasUsed);
}

async function deploy(wallet, art, args) {
  const factory = new ethers.ContractFactory(art.abi, art.bytecode, wallet);
  const contract = await factory.deploy(...args);
  const receipt = await contract.deploymentTransaction().wait();
  return { contract, gas: Number(receipt.gasUsed) };
}

async function main() {
  const url = process.argv[2];
  if (!url) throw new Error("usage: gas.js RPC_URL");
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const wallet = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
  const me = await wallet.getAddress();
  const out = { node: await provider.send("web3_clientVersion", []), ours: {}, oa: {}, eas: {} };

  // --- credanchor -------------------------------------------------------------------------
  const ours = await deploy(wallet, ourArtifact(), []);
  const ca = ours.contract;
  out.ours.deploy = ours.gas;
  out.ours.accreditIssuer = await gasOf(ca.accreditIssuer(me, "Bench Academy", "https://bench.example/profile", `did:pkh:eip155:${(await provider.getNetwork()).chainId}:${me}`));
  out.ours.anchor_1 = await gasOf(ca.anchor(nonZeroHash(), 1));
  out.ours.anchor_1000 = await gasOf(ca.anchor(nonZeroHash(), 1000));
  out.ours.anchor_1000000 = await gasOf(ca.anchor(nonZeroHash(), 1000000));
  out.ours.revokeCredential = await gasOf(ca.revokeCredential(nonZeroHash(), 1));
  const hundred = Array.from({ length: 100 }, nonZeroHash);
  const total100 = await gasOf(ca.revokeCredentials(hundred, 1));
  out.ours.revokeCredentials_100_total = total100;
  out.ours.revokeCredentials_per_hash = Math.round(total100 / 100);
  // verify: a 1,000-credential batch built by @openzeppelin/merkle-tree, proof of 10 hashes
  const hashes = Array.from({ length: 1000 }, nonZeroHash);
  const tree = StandardMerkleTree.of(hashes.map((h) => [h]), ["bytes32"]);
  await gasOf(ca.anchor(tree.root, 1000));
  const proof = tree.getProof(0);
  const [status] = await ca.verify(me, tree.at(0)[0], proof, tree.root);
  if (Number(status) !== 0) throw new Error(`verify returned status ${status}, expected Valid`);
  out.ours.verify_estimate_1000 = Number(await ca.verify.estimateGas(me, tree.at(0)[0], proof, tree.root));
  out.ours.verify_proof_length = proof.length;
  out.ours.revokeBatch = await gasOf(ca.revokeBatch(me, tree.root, 1));

  // --- OpenAttestation DocumentStore --------------------------------------------------------
  const dsArt = documentStoreArtifact();
  out.oa.package = `@govtechsg/document-store@${dsArt.version}`;
  const ds = await deploy(wallet, dsArt, ["Bench Academy", me]);
  out.oa.deploy = ds.gas;
  const issued = nonZeroHash();
  out.oa.issue = await gasOf(ds.contract.issue(issued));
  out.oa.revoke = await gasOf(ds.contract.revoke(nonZeroHash()));
  const dsBulk = Array.from({ length: 100 }, nonZeroHash);
  out.oa.bulkRevoke_100_total = await gasOf(ds.contract.bulkRevoke(dsBulk));
  out.oa.bulkRevoke_per_hash = Math.round(out.oa.bulkRevoke_100_total / 100);
  out.oa.isValid_estimate = Number(await ds.contract.isIssued.estimateGas(issued));

  // --- Ethereum Attestation Service ----------------------------------------------------------
  const ea = easArtifacts();
  out.eas.package = `@ethereum-attestation-service/eas-contracts@${ea.version}`;
  const reg = await deploy(wallet, ea.registry, []);
  const eas = await deploy(wallet, ea.eas, [await reg.contract.getAddress()]);
  out.eas.deploy = reg.gas + eas.gas;
  const schema = "bytes32 credentialHash";
  const regTx = await reg.contract.register(schema, ethers.ZeroAddress, true);
  await regTx.wait();
  const schemaUid = ethers.solidityPackedKeccak256(
    ["string", "address", "bool"], [schema, ethers.ZeroAddress, true]);
  const request = (h) => ({
    recipient: me, expirationTime: 0n, revocable: true, refUID: ethers.ZeroHash,
    data: ethers.AbiCoder.defaultAbiCoder().encode(["bytes32"], [h]), value: 0n,
  });
  out.eas.attest = await gasOf(eas.contract.attest({ schema: schemaUid, data: request(nonZeroHash()) }));
  const multi = Array.from({ length: 100 }, () => request(nonZeroHash()));
  const multiTotal = await gasOf(eas.contract.multiAttest([{ schema: schemaUid, data: multi }]));
  out.eas.multiAttest_100_total = multiTotal;
  out.eas.multiAttest_per_attestation = Math.round(multiTotal / 100);
  out.eas.timestamp = await gasOf(eas.contract.timestamp(nonZeroHash()));

  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
