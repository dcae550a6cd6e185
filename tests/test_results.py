"""Result values (aeroops.core.results): reachable by views without the executor, and each
result's fields defined once."""

from __future__ import annotations

import subprocess
import sys


def test_views_reach_the_result_types_without_importing_the_executor() -> None:
    code = (
        "import sys; import aeroops.views.text, aeroops.views.backup, aeroops.views.restore, "
        "aeroops.views.records, aeroops.core.results; "
        "print(sorted(m for m in sys.modules if m.startswith('aeroops.executor')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
