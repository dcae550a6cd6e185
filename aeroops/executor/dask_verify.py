"""Verification of many archives spread over a Dask cluster (``dask.distributed``): one archive
per task, results gathered as they finish. Imported only for ``--dask``: without it nothing of
Dask is loaded.

Each worker reads its archive from object storage itself (with its own credentials: the AWS
chain on that machine); only the reports travel back. A worker that dies has its tasks run
again elsewhere by the scheduler (``retries`` adds tries for a task that raised)."""

from __future__ import annotations

from collections.abc import Callable

from aeroops.core.verify_report import VerifyReport
from aeroops.errors import UsageError
from aeroops.progress import Progress, ProgressCallback

TASK_RETRIES = 2


def verify_on_cluster(
    urls: list[str],
    scheduler: str,
    verify_one: Callable[[str], VerifyReport],
    *,
    progress: ProgressCallback | None = None,
) -> dict[str, VerifyReport]:
    """The report of every archive in ``urls``, verified on the cluster at ``scheduler``
    (``tcp://host:8786``), in no particular order of work; progress counts finished tasks."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--dask needs dask.distributed: pip install 'aeroops[dask]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as error:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    reports: dict[str, VerifyReport] = {}
    with client:
        futures = {
            client.submit(verify_one, url, key=f"aeroops-verify-{i}", retries=TASK_RETRIES, pure=False): url
            for i, url in enumerate(urls)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            url = futures[future]
            reports[url] = future.result()
            if progress is not None:
                progress(Progress("inventory", "verify on the Dask cluster", 1, 1, done, len(urls), unit="archives"))
    return reports
