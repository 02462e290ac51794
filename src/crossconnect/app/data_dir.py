"""The data directory holds private keys and secrets: it is the server owner's alone (0700, every
file in it 0600, SQLite's -wal and -shm files included), and so is the key-encryption key that
opens the signing keys in the database."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
KEY_ENCRYPTION_KEY_FILE = "key-encryption.key"


# What a server keeps in its data dir (SQLite adds -wal and -shm beside the database; a file being
# replaced is written as NAME.new first). Only these are tightened in an existing data dir: it
# may be a directory the user keeps other things in (``--data-dir .``).
OWN_FILES = (
    "credentials.json",
    "ca.pem",
    "ca-key.pem",
    "server.pem",
    "server-key.pem",
    "server.json",
    "server.lock",
    KEY_ENCRYPTION_KEY_FILE,
    "crossconnect.db",
)


def make_private(data_dir: Path) -> None:
    """Create the data dir owner-only, or take group and other access away from an existing one
    and from the server's files in it (made by an older version, or copied in with other modes)."""
    data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(data_dir, PRIVATE_DIR)
    for path in data_dir.iterdir():
        own = any(path.name == name or path.name.startswith(f"{name}-") or path.name == f"{name}.new"
                  for name in OWN_FILES)  # fmt: skip
        if own and path.is_file() and not path.is_symlink():
            os.chmod(path, PRIVATE_FILE)


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``path`` owner-only (0600). ``exclusive``: only if it does not exist yet
    (``FileExistsError`` otherwise); else through a new file renamed over the old one, so the
    content is never readable by others, nor half-written, not even for a moment."""
    target = path if exclusive else path.with_name(path.name + ".new")
    if not exclusive:
        target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if not exclusive:
        os.replace(target, path)


class KeyFileError(RuntimeError):
    """The key-encryption key file cannot be read or made (the message says which and why)."""


def key_encryption_key(path: Path) -> bytes:
    """The key that encrypts the signing keys in the database: 32 random bytes, base64url, in a
    file of its own. Made when missing. Replicas on one database must share it (copy the file
    with the data dir, or point ``--key-encryption-key-file`` at one copy)."""
    if not path.exists():
        try:
            write_private(path, base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n", exclusive=True)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as exc:
            raise KeyFileError(f"cannot create the key-encryption key file '{path}': {exc.strerror}") from None
    try:
        text = path.read_bytes().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read the key-encryption key file '{path}': {exc.strerror}") from None
    try:
        valid = len(base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))) >= 32
    except ValueError:
        valid = False
    if not valid:
        raise KeyFileError(
            f"'{path}' is not a key-encryption key (32 random bytes, base64url, as crossconnect makes it)."
        )
    return text
