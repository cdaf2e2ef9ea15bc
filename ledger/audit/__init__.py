"""The node's verifiable log: a Merkle tree over the events it authored, and
signed checkpoints of it (docs/audit.md)."""
