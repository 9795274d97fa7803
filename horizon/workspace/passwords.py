"""Password policy: long enough, not a common password, and not easy to guess.

The common-password list is the 10,000 most frequent entries of zxcvbn's password list
(itself drawn from leaked-password corpora); the strength estimate is zxcvbn's score, which
catches repeats, sequences, keyboard walks, dates and dictionary words with substitutions.
A password is stored exactly as typed: spaces at either end are part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# zxcvbn's own limit; characters beyond it only make a password stronger.
_ESTIMATE_PREFIX = 72
# zxcvbn scores 0 (too guessable) to 4; 3 is "safely unguessable" by an online attacker
# and resists a slow-hash offline attack for a good while.
MIN_SCORE = 3
COMMON_LIST_SIZE = 10_000
ADVICE = "use a phrase of three or four unrelated words, or a password manager"


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_LIST_SIZE])


def password_problem(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Why this password is refused, in plain words, or None when it is acceptable."""
    if password.strip().lower() in common_passwords():
        return f"this is one of the {COMMON_LIST_SIZE:,} most common passwords; {ADVICE}"
    estimate = zxcvbn(password[:_ESTIMATE_PREFIX], user_inputs=list(user_inputs))
    if estimate["score"] < MIN_SCORE:
        warning = str(estimate["feedback"].get("warning") or "").rstrip(".")
        reason = f" ({warning[0].lower()}{warning[1:]})" if warning else ""
        return f"too easy to guess{reason}; {ADVICE}"
    return None
