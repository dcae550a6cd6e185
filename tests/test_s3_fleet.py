"""A fleet's bucket: many data directories, one prefix each, archives made by server-side copy;
inventory -r of the whole bucket, and its verification spread over a Dask LocalCluster of
worker processes against the moto server. (The 10,000-archive run is scripts/s3_fleet.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.s3 import MotoServer, aim_at, moto_server

from aeroops.core.newest_good import newest_good
from aeroops.executor import objectstore
from aeroops.executor.audit import inventory
from aeroops.executor.fileops import REAL
from aeroops.executor.remote_audit import remote_inventory
from aeroops.progress import Progress

HOSTS = 12


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, datadir_module: Path) -> Iterator[MotoServer]:
    """A bucket ``fleet`` with HOSTS prefixes, 3 archives each (copies of one backup, made
    server-side), the newest of host 3 damaged."""
    with moto_server() as server, pytest.MonkeyPatch.context() as patch:
        aim_at(server.endpoint, patch.setenv)
        # Dask's scheduler, nannies and workers keep lock files in its temporary directory (the
        # system's by default): this run's own, so the temporary folder is left as it was found.
        scratch = str(tmp_path_factory.mktemp("dask"))
        patch.setenv("DASK_TEMPORARY_DIRECTORY", scratch)
        import dask

        patch.setitem(dask.config.config, "temporary-directory", scratch)
        objectstore.reset_stores()
        client = server.client()
        client.create_bucket(Bucket="fleet")
        from helpers.fleet import seed_fleet

        seed_fleet(client, "fleet", datadir_module, hosts=HOSTS, per_host=3)
        yield server
        objectstore.reset_stores()


@pytest.fixture(scope="module")
def datadir_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers.data import copy_fixture

    return copy_fixture("datadir-1000", tmp_path_factory.mktemp("fleet") / "datadir-1000")


def test_inventory_of_a_fleet_names_each_hosts_newest_good(fleet: MotoServer) -> None:
    found = inventory("s3://fleet/", recursive=True, verify=True, ops=REAL)
    assert len(found.rows) == HOSTS * 3
    by_host: dict[str, list] = {}
    for row in found.rows:
        by_host.setdefault(row.file.split("/")[0], []).append(row)
    for host, rows in by_host.items():
        best = newest_good(rows).overall
        assert best is not None
        expected = "2026-11-02" if host == "host-003" else "2026-11-03"
        assert best.file == f"{host}/aerodb-{expected}.tar", host


def test_verify_on_a_dask_local_cluster_gives_the_same_rows(fleet: MotoServer, tmp_path: Path) -> None:
    from distributed import LocalCluster

    marker = tmp_path / "crashed"
    os.environ["AEROOPS_TEST_CRASH_MARKER"] = str(marker)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            events: list[Progress] = []
            from helpers.s3 import verify_killing_its_first_worker

            spread = remote_inventory(
                "s3://fleet/",
                recursive=True,
                verify=True,
                dask=cluster.scheduler_address,
                progress=events.append,
                verify_one=verify_killing_its_first_worker,
            )
    finally:
        del os.environ["AEROOPS_TEST_CRASH_MARKER"]
    assert marker.exists()  # a worker died, and its archive was verified elsewhere
    alone = inventory("s3://fleet/", recursive=True, verify=True, now=spread.taken_at, ops=REAL)
    assert spread.rows == alone.rows
    assert [e.done_bytes for e in events] == list(range(1, HOSTS * 3 + 1))


def test_dask_is_imported_only_with_dask(fleet: MotoServer) -> None:
    code = (
        "import sys; from aeroops.cli.main import main; "
        "main(['inventory', 's3://fleet/', '-r', '--verify', '--format', 'json']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**os.environ})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
    assert len(json.loads("\n".join(out.stdout.strip().splitlines()[:-1]))) == HOSTS * 3


def test_the_cli_takes_a_scheduler(fleet: MotoServer) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "aeroops",
                "inventory",
                "s3://fleet/",
                "-r",
                "--verify",
                "--dask",
                cluster.scheduler_address,
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ},
        )
    rows = json.loads(out.stdout)
    assert out.returncode == 1  # host-003's damaged archive
    assert len(rows) == HOSTS * 3 and sum(1 for r in rows if r["ok"] is False) == 1
