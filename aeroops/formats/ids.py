"""Snapshot ids (``20260204T113000Z``) and manifest timestamps (``2026-02-04T11:30:00Z``)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from aeroops.errors import Code, FormatError

_SNAPSHOT_ID = re.compile(r"\d{8}T\d{6}Z")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
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
    if isinstance(text, str) and _SNAPSHOT_ID.fullmatch(text):
        try:
            return datetime.strptime(text, SNAPSHOT_ID_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise FormatError(f"{text!r} is not a snapshot id (YYYYMMDDTHHMMSSZ)", path=path, code=Code.MANIFEST_INVALID)


def format_snapshot_id(moment: datetime) -> str:
    return _utc(moment).strftime(SNAPSHOT_ID_FORMAT)


def parse_timestamp(text: object, *, path: object = None) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``, the only timestamp form AeroDB writes."""
    if isinstance(text, str) and _TIMESTAMP.fullmatch(text):
        try:
            return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise FormatError(f"{text!r} is not a timestamp (YYYY-MM-DDTHH:MM:SSZ)", path=path, code=Code.MANIFEST_INVALID)


def format_timestamp(moment: datetime) -> str:
    return _utc(moment).strftime(TIMESTAMP_FORMAT)


def parse_user_time(text: str) -> datetime:
    """A time typed by a person: ISO 8601; without a zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise FormatError(f"{text!r} is not an ISO 8601 time", code=Code.USAGE) from None
    return _utc(moment).replace(microsecond=0)


def default_created_at(environ: dict[str, str] | os._Environ[str] | None = None) -> datetime:
    """``SOURCE_DATE_EPOCH`` where set (reproducible builds' convention), else now."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except ValueError:
            raise FormatError(f"SOURCE_DATE_EPOCH={epoch!r} is not whole seconds", code=Code.USAGE) from None
    return datetime.now(UTC).replace(microsecond=0)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
