"""Pure code, no I/O: canonical JSON and hashing, Merkle trees, the Open Badges 3.0 model, proof format, verification reports, Data Integrity signatures and the stack model."""
