"""``aeroops inventory FOLDER [--verify]``: one row per archive in a folder.

Exit 0 when every ``*.tar`` file is a readable archive and, with --verify, verifies clean
(warnings allowed); 1 otherwise. JSON is a list with one object per row.

--newest-good verifies and prints the restore decision instead (`aeroops.core.newest_good`): the
newest archive that verifies clean, overall and of each snapshot; exit 1 when no archive does.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from aeroops.cli.arguments import add_folder_arguments, add_identity_arguments, add_output_arguments

if TYPE_CHECKING:
    from aeroops.core.inventory import Inventory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_folder_arguments(parser)
    parser.add_argument("--verify", action="store_true", help="verify every archive (reads each one whole)")
    parser.add_argument(
        "--newest-good",
        action="store_true",
        help="verify, then show only the newest archive that verifies clean, overall and per snapshot",
    )
    add_identity_arguments(parser)
    parser.add_argument(
        "--wal",
        action="store_true",
        help="show the WAL archive instead: segments per timeline, problems, each base's restorable range",
    )
    parser.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="with --verify on a folder URL: verify on the Dask cluster at SCHEDULER (tcp://host:8786)",
    )
    add_output_arguments(parser, formats=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.audit import inventory
    from aeroops.executor.fileops import REAL
    from aeroops.views import records, text
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import inventory_json

    if args.wal:
        return _wal(args)
    verify = args.verify or args.newest_good
    with terminal_progress(verify and not args.no_progress) as progress:
        result = inventory(
            args.folder,
            recursive=args.recursive,
            verify=verify,
            progress=progress,
            dask=args.dask,
            identities=args.identities,
            ops=REAL,
        )
    if args.newest_good:
        return _newest_good(result, args.format)
    if args.format == "json":
        print(json.dumps(inventory_json(result), indent=2))
    elif args.format == "csv":
        text.write_csv(sys.stdout, records.inventory_records(result), records.inventory_columns(result))
    else:
        print(text.render_inventory(result))
        if not args.recursive:
            _wal_section(args)
    return 0 if result.ok else 1


def _wal(args: argparse.Namespace) -> int:
    from aeroops.executor.fileops import REAL
    from aeroops.executor.pitr import wal_archive
    from aeroops.views.pitr import render_wal_archive
    from aeroops.views.serialise import timeline_row_json, wal_archive_json

    report = wal_archive(args.folder, checked=args.verify, ops=REAL)
    if args.format == "json":
        print(json.dumps(wal_archive_json(report), indent=2))
    elif args.format == "csv":
        from aeroops.views import text

        rows = [timeline_row_json(t) for t in report.timelines]
        columns = ("timeline", "segments", "first", "last", "reach", "newest_archived")
        text.write_csv(sys.stdout, [{c: r[c] for c in columns} for r in rows], columns)
    else:
        print(render_wal_archive(report))
    return 0 if report.ok else 1


def _wal_section(args: argparse.Namespace) -> None:
    """Under the archives' table, the WAL archive's summary when the folder holds segments (in
    a bucket, one more listing says whether it does: the archives' heads are not read twice
    for a folder without any)."""
    from aeroops.executor.fileops import REAL
    from aeroops.executor.location import is_url
    from aeroops.executor.pitr import wal_archive

    if is_url(args.folder):
        from aeroops.executor.remote_wal import list_files
        from aeroops.formats.segment import looks_like_segment

        if not any(looks_like_segment(name) for name, _ in list_files(args.folder, REAL)):
            return
    from aeroops.views.pitr import render_wal_archive

    report = wal_archive(args.folder, checked=args.verify, ops=REAL)
    if report.timelines or report.strays:
        print(render_wal_archive(report))


def _newest_good(result: Inventory, form: str) -> int:
    from aeroops.core.inventory import Inventory
    from aeroops.core.newest_good import newest_good
    from aeroops.views import records, text
    from aeroops.views.serialise import newest_good_json

    found = newest_good(result.rows)
    if form == "json":
        print(json.dumps(newest_good_json(found), indent=2))
    elif form == "csv":
        chosen = Inventory(result.folder, found.per_snapshot, result.taken_at, verified=True)
        text.write_csv(sys.stdout, records.inventory_records(chosen), records.inventory_columns(chosen))
    else:
        print(text.render_newest_good(found))
    return 0 if found.overall is not None else 1
