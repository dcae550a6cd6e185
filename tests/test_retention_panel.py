"""The retention panel, driven through its methods as the buttons do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.archives import damage_storage
from helpers.retention import make_folder

from aeroops.core.retention import Policy, Rule
from aeroops.errors import PruneError, UsageError
from aeroops.panels import RetentionPanel


def test_plan_then_remove_only_after_confirmation(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder)
    panel = RetentionPanel(folder, Policy(last=2))
    plan = panel.plan()
    panel.raise_for_error()
    assert plan is not None and len(plan.removed) == len(archives) - 2
    assert not panel.remove_button.disabled and "<svg" in panel.chart.value
    assert list(panel.plan_table.frame["action"]).count("remove") == len(archives) - 2
    assert panel.request_remove() and panel.pending
    assert "Remove 6 archives" in panel.confirm_box.text.value
    assert all(p.exists() for p in archives)  # asking removes nothing
    panel.cancel()
    assert not panel.pending and all(p.exists() for p in archives)
    assert panel.request_remove()
    result = panel.confirm()
    panel.raise_for_error()
    assert result is not None and sorted(p.name for p in folder.glob("*.tar")) == sorted(a.name for a in archives[-2:])
    assert "Removed 6 archives" in panel.result_html.value
    # What was kept and removed, and why, stays in view after the removal; a new plan starts afresh.
    assert list(panel.plan_table.frame["action"]).count("remove") == len(archives) - 2
    assert "2 kept, 6 removed" in panel.summary_html.value and panel.remove_button.disabled
    assert panel.plan() is not None and panel.result_html.value == ""


def test_confirm_removes_only_what_was_shown(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2, 3))
    panel = RetentionPanel(folder, Policy(last=2))
    assert panel.request_remove()
    # Meanwhile an older archive arrives (say, copied in from elsewhere): the plan under the lock
    # would remove it too, which nobody confirmed.
    shutil.copyfile(archives[0], folder / "aerodb-copied.tar")
    assert panel.confirm() is None
    assert isinstance(panel.error, PruneError) and "changed since the plan was shown" in str(panel.error)
    assert all(p.exists() for p in archives)


def test_mistakes_are_shown_not_raised(tmp_path: Path) -> None:
    panel = RetentionPanel()
    assert panel.plan() is None and isinstance(panel.error, UsageError) and "choose a backup folder" in str(panel.error)
    panel.folder_input.value = str(tmp_path)
    panel.within_input.value = "soon"
    assert panel.plan() is None and "not a duration" in str(panel.error)
    panel.within_input.value = ""
    assert panel.plan() is None and "no keep rule" in str(panel.error)
    assert panel.confirm() is None and "nothing awaits confirmation" in str(panel.error)
    panel.count_inputs[Rule.LAST].value = 1
    assert panel.plan() is not None and panel.error is None
    assert not panel.request_remove() and "Nothing to remove" in panel.status.value


@pytest.mark.notebook
def test_the_retention_runbook_waits_for_confirmation_on_a_real_folder(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path
) -> None:
    from helpers.notebooks import NOTEBOOK_DIR, check_ran_cleanly, execute, tagged

    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder)
    # keep_monthly 0: the runbook's monthly 6 over one month also keeps the oldest archive (restic
    # 0.16+), and with it every archive of this folder: there would be nothing to confirm.
    parameters = {"backup_dir": str(folder), "keep_last": 2, "keep_monthly": 0}
    nb = execute(NOTEBOOK_DIR / "04-retention.ipynb", tmp_path, parameters)
    check_ran_cleanly(nb)
    text = tagged(nb, "remove")
    assert "Waiting: press Confirm in the panel above" in text and "removed" not in text
    assert all(p.exists() for p in archives)


def test_the_restore_panel_defaults_to_the_newest_good_archive(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path
) -> None:
    from aeroops.panels import RestorePanel

    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2, 3))
    damage_storage(archives[-1])
    panel = RestorePanel(data_dir=tmp_path / "target", backup_dir=folder)
    assert panel.error is None and panel.archive == str(archives[-2])
    assert RestorePanel(archives[0], backup_dir=folder).archive == str(archives[0])  # an archive given wins
    for archive in archives:
        damage_storage(archive)
    empty = RestorePanel(backup_dir=folder)
    assert empty.archive == "" and "no archive in" in str(empty.error)
