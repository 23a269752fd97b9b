"""What every verb (`ops/`) and every quality gate (`quality/`) needs, below both of them:
resolving `NAME@REF` (`refs`), the current version, the working file's state and a
version's bytes (`common`)."""
