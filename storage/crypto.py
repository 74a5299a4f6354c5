"""Encryption at rest: personal fields sealed value by value (AES-256-GCM), in column types.

A sealed value is text, so it fits the columns as they are: `lk3:1:<key id>:<base64 of
nonce, ciphertext and tag>` (standard base64 through binascii, the quickest; the value never
travels in a URL). The additional data is the column's name ("messages.text"), so a value
copied into another column does not open there: it fails as tampered, never as wrong text.

Three column types, and nothing outside `storage` sees ciphertext:

- `Sealed`: free text, a fresh random nonce per value.
- `SealedJSON`: a JSON value (orjson text, then sealed). The markers that say a value was
  removed (`{"erased":true}` and the like) and empty values (`{}`, `[]`) carry nothing
  personal and stay as they are, so SQL can still tell removed rows from the rest.
- `Address`: a channel address looked up by equality (contacts, outbox recipients). Its
  nonce is HMAC-SHA256(a MAC key derived from the data key, column and address), cut to 12
  bytes: equal addresses seal to equal text under one key, so unique constraints, indexes and
  `WHERE recipient = :x` keep working. This is the keyed hash (blind index) lookup: equality
  through an HMAC, with the address itself sealed. Distinct addresses get distinct nonces.

Keys come in a ring (`Ring`, newest first; `storage.keys` reads it from LK3_DATA_KEYS or the
key file): values are sealed with the newest key and opened with whichever key their id
names. During a rotation an address may be stored under an older key, so lookups ask for
every key's form (`any_key`). A value without the `lk3:1:` mark is plaintext from before
encryption (migration 0013 seals it) and reads as it is. The ring is configuration, set once
at start-up (`install`) before any engine is used.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from storage.jsontext import JSONText, dumps, loads

MARK = "lk3:1:"  # six characters: `unseal` counts on it
CACHED = 10_000  # addresses remembered per process, each way, before starting afresh (about
# 3 MiB: a broadcast to 100,000 people reads 100,000 addresses once; families who write
# again are the ones worth remembering)
REMEMBERED = 20_000  # values a process sealed and may read back (`SealedJSON`), at most
ERASED, PURGED, REDACTED = '{"erased":true}', '{"purged":true}', '{"redacted":true}'
MARKERS = frozenset({ERASED, PURGED, REDACTED})  # a value removed: SQL looks for these
PLAIN_JSON = MARKERS | {"{}", "[]"}  # JSON that says nothing personal: stored as it is

_b64, _unb64 = binascii.b2a_base64, binascii.a2b_base64
_nonces: list[bytes] = []


def _nonce() -> bytes:
    """12 random bytes: from a pool filled by one `os.urandom` call per 1,024 nonces (a
    system call per value cost a fifth of sealing it); a forked child starts a pool of its
    own, so no nonce is ever handed out twice."""
    try:
        return _nonces.pop()
    except IndexError:
        pool = os.urandom(12 * 1024)
        _nonces[:] = [pool[i:i + 12] for i in range(0, len(pool), 12)]
        return _nonces.pop()


os.register_at_fork(after_in_child=_nonces.clear)


class SealError(Exception):
    """A value cannot be sealed or opened: no ring installed, an unknown key id, or a value
    that was changed or moved from another column. Never wrong text instead."""


class DataKey:
    """One key of the ring: its id, the AES-GCM cipher, and the MAC key for addresses."""

    def __init__(self, kid: str, secret: bytes) -> None:
        self.kid, self.prefix = kid, f"{MARK}{kid}:"
        self.aead = AESGCM(secret)
        self.mac = hmac.digest(secret, b"lk3 address nonce v1", "sha256")


class Ring:
    """The data keys, newest first: the newest seals, any of them opens."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.keys = [DataKey(kid, secret) for kid, secret in keys]
        self.newest = self.keys[0]
        self.by_id = {k.kid: k for k in self.keys}

    @property
    def ids(self) -> list[str]:
        return [k.kid for k in self.keys]


