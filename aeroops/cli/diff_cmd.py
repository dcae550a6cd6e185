"""``aeroops diff A B``: how the documents of B differ from those of A (archives or data
directories, only read): added, removed, changed with the fields that changed, and counts per
collection. Exit 0 when identical, 1 when not, as diff(1) does."""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_identity_arguments, add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a",
        metavar="A",
        help="the older source: an archive, a data directory, or FOLDER@POINT (a restore target of a folder of "
        "base backups and WAL segments: FOLDER@N, FOLDER@TIMELINE:N, FOLDER@latest, FOLDER@TIME); an archive or "
        "a FOLDER may be a URL (s3://bucket/prefix/...)",
    )
    parser.add_argument("b", metavar="B", help="the newer source")
    parser.add_argument("--collection", action="append", metavar="C", help="only this collection (repeat)")
    add_output_arguments(parser, formats=True)
    add_identity_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.documents import diff, parse_source
    from aeroops.executor.fileops import REAL
    from aeroops.progress import no_progress
    from aeroops.views import documents as views
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import diff_json
    from aeroops.views.text import text_table, write_csv

    with terminal_progress(not args.no_progress) as progress:
        result = diff(
            parse_source(args.a, REAL),
            parse_source(args.b, REAL),
            collections=args.collection,
            progress=progress or no_progress,
            ops=REAL,
            identities=args.identities,
        )
    if args.format == "json":
        print(json.dumps(diff_json(result), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        write_csv(sys.stdout, views.diff_records(result), views.DIFF_COLUMNS)
    else:
        counts = result.counts()
        print(
            f"{counts['added']:,} added, {counts['removed']:,} removed, {counts['changed']:,} changed, "
            f"{counts['unchanged']:,} unchanged"
        )
        print()
        print(text_table(views.collection_records(result), views.COLLECTION_COLUMNS))
        if result.deltas:
            print()
            print(text_table(views.diff_records(result), views.DIFF_COLUMNS))
    return 0 if result.identical else 1
