"""Persistence: SQLite by default, PostgreSQL for scale-out, one interface (``Store``)."""

from crossconnect.store.store import Store, database_url
from crossconnect.store.values import InvalidValue

__all__ = ["InvalidValue", "Store", "database_url"]
