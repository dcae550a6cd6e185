"""Recovery: finish or roll back a restore that was interrupted, by the pure rules of
`aeroops.core.recovery` (`recover`; `preview_recovery` shows what it would do)."""

from __future__ import annotations

import time
from pathlib import Path

from aeroops.core.recovery import (
    RecoveryAction,
    RecoveryPlan,
    RecoveryStep,
    plan_recovery,
)
from aeroops.core.restore_target import RestorePaths
from aeroops.core.results import RecoveryResult
from aeroops.errors import (
    RestoreError,
    RestoreIOError,
)
from aeroops.executor.fileops import FileOps, not_a_folder
from aeroops.executor.lock import DirectoryLock
from aeroops.executor.restore_target import find_leftovers, restore_paths
from aeroops.progress import Progress, ProgressCallback, no_progress


def preview_recovery(
    data_dir: Path | str, action: RecoveryAction | str = RecoveryAction.AUTO, *, ops: FileOps
) -> RecoveryPlan:
    """What `recover` would do (read-only); raises what `recover` raises before it acts."""
    _check_parent(restore_paths(data_dir), ops)
    return plan_recovery(find_leftovers(data_dir, ops), RecoveryAction(action))


def _check_parent(paths: RestorePaths, ops: FileOps) -> None:
    if not ops.is_dir(paths.parent):
        raise RestoreError(
            f"the folder that holds the data directory {not_a_folder(paths.parent, ops)}", path=paths.parent
        )


def recover(
    data_dir: Path | str,
    *,
    action: RecoveryAction | str = RecoveryAction.AUTO,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
) -> RecoveryResult:
    """Finish or roll back a restore that was interrupted (see `plan_recovery` for the rules).

    Holds the data directory's lock, so a restore still running is never disturbed. Every step
    is a rename or a delete followed by an fsync of the parent folder, so a crash during
    recovery leaves a state recovery resolves again. Raises `RestoreError` when it cannot act
    safely (the plan's ``refusal`` says why).
    """
    started = time.monotonic()
    paths = restore_paths(data_dir)
    _check_parent(paths, ops)
    with DirectoryLock(Path(paths.data_dir), RestoreError, "recover", ops):
        plan = plan_recovery(find_leftovers(paths.data_dir, ops), RecoveryAction(action))
        if plan.refusal:
            raise RestoreError(f"cannot recover: {plan.refusal}", path=paths.data_dir)
        for index, recovery_step in enumerate(plan.steps, start=1):
            progress(Progress("recover", str(recovery_step), index, len(plan.steps)))
            try:
                _apply(recovery_step, ops)
                ops.fsync_path(Path(paths.parent))
            except OSError as exc:
                raise RestoreIOError(
                    f"recovery step '{recovery_step}' failed: {exc.strerror or exc}; what is done stays done, "
                    "and recovering again continues from there",
                    path=exc.filename,
                ) from exc
            ops.crash_point(f"recover-step-{index}")
    return RecoveryResult(paths.data_dir, plan, bool(plan.steps), time.monotonic() - started)


def _apply(recovery_step: RecoveryStep, ops: FileOps) -> None:
    if recovery_step.op == "rename":
        assert recovery_step.target is not None
        ops.rename_noreplace(Path(recovery_step.path), Path(recovery_step.target))
    else:
        ops.remove_tree(Path(recovery_step.path))
