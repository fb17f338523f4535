"""Batches: many files, one set of options, one ordinary job per file, metrics as jobs end."""
