"""Alembic migrations of the registry's database, applied by `puma.registry.db.migrate`."""
