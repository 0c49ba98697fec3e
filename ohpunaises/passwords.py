"""What a new password must be: 12 characters at least, and not a common password.

Common passwords are those of zxcvbn's list of the 30,000 most frequent ones (it holds
"azerty", "motdepasse" and "soleil" as well as "password"), read after the usual disguises
are taken off: case, digits and symbols added around a word, a word said twice, the person's
own address; runs along the keyboard or the alphabet, and passwords of fewer than five
distinct characters, count as common too. Length is counted in characters, not bytes.
"""

import functools
import re

from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 200  # Argon2 takes any length; a bound keeps a request from costing too much
EXTRA = ("ohpunaises", "punaises", "punaise", "motdepasse", "azertyuiop", "qwertyuiop")
DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# Runs of keys a hand follows: digits, the alphabet, the rows of French and English keyboards.
SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "azertyuiopqsdfghjklmwxcvbn",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
)


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(EXTRA)


def _variants(password: str) -> set[str]:
    """The password as it may have been built from a common one."""
    lowered = password.lower()
    bare = DECORATION.sub("", lowered)
    variants = {lowered, bare, lowered.replace(" ", "")}
    for word in (lowered, bare):
        for size in range(1, len(word) // 2 + 1):
            if len(word) % size == 0 and word[:size] * (len(word) // size) == word:
                variants.add(word[:size])  # "azertyazerty", "aaaaaaaaaaaa"
                break
    return {variant for variant in variants if variant}


def _sequential(password: str) -> bool:
    """Few distinct characters, or a run along a sequence ("123456789012", "azertyuiopqs")."""
    lowered = password.lower()
    if len(set(lowered)) < 5:
        return True
    return any(lowered in run * 3 or lowered in (run * 3)[::-1] for run in SEQUENCES)


def weakness(password: str, email: str = "") -> str | None:
    """Why this password may not be chosen (a French sentence), or None when it may."""
    if len(password) < MIN_LENGTH:
        return _("Au moins %(n)d caractères.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Au plus %(n)d caractères.", n=MAX_LENGTH)
    if "\x00" in password:
        return _("Caractère nul interdit.")
    variants = _variants(password)
    local = email.lower().partition("@")[0]
    if local and len(local) >= 4 and any(local in variant for variant in variants):
        return _("Ce mot de passe reprend votre adresse : choisissez-en un autre.")
    if variants & _common() or _sequential(password):
        return _(
            "Ce mot de passe fait partie des plus courants : choisissez-en un autre, par "
            "exemple une phrase de plusieurs mots."
        )
    return None
