"""``aeroops archive-wal DATA_DIR -o FOLDER [--every PERIOD]``: copy the WAL records appended
since the last pass into a new segment in FOLDER (the folder of the base backups).

Exit codes: 0 the pass ran; 2 it was refused or failed (its ``[ERROR] AERO_WAL_ARCHIVE_*``
line on stderr). With --every a refused pass is said on stderr and the next period tries again;
SIGTERM or SIGINT end the loop cleanly after the pass under way, with the last pass's status.
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
    from aeroops.executor.fileops import REAL
    from aeroops.views.pitr import render_archive_pass
    from aeroops.views.serialise import archive_pass_json

    def show(result: ArchivePass) -> None:
        print(json.dumps(archive_pass_json(result)) if args.json else render_archive_pass(result))
        sys.stdout.flush()

    if args.every is None:
        show(archive_wal(args.data_dir, args.output, digest=args.digest, ops=REAL))
        return 0
    from aeroops.cli.messages import error_text
    from aeroops.errors import AeroError

    status = 0

    def one_pass(data_dir: str, folder: str, **options: object) -> ArchivePass | None:
        # A refused pass (a checkpoint under way, another run holding the lock) is said and the loop goes
        # on: the next period may succeed; a service manager sees each error on stderr.
        nonlocal status
        try:
            result = archive_wal(data_dir, folder, ops=REAL, **options)  # type: ignore[arg-type]
        except AeroError as error:
            print(error_text(str(error)), file=sys.stderr, flush=True)
            status = error.code.exit_status
            return None
        status = 0
        return result

    every = Every(args.every)
    undo = stop_on_signals(every.stop)
    try:
        for result in every.passes(args.data_dir, args.output, run=one_pass, digest=args.digest):
            if result is not None:
                show(result)
    finally:
        undo()
    return status
