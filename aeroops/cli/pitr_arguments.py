"""The point-in-time options ``restore`` and ``drill`` share: with one of them, their first
argument names the folder of base backups and WAL segments instead of an archive."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from aeroops.cli.arguments import creation_time, whole_number

if TYPE_CHECKING:
    from aeroops.core.pitr import Target


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("point in time (the first argument is then the FOLDER of bases and segments)")
    chosen = group.add_mutually_exclusive_group()
    chosen.add_argument("--to-sequence", type=whole_number, metavar="N", help="restore up to record N of a timeline")
    chosen.add_argument(
        "--to-time", type=creation_time, metavar="TIME", help="restore up to the last record archived at or before TIME"
    )
    chosen.add_argument("--latest", action="store_true", help="restore up to the newest archived record")
    group.add_argument("--timeline", metavar="ID", help="with --to-sequence: the timeline (default: the newest)")


def target_of(args: argparse.Namespace) -> Target | None:
    """The target the options name; None for a plain restore of an archive."""
    from aeroops.core.pitr import Target, TargetKind
    from aeroops.errors import UsageError

    if args.to_sequence is not None:
        return Target(TargetKind.SEQUENCE, args.to_sequence, args.timeline)
    if args.timeline is not None:
        raise UsageError("--timeline goes with --to-sequence")
    if args.to_time is not None:
        return Target(TargetKind.TIME, time=args.to_time)
    if args.latest:
        return Target(TargetKind.LATEST)
    return None
