"""Verification: offline checks, the chain-backed verifier (qualifications included), bulk."""
