"""Recovery from an interrupted restore: pure rules from the leftovers beside a data directory
to the steps that finish or roll the restore back (the executor's `aeroops.executor.recover`
carries them out).

The swap and its crash states. Beside the data directory ``D`` (names derived from its own, so
the next run finds them): the temporary folder ``.D.aeroops-restore-tmp`` (``T``), the journal
``.D.aeroops-restore-journal`` (``J``, written once ``T`` is complete and fsynced: it is the
commit record of the staging), and ``D.old`` (``O``). The restore goes

    build T → fsync T → write J → rename D → O → rename T → D → delete O → delete J

with the parent folder fsynced after each rename, so at any crash the folders on disk tell
where it stopped (`classify_leftovers`); `plan_recovery` turns that into steps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aeroops.core.restore_target import Leftovers, RestoreMode


class Situation(enum.StrEnum):
    CLEAN = "clean"
    STAGING = "staging"  # the new directory was being built; the data directory is untouched
    STAGED = "staged"  # the new directory is complete (journal written); the swap had not begun
    MOVED_ASIDE = "moved-aside"  # data directory → .old done; the new one not yet in place
    SWAPPED = "swapped"  # the new directory is in place; the old one is still beside it
    FINISHING = "finishing"  # only the journal is left (after a finished swap, or a roll back)
    FOREIGN_OLD = "foreign-old"  # <name>.old without an aeroops journal: not ours to touch
    INCONSISTENT = "inconsistent"  # the folders do not fit any state a restore passes through


SITUATION_TEXT = {
    Situation.CLEAN: "nothing left over",
    Situation.STAGING: "it stopped while building the new directory; the data directory is untouched",
    Situation.STAGED: "the new directory was complete, but the swap had not begun; the data directory is untouched",
    Situation.MOVED_ASIDE: "it stopped mid-swap: the old directory is at .old, the new one not yet in place",
    Situation.SWAPPED: "the new directory is in place; the old one still waits at .old to be deleted",
    Situation.FINISHING: "only the journal is left: the data directory is complete as it stands",
    Situation.FOREIGN_OLD: "a .old folder that no aeroops restore journal explains",
    Situation.INCONSISTENT: "the folders do not match any state an aeroops restore passes through",
}


class RecoveryAction(enum.StrEnum):
    AUTO = "auto"  # roll back before the swap began, finish after
    FINISH = "finish"
    ROLLBACK = "rollback"


class Outcome(enum.StrEnum):
    OLD = "old"  # the data directory holds what it held before the restore
    NEW = "new"  # it holds the restored archive
    NONE = "none"  # there was no data directory (a create-mode restore rolled back)
    UNCHANGED = "unchanged"  # the data directory stays as it is (only the journal goes), or refused


@dataclass(frozen=True, slots=True)
class RecoveryStep:
    """One file operation of a recovery: delete a path, or rename it to ``target``."""

    op: str  # "delete" or "rename"
    path: str
    target: str | None = None

    def __str__(self) -> str:
        return f"rename {self.path} → {self.target}" if self.op == "rename" else f"delete {self.path}"


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    """How to finish or roll back an interrupted restore: the situation found, the steps, the
    outcome."""

    situation: Situation
    action: RecoveryAction  # what the steps do: FINISH or ROLLBACK (AUTO resolved)
    steps: tuple[RecoveryStep, ...]
    outcome: Outcome
    explanation: str
    refusal: str | None = None  # set when the asked action cannot be done safely

    @property
    def summary(self) -> str:
        if self.refusal:
            return "nothing (see why)"
        if not self.steps:
            return "do nothing"
        if self.outcome is Outcome.UNCHANGED:
            return "remove the journal (the data directory stays as it is)"
        if self.outcome is Outcome.NONE:
            return "roll it back (no data directory, as before the restore)"
        if self.action is RecoveryAction.FINISH:
            return "finish the restore (the data directory then holds the restored data)"
        return "roll it back (the data directory then holds the old data)"


def classify_leftovers(leftovers: Leftovers) -> Situation:
    """Which state of the swap a crash stopped in, from what exists (see the module docstring)."""
    d, t, o = leftovers.data_dir, leftovers.temp, leftovers.old
    if not leftovers.has_journal:
        if o:
            return Situation.FOREIGN_OLD
        return Situation.STAGING if (t or leftovers.journal_tmp) else Situation.CLEAN
    if leftovers.journal_error is not None:
        return Situation.INCONSISTENT
    journal = leftovers.journal
    assert journal is not None
    if journal.mode is RestoreMode.CREATE:
        if o:
            return Situation.INCONSISTENT
        if t and not d:
            return Situation.STAGED
        if d and not t:
            return Situation.FINISHING
        return Situation.INCONSISTENT
    if t and d and not o:
        return Situation.STAGED
    if not d and o:
        return Situation.MOVED_ASIDE  # with or without the new directory (see plan_recovery)
    if d and o and not t:
        return Situation.SWAPPED
    if d and not o and not t:
        return Situation.FINISHING
    return Situation.INCONSISTENT


def plan_recovery(leftovers: Leftovers, action: RecoveryAction = RecoveryAction.AUTO) -> RecoveryPlan:
    """The steps that bring an interrupted restore to an end: the data directory then holds
    either all of the old data or all of the new, and nothing is left beside it."""
    paths = leftovers.paths
    situation = classify_leftovers(leftovers)
    text = SITUATION_TEXT[situation]
    journal_steps = tuple(
        RecoveryStep("delete", p) for there, p in ((leftovers.journal_tmp, paths.journal_tmp),) if there
    )
    drop_journal = (RecoveryStep("delete", paths.journal),)
    drop_temp = (RecoveryStep("delete", paths.temp),) if leftovers.temp else ()

    def plan(kind: RecoveryAction, steps: tuple[RecoveryStep, ...], outcome: Outcome) -> RecoveryPlan:
        return RecoveryPlan(situation, kind, steps, outcome, text)

    def refuse(why: str) -> RecoveryPlan:
        return RecoveryPlan(situation, action, (), Outcome.UNCHANGED, text, why)

    if situation is Situation.CLEAN:
        return RecoveryPlan(situation, action, (), Outcome.UNCHANGED, text)
    if situation is Situation.FOREIGN_OLD:
        return refuse(
            f"{paths.old} was not left by an aeroops restore (no journal): aeroops does not delete or move "
            "it; look at it and move it away yourself"
        )
    if situation is Situation.INCONSISTENT:
        found = ", ".join(leftovers.present()) or "nothing"
        detail = f" ({leftovers.journal_error})" if leftovers.journal_error else ""
        return refuse(
            f"found {found}, with the data directory {'present' if leftovers.data_dir else 'missing'}{detail}: "
            "aeroops cannot tell safely which folder holds what; sort it out by hand"
        )
    if situation is Situation.STAGING:
        if action is RecoveryAction.FINISH:
            return refuse("the new directory was never completed (no journal): it can only be rolled back")
        return plan(RecoveryAction.ROLLBACK, (*drop_temp, *journal_steps), Outcome.OLD)

    journal = leftovers.journal
    assert journal is not None
    create = journal.mode is RestoreMode.CREATE
    rename_in = RecoveryStep("rename", paths.temp, paths.data_dir)
    if situation is Situation.STAGED:
        if action is RecoveryAction.FINISH:
            steps = (rename_in,) if create else (RecoveryStep("rename", paths.data_dir, paths.old), rename_in)
            delete_old = () if create else (RecoveryStep("delete", paths.old),)
            return plan(RecoveryAction.FINISH, (*steps, *delete_old, *journal_steps, *drop_journal), Outcome.NEW)
        return plan(
            RecoveryAction.ROLLBACK,
            (*drop_journal, *journal_steps, *drop_temp),
            Outcome.NONE if create else Outcome.OLD,
        )
    if situation is Situation.MOVED_ASIDE:
        rollback = (RecoveryStep("rename", paths.old, paths.data_dir), *drop_journal, *journal_steps, *drop_temp)
        if action is RecoveryAction.ROLLBACK or not leftovers.temp:
            if action is RecoveryAction.FINISH:
                return refuse("the new directory is gone: the restore can only be rolled back")
            return plan(RecoveryAction.ROLLBACK, rollback, Outcome.OLD)
        return plan(
            RecoveryAction.FINISH,
            (rename_in, RecoveryStep("delete", paths.old), *journal_steps, *drop_journal),
            Outcome.NEW,
        )
    if situation is Situation.SWAPPED:
        if action is RecoveryAction.ROLLBACK:
            return refuse(
                "the new directory is already in place; aeroops does not swap back. Finish instead, or "
                f"move {paths.old} somewhere safe yourself before finishing"
            )
        return plan(
            RecoveryAction.FINISH, (RecoveryStep("delete", paths.old), *journal_steps, *drop_journal), Outcome.NEW
        )
    assert situation is Situation.FINISHING
    if action is RecoveryAction.ROLLBACK:
        return refuse("the swap had completed; there is nothing left to roll back to")
    # Both a finished swap and a rolled-back one end here: the folder in place is whole either way.
    return plan(RecoveryAction.FINISH, (*journal_steps, *drop_journal), Outcome.UNCHANGED)
