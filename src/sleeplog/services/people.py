"""The people behind records' owners, as the caller's accounts describe them.

Accounts live outside this package, so the report and the statistics take a
mapping from a record's ``owner`` to a :class:`Person` built by the caller.
"""

import dataclasses
from typing import Optional, Union


@dataclasses.dataclass(frozen=True)
class Person:
    """Who an ``owner`` is: account id, nickname and time zone.

    ``timezone`` is an IANA name, used for records that carry none. An owner
    without an account is described by :func:`person_of`.
    """

    owner: str
    user_id: Optional[Union[int, str]] = None
    nickname: Optional[str] = None
    timezone: Optional[str] = None

    @property
    def name(self):
        """The nickname, or the owner string when there is none."""
        return self.owner if self.nickname is None else self.nickname

    def sort_key(self):
        """Order people by nickname, ignoring case, then exactly, then by owner."""
        return (self.name.casefold(), self.name, self.owner)


def person_of(owner, people=None):
    """The :class:`Person` of ``owner`` in ``people``, a mapping owner -> Person.

    An owner with no account is a person whose nickname is the owner string,
    with no id and no time zone.
    """
    person = None if people is None else people.get(owner)
    if person is None:
        return Person(owner=owner, nickname=owner)
    return person
