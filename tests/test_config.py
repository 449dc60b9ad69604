"""Numba options are set in one place."""

import pathlib
import re

import fastgmm
from fastgmm._config import FASTMATH_FLAGS

KERNEL_DIR = pathlib.Path(fastgmm.__file__).parent / "kernels"


def test_no_kernel_file_sets_fastmath_itself():
    offenders = [
        path.name for path in KERNEL_DIR.glob("*.py") if re.search(r"fastmath\s*=", path.read_text())
    ]
    assert offenders == []


def test_fastmath_keeps_infinities_and_nans():
    # log-sum-exp relies on -inf; approximate functions would cost accuracy.
    assert FASTMATH_FLAGS <= {"nsz", "arcp", "contract", "afn", "reassoc"}
    assert not FASTMATH_FLAGS & {"nnan", "ninf", "fast", "afn"}


def test_every_kernel_is_jitted_at_module_level():
    # A jit call inside a function would recompile on every call.
    for path in KERNEL_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            if re.search(r"\bnjit\(|\bjit\(", line):
                assert line.startswith("@"), f"{path.name}: {line.strip()}"


def test_cached_kernels_are_tied_to_all_kernel_sources():
    # numba's cache only checks each function's own file; fastgmm stamps the
    # cache with a digest of every kernel source and drops it on a mismatch.
    import hashlib

    from fastgmm import kernels

    sources = sorted(KERNEL_DIR.glob("*.py")) + [KERNEL_DIR.parent / "_config.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    assert kernels._SOURCE_DIGEST == digest
    assert (KERNEL_DIR / "__pycache__" / "fastgmm-kernels.sha256").read_text() == digest
