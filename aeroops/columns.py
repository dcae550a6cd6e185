"""One definition per field of a result row: its type (as a pandas dtype) and its unit live on
the dataclass field itself, and everything else is derived from it: the plain records the
terminal and CSV print (`record`), the DataFrame columns and dtypes (`dtypes`), the row's JSON
(`aeroops.views.serialise.plain_dict`), and how people read each value (the unit:
`aeroops.views.units`). A base module: it imports nothing of aeroops.

Declare a field with `column`, as ``size: int | None = column("Int64", unit="bytes")``. A
field declared without it is not a column (a nested value, say). Nothing here imports pandas.

dtypes: ``string`` text (missing is <NA>), ``int64`` integers never missing, ``Int64`` integers
that can be missing, ``bool``/``boolean`` the same for truth values, ``datetime64[ns, UTC]``
times (missing is NaT), ``timedelta64[ns]`` durations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

METADATA_KEY = "aeroops.column"
UTC_TIME = "datetime64[ns, UTC]"
DURATION = "timedelta64[ns]"

Columns = dict[str, str]  # column name → pandas dtype, in order
Record = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """How one column of a result table is typed and read, declared on its field by `column`.
    (A docstring of its own also spares `dataclass` writing one from `inspect.signature`.)"""

    dtype: str  # the pandas dtype of its DataFrame column
    unit: str = ""  # how people read it (aeroops.views.units): bytes, age, mode, time; "" as it is
    missing: str = ""  # what a missing value reads as, for people ("none")
    verdict: bool = False  # part of the verdict (ok, severity, counts by severity): tables show it first


def column(
    dtype: str, *, unit: str = "", missing: str = "", verdict: bool = False, default: Any = dataclasses.MISSING
) -> Any:
    """A dataclass field that is a column of the row's tables."""
    metadata = {METADATA_KEY: Column(dtype, unit, missing, verdict)}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def specs(row_type: type, *, exclude: Iterable[str] = ()) -> dict[str, Column]:
    """The column fields of a row dataclass: those of the verdict first, then the rest, each in
    the order they are declared."""
    left_out = set(exclude)
    declared = [
        (f.name, f.metadata[METADATA_KEY])
        for f in dataclasses.fields(row_type)
        if METADATA_KEY in f.metadata and f.name not in left_out
    ]
    return dict(sorted(declared, key=lambda item: not item[1].verdict))


def dtypes(row_type: type, *, exclude: Iterable[str] = ()) -> Columns:
    return {name: spec.dtype for name, spec in specs(row_type, exclude=exclude).items()}


def record(row: Any, names: Iterable[str] | None = None) -> Record:
    """The row's column values as they are (times as datetimes, durations as timedeltas)."""
    return {name: getattr(row, name) for name in (specs(type(row)) if names is None else names)}
