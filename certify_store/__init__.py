"""Durable records, uploads and signed certificates of the certification service.

Redis is the queue and the live state; this package is the record. It holds
the job, batch and model records in a SQL database (SQLite in the data directory
by default, PostgreSQL at scale; one schema, Alembic migrations), the uploads as
content-addressed files, the outbox that carries records from Redis to the
database without losing one, and the Ed25519 keys that sign certificates.
Importable without torch or FastAPI.
"""
