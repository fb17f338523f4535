"""Alembic's environment: migrate the connection the caller opened (see `certify_store.migrate`)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None,
                  version_table="certify_schema_version")
with context.begin_transaction():
    context.run_migrations()
