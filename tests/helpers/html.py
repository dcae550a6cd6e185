"""HTML the panels and runbooks show, read as a person reads it."""

from __future__ import annotations


def text_of(html: str) -> str:
    """``html`` without its ``<wbr>`` marks: they allow a line break in a name or a path
    (aeroops.views.html.breakable) and are no text."""
    return html.replace("<wbr>", "")
