"""Facts about a person that several services need."""

from __future__ import annotations

from bot.models import ChannelIdentity, Person


def reachable_identity(person: Person | None) -> ChannelIdentity | None:
    """The channel the person used last, unless they opted out or blocked us there."""
    if person is None or person.opted_out_at is not None:
        return None
    usable = [i for i in person.identities if i.unreachable_at is None]
    preferred = [i for i in usable if i.channel == person.last_channel]
    return (preferred or sorted(usable, key=lambda i: i.last_seen_at, reverse=True) or [None])[0]
