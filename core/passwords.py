"""Password hashing with Argon2id (memory-hard); parameters come from configuration."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str, params: dict[str, int]) -> str:
    """An Argon2id hash of `password` (salted, parameters embedded)."""
    return _hasher(**params).hash(password)


def verify_password(password_hash: str, password: str, params: dict[str, int]) -> bool:
    """True when `password` matches; never raises on a bad or foreign hash."""
    try:
        return _hasher(**params).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(params: dict[str, int]) -> None:
    """Spend the same time as a real check, so unknown emails are not told apart by timing."""
    verify_password(_dummy_hash(**params), "not-the-password", params)


@cache
def _dummy_hash(**params: int) -> str:
    return hash_password("dummy-password-for-timing", params)
