"""The restore decision, and the freshness check built on it. Pure.

Which archive would I restore from? The newest one that verifies clean: of each snapshot (a
restore of that snapshot), and overall (a restore of the newest state). `newest_good` answers it
from inventory rows with verdicts; runbook 02, the restore panel's default, ``aeroops inventory
--newest-good`` and ``aeroops check`` all ask it here.

"Clean" is the verifier's ``ok``: no ERROR or FATAL finding (warnings allowed). A row without a
verdict is never chosen: only a verified archive is known to restore.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aeroops.core.inventory import InventoryRow
from aeroops.core.retention import Duration, Status, newest_first, status_of


@dataclass(frozen=True, slots=True)
class NewestGood:
    """The newest archive that verifies clean, overall and for each snapshot."""

    overall: InventoryRow | None  # the newest clean archive of all
    per_snapshot: tuple[InventoryRow, ...]  # the newest clean archive of each snapshot, by snapshot id
    without_good: tuple[str, ...]  # snapshots that have archives, none of them verified clean
    unverified: int  # rows without a verdict (never chosen)


def newest_good(rows: Iterable[InventoryRow]) -> NewestGood:
    """The newest clean archive per snapshot and overall. Ties in creation time go to the
    greater file name, so the answer never depends on the order of ``rows``."""
    ordered = newest_first(rows)
    per_snapshot: dict[str, InventoryRow] = {}
    for row in ordered:
        if status_of(row) is Status.CLEAN and row.snapshot_id is not None:
            per_snapshot.setdefault(row.snapshot_id, row)
    snapshots = {row.snapshot_id for row in ordered if row.snapshot_id is not None}
    clean = [row for row in ordered if status_of(row) is Status.CLEAN]
    return NewestGood(
        overall=clean[0] if clean else None,
        per_snapshot=tuple(per_snapshot[s] for s in sorted(per_snapshot)),
        without_good=tuple(sorted(snapshots - per_snapshot.keys())),
        unverified=sum(status_of(row) is Status.UNVERIFIED for row in ordered),
    )


def verification_order(rows: Iterable[InventoryRow]) -> list[InventoryRow]:
    """The archives to verify, newest first, when only the newest good one is wanted: verify in
    this order and stop at the first clean one."""
    return [row for row in newest_first(rows) if status_of(row) is not Status.UNREADABLE]


@dataclass(frozen=True, slots=True)
class Freshness:
    """Is the newest good archive younger than ``max_age``? What ``aeroops check`` reports."""

    newest: InventoryRow | None  # the newest archive that verifies clean
    max_age: Duration
    now: datetime
    rows: tuple[InventoryRow, ...]  # every row, with the verdicts found on the way

    @property
    def age(self) -> timedelta | None:
        if self.newest is None or self.newest.created_at is None:
            return None
        return self.now - self.newest.created_at

    @property
    def fresh(self) -> bool:
        created = None if self.newest is None else self.newest.created_at
        return created is not None and created >= self.max_age.before(self.now)

    def counts(self) -> dict[Status, int]:
        found = {status: 0 for status in Status}
        for row in self.rows:
            found[status_of(row)] += 1
        return found

    def total_bytes(self) -> int:
        return sum(row.size or 0 for row in self.rows)


def assess_freshness(rows: Iterable[InventoryRow], max_age: Duration, now: datetime) -> Freshness:
    rows = tuple(rows)
    return Freshness(newest_good(rows).overall, max_age, now, rows)
