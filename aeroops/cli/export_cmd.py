"""``aeroops export SOURCE -o FILE [--collection C]... [--format parquet|jsonl|csv]``: the
documents of an archive or a data directory (only read) into one local file, whole or not at all;
the archive may be in object storage (a URL)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from aeroops.cli.arguments import add_identity_arguments
from aeroops.cli.pitr_arguments import add_target_arguments, target_of

if TYPE_CHECKING:
    from aeroops.executor.documents import Source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a backup archive, a data directory (only read), or FOLDER@POINT: a restore target of a folder of "
        "base backups and WAL segments (FOLDER@N, FOLDER@TIMELINE:N, FOLDER@latest, FOLDER@TIME); an archive "
        "or a FOLDER may be a URL (s3://bucket/prefix/...)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help="the local file to write (replaced whole); the source may be in object storage (s3://...), the output "
        "is always local",
    )
    parser.add_argument("--collection", action="append", metavar="C", help="only this collection (repeat for several)")
    parser.add_argument(
        "--format",
        choices=("parquet", "jsonl", "csv"),
        help="parquet, jsonl (AeroDB's boot listing: each body byte for byte) or csv; default: from the "
        "file's suffix, else parquet",
    )
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    add_identity_arguments(parser)
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def source_of(args: argparse.Namespace) -> Source:
    """The source the arguments name: SOURCE, FOLDER@POINT, or SOURCE with a point-in-time option."""
    from aeroops.executor.documents import PointInTime, parse_source
    from aeroops.executor.fileops import REAL

    target = target_of(args)
    if target is not None:
        return PointInTime(args.source, target)
    return parse_source(args.source, REAL)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.documents import export
    from aeroops.executor.fileops import REAL
    from aeroops.progress import no_progress
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import export_json
    from aeroops.views.text import label_block

    with terminal_progress(not args.no_progress) as progress:
        result = export(
            source_of(args),
            args.output,
            collections=args.collection,
            format=args.format,
            progress=progress or no_progress,
            ops=REAL,
            identities=args.identities,
        )
    if args.json:
        print(json.dumps(export_json(result), indent=2))
        return 0
    from aeroops.views.units import display

    per = ", ".join(f"{name} {count:,}" for name, count in result.collections) or "none"
    print(
        label_block(
            [
                ("Exported", f"{result.documents:,} documents ({per})"),
                ("To", f"{result.output} ({result.format}, {display(result.bytes, 'bytes')})"),
                ("From", result.source),
            ]
        )
    )
    return 0
