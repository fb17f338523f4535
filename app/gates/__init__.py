"""Release gates: is a model's certified accuracy at radius R at least A? (docs/GATES.md)."""
