"""credanchor's pure core: functions of their arguments only, with no I/O.

Nothing in this package opens a file for writing, a socket, a database or a chain connection,
reads the clock or the environment, or fetches a URL. Collaborators (keys, DID documents,
resolvers, extra JSON-LD contexts) are passed in by the caller. The only files read are the
JSON-LD context documents bundled in ``contexts/`` (package data, read once).

Modules:
    jsonld        -- a pyld document loader serving only the bundled contexts
    rdfc          -- RDFC-1.0 canonical N-Quads of a JSON-LD document (pyld reference)
    rdfc_fast     -- the same bytes, fast, for the documents credanchor itself builds
    multikey      -- Ed25519 keys as Multikey, base58btc, did:key, did:web URLs
    dataintegrity -- W3C Data Integrity proofs with the eddsa-rdfc-2022 cryptosuite
"""
