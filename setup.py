"""Only the optional C speedups live here; everything else is in pyproject.toml.

The extension is optional: without a C compiler (or ISA-L's headers, Debian's libisal-dev) the
build skips it and aeroops runs its pure-Python readers, which give the same results, more slowly."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "aeroops.formats._speedups",
            ["aeroops/formats/_speedups.c"],
            libraries=["isal"],
            optional=True,
        )
    ]
)
