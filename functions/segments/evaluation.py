"""Re-evaluating one customer: after an event (follow, unfollow, consent, order) and in the jobs.

Only that customer is read, by key: their profile (GetItem), the segments (one Query of one
partition), then one write (PutItem when no membership changes, else one transaction). A
decision made on a profile or rules that changed meanwhile is made again (membership.Stale).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pynamodb.exceptions import DoesNotExist

from functions.core import clock
from functions.segments import membership
from functions.segments.membership import Stale
from functions.segments.models import PROFILE, ProfileRow
from functions.segments.rules import Profile, matches
from functions.segments.segment import Segment, list_segments

log = logging.getLogger(__name__)

ATTEMPTS = 8

Change = Callable[[Profile], Profile | None]  # the event's effect; None: nothing changed


@dataclass
class Outcome:
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    attempts: int = 0
    wrote: bool = False


def load_profile(openid: str) -> Profile:
    try:
        return membership.to_profile(ProfileRow.get(openid, PROFILE, consistent_read=True))
    except DoesNotExist:
        return Profile(openid)


def diff(profile: Profile, segments: Sequence[Segment], today: date) -> tuple[list[Segment], list[Segment]]:
    """(segments to join, segments to leave) for `profile` on `today`."""
    joins, leaves = [], []
    for segment in segments:
        member = segment.id in profile.segments
        wanted = matches(segment.rules, profile, today)
        if wanted and not member:
            joins.append(segment)
        elif member and not wanted:
            leaves.append(segment)
    return joins, leaves


def apply(
    openid: str,
    change: Change | None = None,
    segments: Callable[[], Sequence[Segment]] = list_segments,
    first: Profile | None = None,
) -> Outcome:
    """Apply `change` to the customer's profile and re-evaluate them against `segments`.

    Without `change` only the membership is re-evaluated (the jobs); `first` is a profile
    already read (a Scan page), used for the first attempt only.
    """
    outcome = Outcome()
    for attempt in range(ATTEMPTS):
        outcome.attempts = attempt + 1
        before = first if (first is not None and attempt == 0) else load_profile(openid)
        after = before if change is None else change(before)
        if after is None:
            return outcome
        joins, leaves = diff(after, segments(), clock.business_date())
        if after == before and not joins and not leaves:
            return outcome
        try:
            membership.write(before, after, joins, leaves)
        except Stale:
            log.debug("segments: %s changed meanwhile, evaluating again", openid)
            continue
        outcome.joined = [s.id for s in joins]
        outcome.left = [s.id for s in leaves]
        outcome.wrote = True
        return outcome
    raise Stale(f"{openid}: still changing after {ATTEMPTS} attempts")
