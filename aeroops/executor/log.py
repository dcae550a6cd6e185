"""What the executor suppresses, said on the "aeroops" logger: ``from aeroops.executor import log``,
then ``log.warning(...)`` as on a `logging.Logger`.

`logging` is imported at the first message, not at import: with traceback, string and threading
it would weigh on every start of the command line, and most runs log nothing.
"""

from __future__ import annotations

import sys

LOGGER = "aeroops"


def _log(level: str, message: str, args: tuple[object, ...], exc_info: bool = False) -> None:
    import logging

    # stacklevel: the record names the caller of `log.warning`, not this module.
    getattr(logging.getLogger(LOGGER), level)(message, *args, exc_info=exc_info, stacklevel=3)


def debug(message: str, *args: object) -> None:
    _log("debug", message, args)


def info(message: str, *args: object) -> None:
    _log("info", message, args)


def warning(message: str, *args: object) -> None:
    _log("warning", message, args)


def error(message: str, *args: object) -> None:
    _log("error", message, args)


def exception(message: str, *args: object) -> None:
    """An error with the traceback of the exception being handled (call it in an ``except``)."""
    _log("error", message, args, exc_info=sys.exc_info()[0] is not None)
