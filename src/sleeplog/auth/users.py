"""The user account: what one holds and how its nickname and time zone are checked.

A nickname is 3 to 32 characters, counted after NFC normalisation: Unicode
letters and decimal digits, ``.``, ``_`` and ``-``, and combining marks after
a letter (scripts such as Devanagari cannot write a name without them).
Nicknames are unique without regard to case: :func:`nickname_key` is the NFC
form, case-folded, and stores keep it unique.
"""

import dataclasses
import re
import unicodedata
from datetime import datetime
from typing import Optional

from sleeplog.auth.roles import permissions_of
from sleeplog.errors import ValidationError
from sleeplog.timestamps import TimestampError, format_timestamp, load_zone

MIN_NICKNAME_LENGTH = 3
MAX_NICKNAME_LENGTH = 32

_PUNCTUATION = frozenset("._-")
_LETTERS = frozenset(("Lu", "Ll", "Lt", "Lm", "Lo"))
_MARKS = frozenset(("Mn", "Mc"))


@dataclasses.dataclass(frozen=True)
class User:
    """One account. ``password_hash`` never appears in ``repr`` or JSON."""

    id: int
    nickname: str
    role: str
    timezone: str
    disabled: bool
    token_version: int
    created_at: datetime
    password_hash: Optional[str] = dataclasses.field(default=None, repr=False)

    @property
    def permissions(self):
        """The permissions of the user's role, as a frozenset."""
        return permissions_of(self.role)

    @property
    def owner(self):
        """The owner name of the user's sleep records."""
        return str(self.id)

    def to_json(self):
        """The account as the API sends it, without the password hash."""
        return {
            "id": self.id,
            "nickname": self.nickname,
            "role": self.role,
            "timezone": self.timezone,
            "disabled": self.disabled,
            "created_at": format_timestamp(self.created_at),
        }

    def reference(self):
        """Who acted, as the audit trail records it: id and nickname."""
        return {"id": self.id, "nickname": self.nickname}


#: Marks and fillers that draw nothing: a nickname holding them could pass for
#: another one. Variation selectors, the combining grapheme joiner, Mongolian
#: variation selectors, Hangul fillers and tag characters.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)


def validate_nickname(value, field="nickname"):
    """Return the NFC form of ``value`` if it is a valid nickname.

    Raises :class:`ValidationError` naming ``field`` otherwise.
    """
    if not isinstance(value, str):
        raise ValidationError.of_field(field, "must be a string")

    nickname = unicodedata.normalize("NFC", value)
    if not MIN_NICKNAME_LENGTH <= len(nickname) <= MAX_NICKNAME_LENGTH:
        raise ValidationError.of_field(
            field,
            f"must be {MIN_NICKNAME_LENGTH} to {MAX_NICKNAME_LENGTH} characters long",
        )

    previous = None
    for char in nickname:
        if _INVISIBLE.match(char):
            raise ValidationError.of_field(field, "may not hold invisible characters")
        category = unicodedata.category(char)
        allowed = (
            char in _PUNCTUATION
            or category in _LETTERS
            or category == "Nd"
            or (category in _MARKS and previous in _LETTERS | _MARKS)
        )
        if not allowed:
            raise ValidationError.of_field(
                field, "may hold only letters, digits, '.', '_' and '-'"
            )
        previous = category
    return nickname


def nickname_key(nickname):
    """The form of ``nickname`` that is unique among users: NFKC, case-folded.

    Compatibility forms fold too, so full-width or mathematical letters
    cannot pose as the plain ones (``ａｌｉｃｅ`` is ``alice``). Works on any
    string, valid nickname or not, so a login can look up whatever it was sent.
    """
    folded = unicodedata.normalize("NFKC", nickname).casefold()
    return unicodedata.normalize("NFKC", folded)


def validate_timezone(value, field="timezone"):
    """Return ``value`` if it names an IANA time zone; raise ``ValidationError``."""
    try:
        load_zone(value)
    except TimestampError as exc:
        raise ValidationError.of_field(field, str(exc)) from None
    return value
