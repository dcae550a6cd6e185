"""The findings of one verification, in bounded memory: past FINDINGS_PER_CODE of one code, or
FINDINGS_KEPT in all, findings are counted, not kept, and the report says how many were left out
(AERO_VERIFY_TOO_MANY)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from aeroops.errors import Code, Finding, FormatError

FINDINGS_PER_CODE = 1000
FINDINGS_KEPT = 5000  # of all codes together


class Findings:
    """Collects findings, keeping at most FINDINGS_PER_CODE of each code and FINDINGS_KEPT in all;
    the others are counted."""

    def __init__(self) -> None:
        self._kept: list[Finding] = []
        self._per_code: Counter[Code] = Counter()
        self._not_kept: Counter[Code] = Counter()

    def add(self, finding: Finding) -> None:
        self._per_code[finding.code] += 1
        if self._per_code[finding.code] <= FINDINGS_PER_CODE and len(self._kept) < FINDINGS_KEPT:
            self._kept.append(finding)
        else:
            self._not_kept[finding.code] += 1

    def new(
        self,
        code: Code,
        message: str,
        *,
        path: str | None = None,
        offset: int | None = None,
        sequence: int | None = None,
    ) -> None:
        self.add(Finding.of(code, message, path, offset, sequence))

    def error(self, error: FormatError, *, path: str | None, base: int = 0, sequence: int | None = None) -> None:
        """A format reader's error; its offset is within the member, made an archive offset."""
        offset = None if error.offset is None else base + error.offset
        at = error.sequence if error.sequence is not None else sequence
        self.add(Finding(error.code, error.severity, error.message, path, offset, at))

    def any(self, matches: Callable[[Finding], bool]) -> bool:
        return any(matches(f) for f in self._kept)

    def done(self, members_not_kept: int = 0, members_kept: int = 0) -> tuple[Finding, ...]:
        """The findings kept, then how many of each code were only counted, and how many members
        (``members_kept`` of them are listed in the report)."""
        extra = [
            Finding.of(Code.VERIFY_TOO_MANY, f"{n:,} more {code} findings were counted but not listed")
            for code, n in self._not_kept.items()
        ]
        if members_not_kept:
            extra.append(
                Finding.of(
                    Code.VERIFY_TOO_MANY,
                    f"{members_not_kept:,} more members were checked but not listed (the first {members_kept:,} are)",
                )
            )
        return (*self._kept, *extra)
