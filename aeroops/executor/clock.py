"""The clock and the environment, read on the shell's side: a backup's default creation time.
`aeroops.formats` only parses what is read here (`parse_source_date_epoch`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

from aeroops.formats.ids import parse_source_date_epoch


def default_created_at(environ: Mapping[str, str] | None = None) -> datetime:
    """``SOURCE_DATE_EPOCH`` where set (reproducible builds' convention), else now. Raises
    `UsageError` when it is set to anything but whole seconds AeroDB's timestamps can carry."""
    epoch = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH")
    if epoch:
        return parse_source_date_epoch(epoch)
    return datetime.now(UTC).replace(microsecond=0)
