"""Only the optional C speedups live here; everything else is in pyproject.toml.

The extension is optional: without a C compiler the build skips it and aeroops runs its
pure-Python readers, which give the same results, more slowly. Its WAL loop checks CRCs with
ISA-L's crc32_gzip_refl, found at import in the isal package's own extension (a dependency), so
the fast path needs no system headers; a table-driven CRC where that is missing."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "aeroops.formats._speedups",
            ["aeroops/formats/_speedups.c"],
            depends=["aeroops/formats/_speedups_documents.h", "aeroops/formats/_speedups_fields.h"],
            libraries=["dl"],
            optional=True,
        )
    ]
)
