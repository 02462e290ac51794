"""Persistence: SQLite by default, PostgreSQL for scale-out, one interface (``Store``)."""

from crossconnect.store.freshness import NotRemembered
from crossconnect.store.store import Store, database_url
from crossconnect.store.values import InvalidValue

__all__ = ["InvalidValue", "NotRemembered", "Store", "database_url"]
