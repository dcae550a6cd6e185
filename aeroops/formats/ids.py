"""Snapshot ids (``20260204T113000Z``) and manifest timestamps (``2026-02-04T11:30:00Z``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aeroops.errors import Code, FormatError, UsageError

_SNAPSHOT_ID = re.compile(r"\d{8}T\d{6}Z")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_EPOCH = re.compile(r"-?[0-9]{1,20}")  # `date +%s`'s form, as reproducible builds define it
SNAPSHOT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def is_snapshot_id(text: str) -> bool:
    try:
        parse_snapshot_id(text)
    except FormatError:
        return False
    return True


def parse_snapshot_id(text: object, *, path: object = None) -> datetime:
    """The UTC time a snapshot id names; lexical order of ids is time order."""
    return _parse_utc(text, _SNAPSHOT_ID, SNAPSHOT_ID_FORMAT, "a snapshot id (YYYYMMDDTHHMMSSZ)", path)


def format_snapshot_id(moment: datetime) -> str:
    return _utc(moment).strftime(SNAPSHOT_ID_FORMAT)


def parse_timestamp(text: object, *, path: object = None) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``, the only timestamp form AeroDB writes."""
    return _parse_utc(text, _TIMESTAMP, TIMESTAMP_FORMAT, "a timestamp (YYYY-MM-DDTHH:MM:SSZ)", path)


def _parse_utc(text: object, pattern: re.Pattern[str], form: str, what: str, path: object) -> datetime:
    # The pattern first: strptime alone accepts one-digit fields.
    if isinstance(text, str) and pattern.fullmatch(text):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:  # well-formed, but no such time (month 13, 30 February)
            pass
    raise FormatError(f"{text!r} is not {what}", path=path, code=Code.MANIFEST_INVALID)


def format_timestamp(moment: datetime) -> str:
    return _utc(moment).strftime(TIMESTAMP_FORMAT)


# What a manifest's ``YYYY-MM-DDTHH:MM:SSZ`` and a snapshot id's ``YYYYMMDDTHHMMSSZ`` can carry:
# four-digit years (strftime writes year 999 as "999", which no reader of the format accepts).
FIRST_YEAR, LAST_YEAR = 1000, 9999


def check_creation_time(moment: datetime, *, source: str = "the creation time") -> datetime:
    """``moment`` in UTC, whole seconds, if AeroDB's timestamps can carry it; `UsageError`
    (AERO_USAGE) otherwise. ``source`` names where it came from, for the message."""
    try:
        utc = _utc(moment).replace(microsecond=0)
    except (OverflowError, ValueError):
        utc = None  # e.g. 0001-01-01T00:00:00+05:00: before the first representable UTC instant
    if utc is None or not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise UsageError(
            f"{source} is out of range: AeroDB's timestamps carry UTC times from "
            f"{FIRST_YEAR}-01-01T00:00:00Z to {LAST_YEAR}-12-31T23:59:59Z"
        )
    return utc


def parse_user_time(text: str) -> datetime:
    """A time typed by a person: ISO 8601; without a zone it is taken as UTC. Raises
    `UsageError` for anything else, or a time AeroDB's timestamps cannot carry."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time: write it as ISO 8601, e.g. 2026-02-04T12:00:00Z (UTC) "
            "or 2026-02-04T13:00:00+01:00"
        ) from None
    return check_creation_time(moment, source=repr(text))


def parse_source_date_epoch(epoch: str) -> datetime:
    """The time ``SOURCE_DATE_EPOCH`` (reproducible builds' convention) names; `UsageError` for
    anything but whole seconds AeroDB's timestamps can carry. The shell reads the variable
    (`aeroops.executor.clock`)."""
    source = f"SOURCE_DATE_EPOCH={epoch!r}"
    if not _EPOCH.fullmatch(epoch):
        raise UsageError(f"{source} is not whole seconds since 1970-01-01T00:00:00Z (e.g. 1770206400)")
    try:
        moment = datetime.fromtimestamp(int(epoch), UTC)
    except (OverflowError, ValueError, OSError):
        moment = datetime.min  # out of range of any clock: refused just below
    return check_creation_time(moment, source=source)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
