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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_folder_arguments(parser)
    parser.add_argument("--max-age", type=parse_duration, required=True, metavar="DURATION", help="e.g. 26h, 2d, 1w")
    parser.add_argument(
        "--prometheus", metavar="FILE", help="also write the figures there (Prometheus text format, e.g. x.prom)"
    )
    add_identity_arguments(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.check import check, write_text_file
    from aeroops.views.progress import terminal_progress
    from aeroops.views.prometheus import render_metrics
    from aeroops.views.serialise import freshness_json
    from aeroops.views.text import render_freshness

    with terminal_progress(not args.no_progress) as progress:
        freshness = check(
            args.folder, args.max_age, recursive=args.recursive, progress=progress, identities=args.identities
        )
    if args.prometheus:
        write_text_file(args.prometheus, render_metrics(freshness, args.folder))
    print(json.dumps(freshness_json(freshness), indent=2) if args.json else render_freshness(freshness))
    return 0 if freshness.fresh else 1
