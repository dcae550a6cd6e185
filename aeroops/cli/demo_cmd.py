"""``aeroops demo [DIR]``: the main job on built-in demo data. Generate an AeroDB data
directory, back it up, verify the archive, and print what was packed."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from aeroops.cli.arguments import add_output_arguments, creation_time, whole_number
from aeroops.errors import AeroError, Code, UsageError

if TYPE_CHECKING:
    from aeroops.executor.fileops import FileOps
    from aeroops.progress import ProgressCallback


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", nargs="?", help="an empty or new folder (default: a new temporary one)")
    parser.add_argument("--seed", type=whole_number, default=0, help="demo data is deterministic from this seed")
    parser.add_argument("--records", type=whole_number, default=5000, help="WAL records to generate")
    parser.add_argument("--snapshots", type=whole_number, default=3, help="snapshots to take (default: 3)")
    parser.add_argument("--checkpoint", action="store_true", help="make the newest snapshot a checkpoint")
    parser.add_argument("--storage-mib", type=whole_number, default=0, help="pad the newest snapshot to this many MiB")
    parser.add_argument(
        "--created-at", type=creation_time, metavar="ISO8601", help="the backup's creation time (default: now)"
    )
    add_output_arguments(parser)
    parser.set_defaults(run=run)


DEMO_STEPS = ("make the demo data", "back it up", "verify the archive")


def run(args: argparse.Namespace) -> int:
    from aeroops.demo import DemoSpec, make_demo_datadir
    from aeroops.demo.datadir import FOLDER_MODE
    from aeroops.demo.documents import padded_before
    from aeroops.executor.audit import verify_archive
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL, logged_cleanup
    from aeroops.progress import no_progress, within_step
    from aeroops.views.backup import render_result
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import backup_result_json, report_json
    from aeroops.views.text import labelled, text_table
    from aeroops.views.units import human_bytes

    ops = REAL  # every effect of the demo goes through the seam
    if args.snapshots == 0:
        raise UsageError("--snapshots: the demo backs up its newest snapshot, so it needs at least 1")
    spec = DemoSpec(
        seed=args.seed,
        wal_records=args.records,
        snapshots=args.snapshots,
        checkpoint=args.checkpoint,
        storage_bytes=args.storage_mib << 20,
    )
    spec.validate()
    padded_before(spec)  # a spec that cannot be made is refused before any folder is made
    root = _demo_folder(args.dir, ops)
    with terminal_progress(not args.no_progress) as shown:
        progress = shown or no_progress

        def step(index: int) -> ProgressCallback:
            return within_step(progress, "demo", DEMO_STEPS[index - 1], index, len(DEMO_STEPS))

        try:
            try:
                summary = make_demo_datadir(root / "datadir", spec, ops=ops, progress=step(1))
                backups = root / "backups"
                ops.mkdir(backups, FOLDER_MODE)  # new: the folder was new or empty
            except OSError as exc:
                raise AeroError(
                    f"cannot write the demo data: {exc.strerror}", path=exc.filename, code=Code.DEMO_FAILED
                ) from None
            result = run_backup(summary.data_dir, backups, created_at=args.created_at, ops=ops, progress=step(2))
        except BaseException:
            if not args.dir:  # a temporary folder nobody was told of: not left behind (Ctrl-C included)
                with logged_cleanup("the demo's temporary folder", root):
                    ops.remove_tree(root)
            raise
        verdict = report_json(verify_archive(result.archive, ops=ops, progress=step(3)))
    if args.json:
        out = {
            "folder": str(root),
            "temporary": not args.dir,
            "data_dir": str(summary.data_dir),
            "snapshots": list(summary.snapshot_ids),
            "wal_records": summary.wal_records,
            "documents": summary.documents,
            "backup": backup_result_json(result),
            "verify": verdict,
        }
        print(json.dumps(out, indent=2))
    else:
        made = (
            f"{summary.data_dir}: {len(summary.snapshot_ids)} snapshots, {summary.wal_records} WAL records, "
            f"{summary.documents} live documents, {human_bytes(summary.bytes)}"
        )
        print(labelled("demo data", made))  # labels in the column `render_result` uses
        print(render_result(result))
        print("packed:")
        packed = [
            {"name": m.name + "/", "size": None, "crc32": None}
            if m.crc32 is None
            else {"name": m.name, "size": m.size, "crc32": f"crc32:{m.crc32:08x}"}
            for m in result.members
        ]
        print(text_table(packed, ["name", "size", "crc32"], {"size": _exact}, header=False, indent="  "))
        print(
            labelled("verify", f"{'clean' if verdict['ok'] else 'NOT CLEAN'} ({len(verdict['findings'])} finding(s))")
        )
        if not args.dir:
            print(labelled("kept in", f"{root} (a temporary folder: remove it when done)"))
    return 0 if verdict["ok"] else 1


def _exact(size: int | None) -> str:
    """A packed member's size in bytes, exactly (beside its CRC, to check against)."""
    return "" if size is None else str(size)


def _demo_folder(name: str | None, ops: FileOps) -> Path:
    """The folder the demo writes in: DIR, which must be new or empty (the demo never mixes its
    files with anything there), else a new temporary folder, which is kept and named at the end."""
    from aeroops.executor.location import local_path

    if name is None:
        return ops.make_temp_dir(None, "aeroops-demo-")
    root = local_path(name, "the demo folder")
    try:
        if not ops.exists(root):
            return root
        if stat.S_ISDIR(ops.lstat(root).st_mode) and not ops.scandir(root):
            return root
    except OSError as exc:
        raise UsageError(f"cannot look at {root}: {exc.strerror}", path=root) from None
    raise UsageError("the demo writes into a new or empty folder; this one is not", path=root)
