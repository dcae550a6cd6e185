"""``aeroops archive-wal DATA_DIR -o FOLDER [--every PERIOD]``: copy the WAL records appended
since the last pass into a new segment in FOLDER (the folder of the base backups).

Exit codes: 0 the pass (or every pass) ran; 2 a pass was refused or failed (its
``[ERROR] AERO_WAL_ARCHIVE_*`` line on stderr; with --every the loop stops there, so that a
service manager sees the failure). SIGTERM or SIGINT end --every cleanly after the pass under
way (exit 0).
"""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_output_arguments
from aeroops.core.wal_archive import parse_period


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Copy the WAL records appended since the last pass into a new segment in FOLDER, published "
        "atomically with a digest sidecar; with --every, keep going, one pass per period."
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the data directory (only read)")
    parser.add_argument("-o", "--output", required=True, metavar="FOLDER", help="the folder of the base backups")
    parser.add_argument(
        "--every",
        type=parse_period,
        metavar="PERIOD",
        help="one pass per period (30s, 5m, 1h; m: minutes) until stopped",
    )
    parser.add_argument("--digest", choices=("blake3", "sha256"), default="blake3", help="the sidecar's algorithm")
    add_output_arguments(parser, progress=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.archive_wal import ArchivePass, Every, archive_wal, stop_on_signals
    from aeroops.views.pitr import render_archive_pass

    def show(result: ArchivePass) -> None:
        print(json.dumps(result.to_dict()) if args.json else render_archive_pass(result))
        sys.stdout.flush()

    if args.every is None:
        show(archive_wal(args.data_dir, args.output, digest=args.digest))
        return 0
    every = Every(args.every)
    undo = stop_on_signals(every.stop)
    try:
        for result in every.passes(args.data_dir, args.output, digest=args.digest):
            show(result)
    finally:
        undo()
    return 0
