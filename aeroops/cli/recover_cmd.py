"""``aeroops recover DATA_DIR``: say what an interrupted restore left behind and how it would be
resolved (the default, changing nothing), or with --yes, resolve it: finish the swap once the
new directory was complete, else roll back.

Exit codes: 0 nothing left over, or resolved (or resolvable, in a dry run); 1 the dry run found
something aeroops cannot resolve safely; 3 recovery refused or failed.
"""

from __future__ import annotations

import argparse
import json

from aeroops.cli.arguments import add_output_arguments

ACTIONS = ("auto", "finish", "rollback")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Inspect what an interrupted restore left beside DATA_DIR (the temporary folder, "
        "DATA_DIR.old, the swap journal) and bring it to an end: DATA_DIR then holds all the old data or "
        "all the new, never a mix."
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the data directory whose restore was interrupted")
    parser.add_argument("--yes", action="store_true", help="do it (default: show what would be done)")
    parser.add_argument(
        "--action",
        choices=ACTIONS,
        default="auto",
        help="auto (default): roll back if the swap had not begun, finish if it had; "
        "finish or rollback: insist, where that is safe",
    )
    add_output_arguments(parser, progress=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.fileops import REAL
    from aeroops.executor.recover import preview_recovery, recover
    from aeroops.executor.restore_target import restore_paths
    from aeroops.views.restore import render_recovery
    from aeroops.views.serialise import recovery_json, recovery_result_json

    data_dir = restore_paths(args.data_dir).data_dir
    if not args.yes:
        plan = preview_recovery(args.data_dir, args.action, ops=REAL)
        if args.json:
            print(json.dumps(recovery_json(plan, data_dir=data_dir), indent=2))
        else:
            print(render_recovery(plan, data_dir=data_dir))
        return 1 if plan.refusal else 0
    result = recover(args.data_dir, action=args.action, ops=REAL)
    if args.json:
        print(json.dumps(recovery_result_json(result), indent=2))
    else:
        print(render_recovery(result.plan, data_dir=result.data_dir, performed=result.performed))
    return 0
