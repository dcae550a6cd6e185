"""``aeroops verify ARCHIVE...``: verify archives without extracting them.

Exit 0 only when every archive is clean (warnings allowed), 1 otherwise. Never imports pandas:
every format here is rendered by `aeroops.views.text` or `json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from aeroops.cli.arguments import add_identity_arguments, add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "archives", nargs="+", metavar="ARCHIVE", help="backup archives (or WAL segments, wal-*.wal) to verify"
    )
    add_identity_arguments(parser)
    add_output_arguments(
        parser,
        formats=True,
        format_help="table: a verdict and findings per archive; json: a list of reports; csv: one row per finding",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.audit import verify_archive
    from aeroops.executor.fileops import REAL
    from aeroops.formats.segment import looks_like_segment
    from aeroops.views import records, text
    from aeroops.views.progress import terminal_progress

    with terminal_progress(not args.no_progress) as progress:
        reports = []
        for archive in args.archives:
            if looks_like_segment(os.path.basename(archive)):
                from aeroops.executor.pitr import verify_segment  # only a segment needs the restore's modules

                reports.append(verify_segment(archive, REAL))
            else:
                reports.append(verify_archive(archive, progress=progress, identities=args.identities, ops=REAL))
    if args.format == "json":
        from aeroops.views.serialise import report_json  # only for JSON: a plain verify needs none of it

        print(json.dumps([report_json(r) for r in reports], indent=2))
    elif args.format == "csv":
        text.write_csv(sys.stdout, records.finding_records(reports), records.FINDING_COLUMNS)
    else:
        print(text.render_reports(reports))
    return 0 if all(r.ok for r in reports) else 1
