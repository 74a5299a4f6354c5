"""Console passwords: argon2id hashes (argon2-cffi), checked in a thread, never on the loop."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10


class Passwords:
    """Hash and check; unknown users are checked against a dummy hash of the same cost, so
    a refusal takes as long whether or not the username exists."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self.dummy = self.hasher.hash("lk3 console: no such user")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def check(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self.dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    async def check_off_loop(self, stored: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.check, stored, password)


@cache
def default() -> Passwords:
    return Passwords()


def weak(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if not password.strip() or password != password.strip():
        return "a password must not start or end with spaces"
    return None
