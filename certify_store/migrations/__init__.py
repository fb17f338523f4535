"""Alembic migrations of the record database (run by `certify db migrate` and at start)."""
