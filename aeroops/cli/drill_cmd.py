"""``aeroops drill ARCHIVE [--source DATA_DIR]``: restore into a scratch folder, compare the
restored documents with the archive's (and the live source's), report, clean up.

Exit codes: 0 the drill passed; 1 the documents differ; 2 or 3 the restore failed (by the
error's severity: restore errors are FATAL).
"""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_identity_arguments, add_output_arguments
from aeroops.cli.pitr_arguments import add_target_arguments, target_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", metavar="ARCHIVE", help="the backup archive to rehearse a restore of")
    parser.add_argument("--source", metavar="DATA_DIR", help="also compare with this live data directory (read only)")
    parser.add_argument(
        "--scratch", metavar="DIR", help="where to make the scratch folder (default: the system's temporary folder)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch folder, to look at the restored directory"
    )
    add_identity_arguments(parser)
    add_target_arguments(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    if target is not None:
        from aeroops.cli.pitr_cmd import run_drill

        return run_drill(args, target)
    from aeroops.cli.messages import error_text
    from aeroops.errors import EXIT_FINDINGS, EXIT_OK
    from aeroops.executor.drill import drill
    from aeroops.executor.fileops import REAL
    from aeroops.progress import no_progress
    from aeroops.views.progress import terminal_progress
    from aeroops.views.restore import render_drill
    from aeroops.views.serialise import drill_json

    with terminal_progress(not args.no_progress) as progress:
        result = drill(
            args.archive,
            source=args.source,
            scratch_parent=args.scratch,
            keep=args.keep,
            identities=args.identities,
            progress=progress or no_progress,
            ops=REAL,
        )
    print(json.dumps(drill_json(result), indent=2) if args.json else render_drill(result))
    if result.error is not None:
        print(error_text(str(result.error)), file=sys.stderr)
        return result.error.code.exit_status
    return EXIT_OK if result.ok else EXIT_FINDINGS
