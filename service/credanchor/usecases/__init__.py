"""The one layer that knows Settings: wiring (container, bootstrap) and every use case
the faces call (issuer admin, revocation, stacks)."""
