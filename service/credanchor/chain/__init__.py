"""Everything credanchor does on a chain: the embedded EVM, JSON-RPC nodes, keys,
transactions and the CredentialAnchor contract client.

The embedded chain pulls in py-evm (about a second of imports), so its names are loaded on
first use rather than when this package is imported.
"""
