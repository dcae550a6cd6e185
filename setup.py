"""Only the optional C speedups live here; everything else is in pyproject.toml.

The extension is optional: without a C compiler the build skips it and aeroops runs its
pure-Python readers, which give the same results, more slowly. Its WAL loop checks CRCs with
ISA-L's C library where its headers are installed (Debian's libisal-dev, which .ci/run
installs), else with zlib's."""

import sysconfig
from pathlib import Path

from setuptools import Extension, setup

INCLUDE_DIRS = [Path(sysconfig.get_config_var("INCLUDEDIR") or "/usr/include"), Path("/usr/include")]
HAVE_ISAL = any((folder / "isa-l" / "crc.h").exists() for folder in INCLUDE_DIRS)

setup(
    ext_modules=[
        Extension(
            "aeroops.formats._speedups",
            ["aeroops/formats/_speedups.c"],
            libraries=["isal"] if HAVE_ISAL else ["z"],
            define_macros=[("AEROOPS_ISAL", "1")] if HAVE_ISAL else [],
            optional=True,
        )
    ]
)
