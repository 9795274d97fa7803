"""Passwords, session and API tokens, CSRF tokens: the few primitives the workspace trusts.

Passwords are hashed with Argon2id (argon2-cffi, its recommended parameters). Session and API
tokens are random and stored only as SHA-256 digests, so a copy of the database does not let
anyone in. A CSRF token is an HMAC of the session, so it needs no storage and dies with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
API_TOKEN_PREFIX = "hzn_"


@cache
def _decoy_hash() -> str:
    """Verified against when the user name is unknown, so a wrong name costs as long as a
    wrong password and timing does not reveal which names exist."""
    return _HASHER.hash("decoy password that no account has")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _decoy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_secret_key() -> str:
    return secrets.token_hex(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(secret_key: str, session_digest: str) -> str:
    return hmac.new(secret_key.encode(), session_digest.encode(), hashlib.sha256).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)
