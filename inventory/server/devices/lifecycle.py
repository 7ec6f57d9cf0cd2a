"""The lifecycle of a laptop, as data: its statuses and the moves allowed between them.

received → diagnosed → erased → imaged → certified → allocated → in maintenance →
returned / recycled. Bench runs move a laptop through the first part (a later run may
move it back: a re-run after a repair that failed its erasure is "diagnosed" again);
coordinators move it through the rest. A returned laptop goes back to the bench (its
trainee's data is on it) before it can be allocated again.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from inventory.record import erasure_cause
from inventory.server.choices import Choices


class Status(Choices):
    RECEIVED = "received"
    DIAGNOSED = "diagnosed"
    ERASED = "erased"
    IMAGED = "imaged"
    CERTIFIED = "certified"
    ALLOCATED = "allocated"
    MAINTENANCE = "maintenance"
    RETURNED = "returned"
    RECYCLED = "recycled"

    choices = [
        (RECEIVED, _("received")),
        (DIAGNOSED, _("diagnosed")),
        (ERASED, _("erased")),
        (IMAGED, _("imaged")),
        (CERTIFIED, _("certified")),
        (ALLOCATED, _("allocated")),
        (MAINTENANCE, _("in maintenance")),
        (RETURNED, _("returned")),
        (RECYCLED, _("recycled")),
    ]


def status_label(status: str) -> str:
    return Status.label(status)


BENCH_RESULTS = {Status.DIAGNOSED, Status.ERASED, Status.IMAGED, Status.CERTIFIED}

ALLOWED: dict[str, set[str]] = {
    Status.RECEIVED: BENCH_RESULTS | {Status.RECYCLED},
    Status.DIAGNOSED: BENCH_RESULTS | {Status.RECYCLED},
    Status.ERASED: BENCH_RESULTS | {Status.RECYCLED},
    Status.IMAGED: BENCH_RESULTS | {Status.RECYCLED},
    Status.CERTIFIED: BENCH_RESULTS | {Status.ALLOCATED, Status.RECYCLED},
    Status.ALLOCATED: {Status.MAINTENANCE, Status.RETURNED},
    Status.MAINTENANCE: {Status.ALLOCATED, Status.RETURNED},
    Status.RETURNED: BENCH_RESULTS | {Status.RECYCLED},
    Status.RECYCLED: set(),
}


class TransitionRefused(Exception):
    """A move the lifecycle does not allow; the message says why, for a person."""


def check_transition(current: str, new: str) -> None:
    if new == current:
        return
    if new not in ALLOWED.get(current, set()):
        raise TransitionRefused(
            _("A laptop that is %(current)s cannot become %(new)s.")
            % {"current": status_label(current), "new": status_label(new)}
        )


def status_from_record(record: dict[str, Any]) -> str:
    """Where a bench run leaves the laptop, from the record's own facts.

    The steps are in order: a laptop whose erasure did not complete is "diagnosed" even
    if an image was written afterwards (data may remain on the drive that failed);
    "imaged" is a verified image with no erasure at all (e.g. a blank replacement drive).
    """
    erased = erasure_cause(record) is None  # every drive of the laptop, every erasure
    if record.get("kind") == "recycling":
        return Status.RECYCLED if erased else Status.DIAGNOSED
    if record.get("certified"):
        return Status.CERTIFIED
    erasures = record.get("erasures") or []
    imaged = (record.get("image") or {}).get("status") == "verified"
    if erased:
        return Status.ERASED
    if not erasures and imaged:
        return Status.IMAGED
    return Status.DIAGNOSED
