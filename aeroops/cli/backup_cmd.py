"""``aeroops backup DATA_DIR --output PATH_OR_DIR [--digest blake3|sha256]``: make an archive
and its digest sidecar (or, with --dry-run, show the plan)."""

from __future__ import annotations

import argparse
import json

from aeroops.cli.arguments import add_output_arguments, creation_time
from aeroops.errors import EXIT_FINDINGS, EXIT_OK
from aeroops.formats.sidecar import ALGORITHMS, DEFAULT, SUFFIXES, TOOLS, sidecar_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the AeroDB data directory to back up (only read)")
    parser.add_argument(
        "--output", "-o", required=True, metavar="PATH_OR_DIR", help="archive path, or a folder to put it in"
    )
    parser.add_argument("--dry-run", action="store_true", help="show the plan; write nothing")
    parser.add_argument(
        "--created-at",
        type=creation_time,
        metavar="ISO8601",
        help="the backup's creation time (default: $SOURCE_DATE_EPOCH, else now)",
    )
    parser.add_argument("--snapshot", metavar="ID", help="back up this snapshot instead of the newest valid one")
    parser.add_argument(
        "--source",
        metavar="NAME",
        help="name the data directory in the backup manifest (an extra key AeroDB ignores), so that prune "
        "plans each source's archives apart in a shared folder (default: none, AeroDB's manifest)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing archive at the output path")
    parser.add_argument(
        "--digest",
        choices=ALGORITHMS,
        default=DEFAULT,
        help=f"the sidecar's algorithm (default: {DEFAULT}): "
        + ", ".join(f"{a} writes ARCHIVE{s} for {TOOLS[a]} -c" for a, s in SUFFIXES.items()),
    )
    parser.add_argument(
        "--compress",
        metavar="zstd[:LEVEL]",
        help="compress with zstd (level 1-19, default 3), on every core: writes NAME.tar.zst",
    )
    parser.add_argument(
        "--encrypt-to",
        action="append",
        default=[],
        metavar="RECIPIENT",
        help="encrypt to this age recipient (age1..., or an ssh-ed25519 public key line); repeatable: "
        "writes NAME.tar.age or NAME.tar.zst.age",
    )
    parser.add_argument(
        "--recipients-file",
        action="append",
        default=[],
        metavar="FILE",
        help="encrypt to each recipient listed in FILE (one per line, # comments); repeatable",
    )
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aeroops.executor.backup import dry_run_refusal, prepare_backup, resolve_output, run_backup
    from aeroops.executor.fileops import REAL
    from aeroops.executor.location import is_url, url_name
    from aeroops.progress import no_progress
    from aeroops.views.backup import render_dry_run, render_plan, render_result
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import backup_plan_json, backup_result_json

    if args.dry_run:
        plan = prepare_backup(
            args.data_dir, created_at=args.created_at, snapshot_id=args.snapshot, source=args.source, ops=REAL
        )
        archive = resolve_output(args.output, plan, REAL)
        if is_url(str(archive)):
            sidecar_text = str(archive) + SUFFIXES[args.digest]
            sidecar_name = url_name(sidecar_text)
        else:
            local_sidecar = sidecar_path(archive, args.digest)
            sidecar_text, sidecar_name = str(local_sidecar), local_sidecar.name
        refusal = dry_run_refusal(args.data_dir, archive, overwrite=args.overwrite, ops=REAL)
        if args.json:
            facts = {
                "dry_run": True,
                "archive": str(archive),
                "sidecar": sidecar_text,
                "plan": backup_plan_json(plan),
                "refused": refusal,
            }
            print(json.dumps(facts, indent=2))
        else:
            print(render_plan(plan))
            print(render_dry_run(str(archive), sidecar_name, refusal))
        return EXIT_OK if refusal is None else EXIT_FINDINGS
    with terminal_progress(not args.no_progress) as progress:
        result = run_backup(
            args.data_dir,
            args.output,
            created_at=args.created_at,
            snapshot_id=args.snapshot,
            overwrite=args.overwrite,
            digest=args.digest,
            source=args.source,
            compress=args.compress,
            encrypt_to=args.encrypt_to,
            recipients_files=args.recipients_file,
            progress=progress or no_progress,
            ops=REAL,
        )
    print(json.dumps(backup_result_json(result), indent=2) if args.json else render_result(result))
    return 0