_ring: Ring | None = None
_newest: DataKey | None = None  # the ring's newest key and keys by id, read once per value
_by_id: dict[str, DataKey] = {}
_fixed: dict[tuple[bytes, str, str], str] = {}  # (column, key id, address) -> sealed
_opened: dict[tuple[bytes, str], str] = {}  # (column, sealed address) -> address
_recent: dict[tuple[bytes, str], str] = {}  # (column, sealed) -> text this process sealed


def install(ring: Ring | None) -> Ring | None:
    """Make `ring` the process's keys (at start-up, before engines are used); the ring it
    replaces back (tests put theirs back)."""
    global _ring, _newest, _by_id
    before, _ring = _ring, ring
    _newest, _by_id = (ring.newest, ring.by_id) if ring is not None else (None, {})
    _fixed.clear()
    _opened.clear()
    _recent.clear()
    return before


def current() -> Ring:
    if _ring is None:
        raise SealError("no data keys are installed (storage.crypto.install at start-up)")
    return _ring


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MARK)


def key_id(stored: str) -> str | None:
    """The id of the key a stored value is sealed with (None: not sealed)."""
    return stored[len(MARK):stored.find(":", len(MARK))] if stored.startswith(MARK) else None


def _pack(key: DataKey, nonce: bytes, text: str, aad: bytes) -> str:
    sealed = key.aead.encrypt(nonce, text.encode(), aad)
    return key.prefix + _b64(nonce + sealed, newline=False).decode()


def seal(aad: bytes, text: str, key: DataKey | None = None) -> str:
    """`text` sealed for column `aad` with a random nonce (the newest key by default)."""
    return _pack(key or _newest or current().newest, _nonce(), text, aad)


def seal_fixed(aad: bytes, text: str, key: DataKey | None = None) -> str:
    """`text` sealed for column `aad` with the nonce its keyed hash gives: the same text
    always seals to the same value under one key."""
    key = key or current().newest
    found = _fixed.get((aad, key.kid, text))
    if found is None:
        raw = text.encode()
        nonce = hmac.digest(key.mac, aad + b"\0" + raw, "sha256")[:12]
        found = _pack(key, nonce, text, aad)
        if len(_fixed) >= CACHED:
            _fixed.clear()
        _fixed[(aad, key.kid, text)] = found
    return found


def unseal(aad: bytes, stored: str) -> str:
    """The text of a value sealed for column `aad`; a value not sealed as it is."""
    if not stored.startswith(MARK):
        return stored
    end = stored.find(":", 6)  # len(MARK)
    kid = stored[6:end]
    key = _by_id.get(kid)
    if key is None:
        current()  # no ring installed: says so
        raise SealError(f"a value of {aad.decode()} is sealed with key {kid!r}, which is not "
                        "among the data keys (LK3_DATA_KEYS or the key file)")
    try:
        raw = _unb64(stored[end + 1:])
        return key.aead.decrypt(raw[:12], raw[12:], aad).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise SealError(f"a value of {aad.decode()} does not open with key {kid!r}: it was "
                        "changed, or moved from another column") from exc


class Lookup(str):
    """An address already sealed for its column (`any_key`): written as it is."""


class _SealedType(TypeDecorator[Any]):
    """A sealed column: `where` is "table.column" (the additional data); `stored` is the
    type SQLite declares (the schema from before migration 0013, which SQLite never
    enforced); PostgreSQL stores TEXT."""

    impl = Text
    cache_ok = True

    def __init__(self, where: str, stored: TypeEngine[Any] | None = None) -> None:
        super().__init__()
        self.where, self.stored = where, stored
        self.aad = where.encode()

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return self.stored if dialect.name == "sqlite" and self.stored is not None else Text()

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        return self.write

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        return self.read

    def write(self, value: Any) -> Any:
        raise NotImplementedError

    def read(self, value: Any) -> Any:
        raise NotImplementedError

    def reseal(self, stored: str, key: DataKey) -> str:
        """A stored value sealed again with `key` (plaintext from before 0013 sealed)."""
        return seal(self.aad, unseal(self.aad, stored), key)

    def opened(self, stored: str) -> str:
        """A stored value as plaintext stored text (for a downgrade)."""
        return unseal(self.aad, stored)


