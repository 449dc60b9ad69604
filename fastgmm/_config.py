"""Numba options in one place, and a thread-count context manager.

Every kernel takes its decorator options from here; a test fails if a kernel
file spells out ``fastmath=`` itself.
"""

from contextlib import contextmanager

import numba
from numba.core.cpu_options import ParallelOptions

# Never "nnan"/"ninf": log-sum-exp relies on -inf for zero-weight components.
# "afn" is left out too: approximate exp/log would cost the 1e-10 parity.
FASTMATH_FLAGS = {"nsz", "arcp", "contract", "reassoc"}

# Options of the kernels Python calls. error_model="numpy" drops Python's
# ZeroDivisionError checks from the inner loops. Python calls them through
# their CPython wrappers; their C wrappers would never be used.
ENTRY_JIT_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH_FLAGS,
                         no_cfunc_wrapper=True)

# Kernels that only other kernels call. numba would otherwise compile, and
# optimise at O3, a Python wrapper for each of them, never used.
JIT_OPTIONS = dict(ENTRY_JIT_OPTIONS, no_cpython_wrapper=True)

# Parallel drivers: only the explicit prange loop runs in parallel. numba
# would otherwise turn each np.zeros or np.full of the lane accumulators into
# a parfor of its own, and every parfor costs about a second of compile.
# (A ParallelOptions, not a dict: numba empties a dict as it reads it.)
PARALLEL_JIT_OPTIONS = dict(
    ENTRY_JIT_OPTIONS,
    parallel=ParallelOptions(dict(
        comprehension=False, reduction=False, inplace_binop=False, setitem=False,
        numpy=False, stencil=False, fusion=False, prange=True,
    )),
)

# The E-step's tile loops are elementwise over points, with no reduction to
# vectorise, so they need no reassociation: their sums run as written, left
# to right, as chains of fused multiply-adds.
ELEMENTWISE_JIT_OPTIONS = dict(JIT_OPTIONS, fastmath=FASTMATH_FLAGS - {"reassoc"})

# The M-step's small matrix kernels (``kernels.parameters``): IEEE
# arithmetic as numpy's elementwise operations do it, so that they give
# numpy's bits.
IEEE_JIT_OPTIONS = dict(ENTRY_JIT_OPTIONS, fastmath=False)

# The polynomial exp keeps its two-constant range reduction only if LLVM may
# not reassociate it: contraction (FMA) alone. It is inlined into callers.
EXACT_JIT_OPTIONS = dict(JIT_OPTIONS, fastmath={"contract"})


@contextmanager
def numba_threads(n_threads):
    """Run a block with ``n_threads`` numba threads, and always restore the count.

    Parameters
    ----------
    n_threads : int or None
        Threads to use inside the block; ``None`` leaves the count unchanged.
    """
    if n_threads is None:
        yield numba.get_num_threads()
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(int(n_threads))
    try:
        yield int(n_threads)
    finally:
        numba.set_num_threads(previous)
