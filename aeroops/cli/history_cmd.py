"""``aeroops history FOLDER KEY [--collection C]``: one document in every archive of a folder,
oldest first: when it first appeared, each change (the fields), when it was deleted."""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_identity_arguments, add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", metavar="FOLDER", help="the folder of backup archives (*.tar), or its URL (s3://bucket/prefix/)"
    )
    parser.add_argument("key", metavar="KEY", help="collection:id, or the id with --collection")
    parser.add_argument("--collection", metavar="C", help="the document's collection")
    add_output_arguments(parser, formats=True)
    add_identity_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.documents import history
    from aeroops.executor.fileops import REAL
    from aeroops.progress import no_progress
    from aeroops.views import documents as views
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import history_json
    from aeroops.views.text import text_table, write_csv

    with terminal_progress(not args.no_progress) as progress:
        entries = history(
            args.folder,
            args.key,
            collection=args.collection,
            progress=progress or no_progress,
            ops=REAL,
            identities=args.identities,
        )
    if args.format == "json":
        print(json.dumps(history_json(entries), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        write_csv(sys.stdout, views.history_records(entries), views.HISTORY_COLUMNS)
    elif not entries:
        print("no archive in the folder")
    else:
        print(text_table(views.history_records(entries), views.HISTORY_COLUMNS))
    return 0
