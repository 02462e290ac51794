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

import threading
from collections.abc import Callable

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


def written_table(statement: str) -> str | None:
    """The table of ``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t`` (None for anything else)."""
    words = statement.split(None, 3)
    verb = words[0].lower() if words else ""
    if verb == "update" and len(words) > 1:
        name = words[1]
    elif verb in ("insert", "delete") and len(words) > 2 and words[1].lower() in ("into", "from"):
        name = words[2]
    else:
        return None
    return name.split("(", 1)[0].strip('"').lower()


class SharedReads:
    """Reads of the generation shared by the requests that wait for one at the same time.

    A request may use any read that *began* after it asked (a write answered before the request
    arrived moved the sequence before that read), so while one read is under way, the requests
    that ask meanwhile wait for it to end and then share the next one: under load one round trip
    serves many requests, alone a request makes its own."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._changed = threading.Condition()
        self._began = 0  # reads begun so far (numbered 1, 2, …)
        self._ended = 0  # the number of the latest read that ended
        self._value = 0  # what it read
        self._running = False

    def latest(self) -> int:
        with self._changed:
            needed = self._began + 1  # a read that begins after this moment
            while self._ended < needed:
                if not self._running:
                    self._running = True
                    self._began += 1
                    mine = self._began
                    break
                self._changed.wait()
            else:
                return self._value
        value: int | None = None
        try:
            value = self._read()
            return value
        finally:
            with self._changed:
                self._running = False
                if value is not None:
                    self._ended, self._value = mine, value
                self._changed.notify_all()
