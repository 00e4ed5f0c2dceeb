"""Interoperability tests: credanchor badges against third-party VC verifiers (docs/interop.md)."""
