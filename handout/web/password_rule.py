"""The rule for the front desk's sign-in password (HANDOUT_WEB_PASSWORD): long, and not a common or easily guessed one (OWASP ASVS 2.1)."""

from __future__ import annotations

from functools import cache

MIN_LENGTH = 12  # ASVS 2.1.1
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses), far beyond what one guess a second at the sign-in page reaches.
MIN_SCORE = 3
# Words anyone guessing at a clinic's front desk tries first.
OBVIOUS_WORDS = ["handout", "front desk", "frontdesk", "reception", "clinic", "physio", "physiotherapy", "walking", "password", "patient"]


def web_password_problem(password: str) -> str | None:
    """Why a sign-in password is too easy to guess (to follow its variable's name), or None.

    No rule about kinds of character (ASVS 2.1.9): three or four unrelated words pass, "Password1234!" does not.
    """
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long: three or four unrelated words are easy to type and hard to guess"
    if password.lower() in _common_passwords():
        return "is a common password, one of those guessing programs try first: choose another, for example three or four unrelated words"
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=OBVIOUS_WORDS)["score"] < MIN_SCORE:  # (its time grows with the length: 100 is plenty)
        return (
            "is too easy to guess (a common word, name, date or keyboard pattern, or one repeated): choose another, for example three or four unrelated words"
        )
    return None


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 passwords most often found in breaches, as zxcvbn ranks them."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])
