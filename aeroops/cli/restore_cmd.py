"""``aeroops restore ARCHIVE DATA_DIR``: show what a restore would do (the default, a dry run
that changes nothing), or with --yes, do it.

Exit codes: 0 restored (or the dry run would restore); 1 the dry run would refuse; 3 a
restore refused or failed (its ``[FATAL] AERO_RESTORE_*`` line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_identity_arguments, add_output_arguments
from aeroops.cli.pitr_arguments import add_target_arguments, target_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Verify ARCHIVE whole, then replace DATA_DIR with its contents in a crash-safe swap. "
        "Without --yes, only shows what would happen."
    )
    parser.add_argument("archive", metavar="ARCHIVE", help="the backup archive to restore from")
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the data directory to replace (or create)")
    parser.add_argument("--yes", action="store_true", help="perform the restore (default: dry run)")
    parser.add_argument(
        "--create",
        action="store_true",
        help="restore into DATA_DIR even though it does not exist (AeroDB's restore requires an existing one)",
    )
    add_identity_arguments(parser)
    add_target_arguments(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    if target is not None:
        from aeroops.cli.pitr_cmd import run_restore

        return run_restore(args, target)
    from aeroops.cli.messages import error_text
    from aeroops.errors import Code, Finding
    from aeroops.executor.fileops import REAL
    from aeroops.executor.restore import preview_restore, restore
    from aeroops.progress import no_progress
    from aeroops.views.progress import terminal_progress
    from aeroops.views.restore import render_preview, render_result
    from aeroops.views.serialise import restore_preview_json, restore_result_json

    with terminal_progress(not args.no_progress) as shown:
        progress = shown or no_progress
        if not args.yes:
            preview = preview_restore(
                args.archive, args.data_dir, create=args.create, progress=progress, identities=args.identities, ops=REAL
            )
        else:
            result = restore(
                args.archive, args.data_dir, create=args.create, progress=progress, identities=args.identities, ops=REAL
            )
    if not args.yes:
        print(json.dumps(restore_preview_json(preview), indent=2) if args.json else render_preview(preview))
        return 0 if preview.would_restore else 1
    print(json.dumps(restore_result_json(result), indent=2) if args.json else render_result(result))
    for warning in result.warnings:
        print(error_text(str(Finding.of(Code.RESTORE_CLEANUP, warning))), file=sys.stderr)
    return 0
