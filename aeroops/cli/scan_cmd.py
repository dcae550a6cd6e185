"""``aeroops scan DATA_DIR``: snapshots with verdicts, the WAL's health, what a backup would do."""

from __future__ import annotations

import argparse
import json

from aeroops.cli.arguments import add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the AeroDB data directory to describe (only read)")
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.core.backup_plan import BackupOptions, plan_backup  # here: `aeroops --help` starts fast
    from aeroops.executor.clock import default_created_at
    from aeroops.executor.fileops import REAL
    from aeroops.executor.scan import scan
    from aeroops.progress import no_progress
    from aeroops.views.backup import render_description, render_plan
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import backup_plan_json, description_json

    with terminal_progress(not args.no_progress) as progress:
        description = scan(args.data_dir, checksums="all", progress=progress or no_progress, ops=REAL)
    plan = plan_backup(description, BackupOptions(default_created_at()))
    if args.json:
        print(json.dumps({"scan": description_json(description), "plan": backup_plan_json(plan)}, indent=2))
    else:
        print(render_description(description))
        print()
        print(render_plan(plan))
    return 0
