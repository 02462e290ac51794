"""How a PostgreSQL replica learns that another one wrote: the database's write generation.

Every transaction that wrote something moves one sequence on (``nextval``) after it commits and
before its request answers. A replica reads the sequence (one round trip, no lock: a sequence is
read and moved outside transactions) when a request starts; while it has not moved, every row
and value the replica remembered since it last moved is still what the database holds, so the
request is served from memory. When it moved, the replica forgets everything and reads anew.

Why this closes the window a client can see: a client that got a write's response from replica
A and then asks replica B starts a request on B after A's ``nextval``, so B sees the new
generation. (LISTEN/NOTIFY would tell B too, but asynchronously: B could answer from memory
before the notification arrives. Checking the sequence costs the one round trip a request makes
anyway.) A write whose ``nextval`` could not be made (the database went away right after the
commit) is covered by ``MAX_AGE``: nothing remembered is served longer than that."""

from __future__ import annotations

# Seconds after which remembered reads are dropped even if the generation never moved.
MAX_AGE = 5.0

SEQUENCE = "crossconnect_write_generation"
CREATE = f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}"
# the number of nextval calls so far (0 before the first: last_value starts at 1, not called)
READ = f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {SEQUENCE}"
BUMP = f"SELECT nextval('{SEQUENCE}')"

# Statements that change rows: a transaction that ran one bumps the generation.
WRITES = ("insert", "update", "delete", "truncate", "alter", "create", "drop")


def writes(statement: str) -> bool:
    return statement.lstrip()[:8].lower().startswith(WRITES)
