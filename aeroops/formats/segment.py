"""A WAL segment: records ``first..last`` of one timeline, copied byte for byte from
``wal/wal.log`` by ``archive-wal`` (so it is itself a valid AeroDB WAL fragment), with a
digest sidecar beside it (``<segment>.b3``, what ``b3sum -c`` checks).

Everything the planner needs about a segment is in its name, so a listing of the folder
describes it and a person reads it at a glance::

    wal-20261206T203655Z-000000000031-000000000055-20261206T211500Z-3fa2b1c0.wal
        timeline          first        last         archived at      link

* timeline: the snapshot id ``checkpoint.json`` named when the records were archived (the
  checkpoint the timeline begins at; `ORIGIN` before any checkpoint);
* first, last: the sequences of its first and last record;
* archived at: when ``archive-wal`` published it (records carry no time);
* link: the CRC-32 of the record before ``first`` (its checksum field), ``00000000`` when
  ``first`` is 1: a segment that does not continue the one before it (from another data
  directory, or from a WAL rewritten under the archive) is seen from the names alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from aeroops.formats.ids import SNAPSHOT_ID_FORMAT

SEGMENT_SUFFIX = ".wal"
ORIGIN = "00000000T000000Z"  # the timeline of a data directory never checkpointed
SEQUENCE_DIGITS = 12
_NAME = re.compile(
    r"wal-(?P<timeline>\d{8}T\d{6}Z)-(?P<first>\d{12,20})-(?P<last>\d{12,20})"
    r"-(?P<archived>\d{8}T\d{6}Z)-(?P<link>[0-9a-f]{8})\.wal"
)


@dataclass(frozen=True, slots=True, order=True)
class SegmentName:
    timeline: str
    first: int
    last: int
    archived_at: datetime
    link: int  # CRC-32 of record first - 1; 0 when first == 1

    @property
    def file_name(self) -> str:
        return (
            f"wal-{self.timeline}-{self.first:0{SEQUENCE_DIGITS}d}-{self.last:0{SEQUENCE_DIGITS}d}"
            f"-{self.archived_at.astimezone(UTC).strftime(SNAPSHOT_ID_FORMAT)}-{self.link:08x}{SEGMENT_SUFFIX}"
        )

    @property
    def records(self) -> int:
        return self.last - self.first + 1


def parse_segment_name(name: str) -> SegmentName | None:
    """The segment a file name describes; None for any other file (its sidecar included)."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    first, last = int(match["first"]), int(match["last"])
    try:
        archived = datetime.strptime(match["archived"], SNAPSHOT_ID_FORMAT).replace(tzinfo=UTC)
        datetime.strptime(match["timeline"], SNAPSHOT_ID_FORMAT) if match["timeline"] != ORIGIN else None
    except ValueError:
        return None
    if first < 1 or last < first:
        return None
    return SegmentName(match["timeline"], first, last, archived, int(match["link"], 16))


def looks_like_segment(name: str) -> bool:
    """A name archive-wal could have written (``wal-….wal``), parsed or not: inventory names the
    ones that do not parse rather than passing over them."""
    return name.startswith("wal-") and name.endswith(SEGMENT_SUFFIX)


__all__ = ["ORIGIN", "SEGMENT_SUFFIX", "SegmentName", "looks_like_segment", "parse_segment_name"]
