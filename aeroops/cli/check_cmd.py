"""``aeroops check FOLDER --max-age 26h``: for monitoring, is the newest good backup recent?

Verifies the archives newest first until one passes, and prints one line: which archive, how
old. Exit 0 when it is younger than --max-age, 1 when it is older or no archive verifies clean,
2 on an error (no such folder, a bad duration). --prometheus FILE also writes the figures for
node_exporter's textfile collector (replaced whole, by a rename).
"""

from __future__ import annotations

import argparse
import json

from aeroops.cli.arguments import add_folder_arguments, add_identity_arguments, add_output_arguments
from aeroops.core.retention import parse_duration
from aeroops.core.wal_archive import parse_period


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_folder_arguments(parser)
    parser.add_argument("--max-age", type=parse_duration, metavar="DURATION", help="e.g. 26h, 2d, 1w")
    parser.add_argument(
        "--max-wal-age",
        type=parse_period,
        metavar="PERIOD",
        help="also fail when the newest archived WAL segment is older (e.g. 10m; m: minutes)",
    )
    parser.add_argument(
        "--prometheus", metavar="FILE", help="also write the figures there (Prometheus text format, e.g. x.prom)"
    )
    add_identity_arguments(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.check import check, write_text_file
    from aeroops.executor.fileops import REAL
    from aeroops.views.progress import terminal_progress
    from aeroops.views.prometheus import render_metrics
    from aeroops.views.serialise import freshness_json
    from aeroops.views.text import render_freshness

    if args.prometheus:
        from aeroops.executor.location import local_path

        local_path(args.prometheus, "the metrics file")  # refused before the folder is read

    if args.max_age is None:
        if args.max_wal_age is None:
            from aeroops.errors import UsageError

            raise UsageError("check needs --max-age DURATION, --max-wal-age PERIOD, or both")
        return _check_wal(args, b"")
    with terminal_progress(not args.no_progress) as progress:
        freshness = check(
            args.folder, args.max_age, recursive=args.recursive, progress=progress, identities=args.identities, ops=REAL
        )
    if args.max_wal_age is not None:
        print(json.dumps(freshness_json(freshness), indent=2) if args.json else render_freshness(freshness))
        wal_fresh = _check_wal(args, render_metrics(freshness, args.folder))
        return 0 if freshness.fresh and wal_fresh == 0 else 1
    if args.prometheus:
        write_text_file(args.prometheus, render_metrics(freshness, args.folder), REAL)
    print(json.dumps(freshness_json(freshness), indent=2) if args.json else render_freshness(freshness))
    return 0 if freshness.fresh else 1


def _check_wal(args: argparse.Namespace, metrics: bytes) -> int:
    """``--max-wal-age``: the newest archived WAL segment against the limit (its figures after
    the backups' in the --prometheus file)."""
    from aeroops.executor.check import write_text_file
    from aeroops.executor.fileops import REAL
    from aeroops.executor.pitr import check_wal
    from aeroops.views.pitr import render_wal_freshness, render_wal_metrics
    from aeroops.views.serialise import wal_freshness_json

    freshness = check_wal(args.folder, args.max_wal_age, ops=REAL)
    if args.prometheus:
        write_text_file(args.prometheus, metrics + render_wal_metrics(freshness, args.folder), REAL)
    print(
        json.dumps({"wal": wal_freshness_json(freshness)}, indent=2) if args.json else render_wal_freshness(freshness)
    )
    return 0 if freshness.fresh else 1
