"""The process's heap, for the streaming passes (backup, verify)."""

from __future__ import annotations

from aeroops.formats.wal import load_speedups


def keep_freed_memory(largest: int = 16 << 20) -> None:
    """A streaming pass allocates a megabyte per read while the last ones are still held (by
    the digest thread, by a record across two reads): glibc is told to keep up to 32 MiB of
    freed heap for them instead of trimming it and faulting it in again (a verify of the
    benchmark archive took 77,000 page faults, a CRC pass over it 1,700). For the process.
    largest: blocks under this size come from the heap, larger ones from mmap (and go back to
    the system when freed)."""
    speedups = load_speedups()
    if speedups is not None:
        speedups.keep_freed_memory(32 << 20, largest)
