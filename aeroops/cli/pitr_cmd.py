"""``restore FOLDER DATA_DIR --to-…`` and ``drill FOLDER --to-…``: a point-in-time restore
(`aeroops.executor.pitr`). Not a verb of its own: restore and drill hand over to it."""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.core.pitr import Target


def run_restore(args: argparse.Namespace, target: Target) -> int:
    from aeroops.executor.fileops import REAL
    from aeroops.executor.pitr import preview_point_in_time, restore_point_in_time
    from aeroops.progress import no_progress
    from aeroops.views.pitr import render_pitr_plan
    from aeroops.views.progress import terminal_progress
    from aeroops.views.restore import render_result
    from aeroops.views.serialise import pitr_plan_json, restore_result_json
    from aeroops.views.text import wrap_line

    if not args.yes:
        preview = preview_point_in_time(args.archive, args.data_dir, target, create=args.create, ops=REAL)
        if args.json:
            print(json.dumps({**pitr_plan_json(preview.plan), "target_refusal": preview.target_refusal}, indent=2))
        else:
            print(render_pitr_plan(preview.plan))
            if preview.target_refusal is not None:
                print(wrap_line(f"REFUSED by the data directory: {preview.target_refusal}"))
        return 0 if preview.would_restore else 1
    with terminal_progress(not args.no_progress) as shown:
        result = restore_point_in_time(
            args.archive, args.data_dir, target, create=args.create, progress=shown or no_progress, ops=REAL
        )
    if args.json:
        print(
            json.dumps({"plan": pitr_plan_json(result.plan), "restore": restore_result_json(result.restore)}, indent=2)
        )
    else:
        print(render_pitr_plan(result.plan))
        print(render_result(result.restore))
    return 0


def run_drill(args: argparse.Namespace, target: Target) -> int:
    from aeroops.cli.messages import error_text
    from aeroops.errors import EXIT_FINDINGS, EXIT_OK, Code
    from aeroops.executor.fileops import REAL
    from aeroops.executor.pitr import drill_point_in_time
    from aeroops.views.pitr import render_pitr_drill
    from aeroops.views.serialise import pitr_drill_json

    result = drill_point_in_time(args.archive, target, scratch_parent=args.scratch, ops=REAL)
    print(json.dumps(pitr_drill_json(result), indent=2) if args.json else render_pitr_drill(result))
    if result.error is not None:
        print(error_text(result.error), file=sys.stderr)
        return Code.PITR_UNREACHABLE.exit_status
    return EXIT_OK if result.ok else EXIT_FINDINGS
