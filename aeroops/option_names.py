"""How messages name an option: the library's keyword argument (``overwrite=True``) unless a front
end names its own options for the run (the command line's ``--overwrite``: `aeroops.cli.main`),
so that each message speaks the language of whoever reads it. A base module: the layers that
raise the messages cannot import the front end that names the options."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

_OPTION_NAMES: ContextVar[Mapping[str, str] | None] = ContextVar("aeroops_option_names", default=None)


def option(keyword: str, value: object = None) -> str:
    """How a message names the option ``keyword``: the front end's name (``--overwrite``) within
    `naming_options`, else the keyword as a Python caller passes it (``overwrite=True``, or the
    bare ``wal_records`` without a value)."""
    named = (_OPTION_NAMES.get() or {}).get(keyword)
    if named is not None:
        return named
    return keyword if value is None else f"{keyword}={value!r}"


@contextlib.contextmanager
def naming_options(names: Mapping[str, str]) -> Iterator[None]:
    """Within this block, messages name options as ``names`` says (keyword → front end's name)."""
    token = _OPTION_NAMES.set(names)
    try:
        yield
    finally:
        _OPTION_NAMES.reset(token)
