"""``aeroops inventory FOLDER [--verify]``: one row per archive in a folder.

Exit 0 when every ``*.tar`` file is a readable archive and, with --verify, verifies clean
(warnings allowed); 1 otherwise. JSON is a list with one object per row.
"""

from __future__ import annotations

import argparse
import json
import sys

FORMATS = ("table", "json", "csv")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("inventory", help="list the backup archives in a folder, optionally verifying each")
    parser.add_argument("folder", metavar="FOLDER", help="the folder of backup archives (*.tar)")
    parser.add_argument("--verify", action="store_true", help="verify every archive (reads each one whole)")
    parser.add_argument("--recursive", "-r", action="store_true", help="look in subfolders too")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.audit import inventory
    from aeroops.progress import terminal_progress
    from aeroops.views import records, text

    with terminal_progress(args.verify and not args.no_progress) as progress:
        result = inventory(args.folder, recursive=args.recursive, verify=args.verify, progress=progress)
    if args.format == "json":
        print(json.dumps(result.to_list(), indent=2))
    elif args.format == "csv":
        text.write_csv(sys.stdout, records.inventory_records(result), records.inventory_columns(result))
    else:
        print(text.render_inventory(result))
    return 0 if result.ok else 1