class Sealed(_SealedType):
    """Free text; an empty text stays empty (it says nothing, and SQL asks `text != ''`)."""

    cache_ok = True

    def write(self, value: Any) -> Any:
        return seal(self.aad, value) if value else value

    def read(self, value: Any) -> Any:
        return unseal(self.aad, value) if value else value


class SealedJSON(_SealedType):
    """A JSON value (None is SQL NULL); the removal markers and empty values (`PLAIN_JSON`)
    stay as they are. With `remember`, the process keeps what it sealed last (`REMEMBERED`
    values) and reads it back without opening it: a conversation is written by the
    processor that reads it next, once a message."""

    cache_ok = True

    def __init__(self, where: str, stored: TypeEngine[Any] | None = None,
                 remember: bool = False) -> None:
        super().__init__(where, stored)
        self.remember = remember

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        text = str(value) if type(value) is JSONText else dumps(value)
        if text in PLAIN_JSON:
            return text
        sealed = seal(self.aad, text)
        if self.remember:
            if len(_recent) >= REMEMBERED:
                _recent.clear()
            _recent[(self.aad, sealed)] = text
        return sealed

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        text = _recent.get((self.aad, value)) if self.remember else None
        return loads(text if text is not None else unseal(self.aad, value))

    def reseal(self, stored: str, key: DataKey) -> str:
        text = unseal(self.aad, stored)
        return text if text in PLAIN_JSON else seal(self.aad, text, key)


class Address(_SealedType):
    """A channel address, sealed deterministically so equality finds it (see the module)."""

    cache_ok = True

    def write(self, value: Any) -> Any:
        if value is None or type(value) is Lookup:
            return None if value is None else str(value)
        return seal_fixed(self.aad, value)

    def read(self, value: Any) -> Any:
        if value is None or not value.startswith(MARK):
            return value
        found = _opened.get((self.aad, value))
        if found is None:
            found = unseal(self.aad, value)
            if len(_opened) >= CACHED:
                _opened.clear()
            _opened[(self.aad, value)] = found
        return found

    def reseal(self, stored: str, key: DataKey) -> str:
        return seal_fixed(self.aad, self.read(stored), key)

    def any_key(self, values: Iterable[str]) -> list[Lookup]:
        """Each address as every key of the ring seals it (newest first): what a lookup
        compares with while a rotation has not reached every row."""
        keys = current().keys
        return [Lookup(seal_fixed(self.aad, v, k)) for v in values for k in keys]


def sealed_type(column: Column[Any] | Any) -> _SealedType | None:
    kind = getattr(column, "type", None)
    return kind if isinstance(kind, _SealedType) else None


def writer_of(column: Column[Any] | Any) -> Callable[[Any], Any] | None:
    """How a value of this column is stored, when it is sealed (None: as it is)."""
    kind = sealed_type(column)
    return None if kind is None else kind.write


def reader_of(column: Column[Any] | Any) -> Callable[[Any], Any] | None:
    kind = sealed_type(column)
    return None if kind is None else kind.read


def any_key(column: Column[Any] | Any, values: Iterable[str]) -> list[Lookup]:
    """The stored forms of these addresses of an `Address` column under every key."""
    kind = sealed_type(column)
    assert isinstance(kind, Address), f"{column} is not an address column"
    return kind.any_key(values)


def lock_id(text: str) -> int:
    """A signed 64-bit number for `text` (PostgreSQL advisory locks per contact), from a keyed
    hash, so the address itself never goes to the server; stable while the ring's newest key
    is (every process of a service runs with the same ring)."""
    digest = hmac.digest(current().newest.mac, text.encode(), hashlib.sha256)
    return int.from_bytes(digest[:8], "big", signed=True)
