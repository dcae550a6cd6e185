"""``aeroops verify ARCHIVE...``: verify archives without extracting them.

Exit 0 only when every archive is clean (warnings allowed), 1 otherwise. Never imports pandas:
every format here is rendered by `aeroops.views.text` or `json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from aeroops.cli.arguments import add_output_arguments

if TYPE_CHECKING:
    from aeroops.core.verify_report import VerifyReport
    from aeroops.progress import ProgressCallback


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "archives", nargs="+", metavar="ARCHIVE", help="backup archives (or WAL segments, wal-*.wal) to verify"
    )
    add_output_arguments(
        parser,
        formats=True,
        format_help="table: a verdict and findings per archive; json: a list of reports; csv: one row per finding",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.audit import verify_archive
    from aeroops.formats.segment import looks_like_segment
    from aeroops.views import records, text
    from aeroops.views.progress import terminal_progress

    def verify_one(path: str, progress: ProgressCallback | None) -> VerifyReport:
        if looks_like_segment(os.path.basename(path)):
            from aeroops.executor.pitr import verify_segment  # only a segment needs the restore's modules

            return verify_segment(path)
        return verify_archive(path, progress=progress)

    with terminal_progress(not args.no_progress) as progress:
        reports = [verify_one(archive, progress) for archive in args.archives]
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    elif args.format == "csv":
        text.write_csv(sys.stdout, records.finding_records(reports), records.FINDING_COLUMNS)
    else:
        print(text.render_reports(reports))
    return 0 if all(r.ok for r in reports) else 1
