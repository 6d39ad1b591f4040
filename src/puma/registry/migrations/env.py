"""Alembic's entry point: runs the migrations on the connection `puma.registry.db.migrate`
hands over (there is no alembic.ini: the registry is configured by its own options)."""

from __future__ import annotations

from alembic import context

from puma.registry.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
