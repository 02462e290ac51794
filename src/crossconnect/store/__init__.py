"""Persistence: SQLite by default, PostgreSQL for scale-out, one interface (``Store``)."""

from crossconnect.store.store import Store, database_url

__all__ = ["Store", "database_url"]
