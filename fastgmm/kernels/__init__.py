"""Numba kernels: one pass per EM iteration, and the per-point outputs.

The functions here are the dispatch table by covariance type: they turn the
model parameters into the kernels' uniform layout, call the parallel driver,
and reduce the lanes in a fixed order. Arrays in, arrays out.
"""

import hashlib
import math
import pathlib
import threading
from contextlib import contextmanager

import numpy as np


def _kernel_cache_dir():
    """The folder numba caches the kernels in, chosen by numba's own
    locators: NUMBA_CACHE_DIR's subfolder for this package when it is set,
    else ``__pycache__`` here, else the user-wide cache. None if numba can
    cache nowhere.

    Returns
    -------
    path : pathlib.Path or None
    """
    from numba.core.caching import FunctionCache

    try:
        # Every kernel file is in this folder, and numba picks the folder by
        # the source file's folder.
        return pathlib.Path(FunctionCache(_kernel_cache_dir).cache_path)
    except RuntimeError:  # no locator: numba does not cache either
        return None


def _drop_stale_cache():
    """Delete numba's cached kernels when any kernel source has changed.

    numba checks only the file that defines a cached function, not the files
    of the functions it calls: an edit to ``_common.py`` would otherwise leave
    the drivers in ``_engine.py`` running stale machine code. Wherever numba
    keeps the cache (``_kernel_cache_dir``): with NUMBA_CACHE_DIR set, an
    edited checkout once ran a stale walker.

    Returns
    -------
    digest : str
        SHA-256 of the kernel sources and the numba options.
    """
    here = pathlib.Path(__file__).parent
    sources = sorted(here.glob("*.py")) + [here.parent / "_config.py"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    cache = _kernel_cache_dir()
    if cache is None:
        return digest
    stamp = cache / "fastgmm-kernels.sha256"
    try:
        if stamp.read_text() == digest:
            return digest
    except OSError:
        pass
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            path.unlink(missing_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then keeps no cache here either
        pass
    return digest


_SOURCE_DIGEST = _drop_stale_cache()

from .._config import numba_threads  # noqa: E402
from ._common import (  # noqa: E402
    DIAG,
    FULL,
    FULL_NARROW,
    FULL_PRECENTRED,
    SPHERICAL,
    TIED,
    StoredWalkers,
    aligned_array,
    block_size,
    block_stride,
    exact_log_ratio,
    lane_count,
    negligible_log_ratio,
    padded_features,
    sum_lanes,
)
from ._engine import _walk_lanes, covariance_marker  # noqa: E402
from .diag import prepare_diag  # noqa: E402
from .full import full_code, prepare_full  # noqa: E402
from .spherical import prepare_spherical  # noqa: E402
from .tied import prepare_tied  # noqa: E402

COVARIANCE_CODES = {"full": FULL, "tied": TIED, "diag": DIAG, "spherical": SPHERICAL}
_MARKERS = {
    code: covariance_marker(code)
    for code in (FULL, TIED, DIAG, SPHERICAL, FULL_PRECENTRED, FULL_NARROW)
}
_PREPARE = {
    "full": prepare_full,
    "tied": prepare_tied,
    "diag": prepare_diag,
    "spherical": prepare_spherical,
}
_NO_WEIGHTS = np.empty(0)
_NO_INDEX = np.empty(0, dtype=np.int64)


def second_moment_shape(covariance_type, n_components, n_features):
    """Shape of the kernels' second-moment accumulator (one lane).

    full (K, d, d), tied (1, d, d), diag (K, 1, d), spherical (K, 1, 1).
    """
    return {
        "full": (n_components, n_features, n_features),
        "tied": (1, n_features, n_features),
        "diag": (n_components, 1, n_features),
        "spherical": (n_components, 1, 1),
    }[covariance_type]


def _driver_code(covariance_type, n_features):
    # Of X's features, not of prec's, so that every pass over the same data
    # (the initial M-step's has no prec) shares one compiled walker.
    if covariance_type == "full":
        return full_code(n_features)
    return COVARIANCE_CODES[covariance_type]


def _writable(array, dtype=np.float64):
    # Numba compiles separate code for read-only arrays; never hand it one.
    return np.require(array, dtype=dtype, requirements=("C", "W"))


def compute_dtype(X, *params):
    """The precision the kernels work in: float32 only when X and every
    parameter are float32 (DESIGN section 4), as scikit-learn would compute.

    Sums are always accumulated in float64.
    """
    dtypes = [X.dtype] + [np.asarray(p).dtype for p in params]
    return np.dtype(np.float32) if all(d == np.float32 for d in dtypes) else np.dtype(np.float64)


def _prepare(covariance_type, weights, means, precisions_cholesky, dtype):
    # Only U is rounded to the compute dtype. The means (and tied's m_k) stay
    # float64, so x - mu is formed in float64 before it is rounded: rounding
    # the means of float32 data far from 0 would move the density by far more
    # than float32 arithmetic on the differences does.
    prec, aux, const, shift = _PREPARE[covariance_type](weights, means, precisions_cholesky)
    return _writable(prec, dtype), _writable(aux), _writable(const), _writable(shift)


def _weights_or_empty(sample_weight):
    return _NO_WEIGHTS if sample_weight is None else sample_weight


def _reduce_lanes(lanes):
    # Sum over the lane axis in lane order: same bits for any thread count.
    nk, s1, s2, log_likelihood, weight = lanes
    n_features = s1.shape[2]
    n_stack, rows, columns = s2.shape[1:]
    sums = (np.zeros(nk.shape[1]), np.zeros(s1.shape[1:]),
            np.zeros((n_stack, min(rows, n_features), min(columns, n_features))))
    return (*sums, *sum_lanes(nk, s1, s2, log_likelihood, weight, *sums))


def _threads_for(n_lanes):
    # One lane is too little work to wake a second thread; on a busy machine
    # waiting for it costs far more than the work itself.
    return 1 if n_lanes == 1 else None


def _kernel_moment_shape(covariance_type, n_components, n_features):
    # The full and tied kernels accumulate S2 in padded tiles; _reduce_lanes
    # trims them.
    padded = padded_features(n_features)
    if covariance_type == "full":
        return (n_components, padded, padded)
    if covariance_type == "tied":
        return (1, padded, padded)
    return second_moment_shape(covariance_type, n_components, n_features)


def _lanes_for(X, covariance_type, n_components):
    n_samples, n_features = X.shape
    s2_shape = _kernel_moment_shape(covariance_type, n_components, n_features)
    per_lane = n_components * (1 + n_features) + math.prod(s2_shape) + 2
    return s2_shape, lane_count(n_samples, n_components, per_lane)


# Bytes of each worker's pending columns (``full._accumulate_full_block``).
# Each flush sums a component's columns in tiles whose setup and reduction
# cost the same for 16 columns as for 256: W3 (d = 64, K = 32) got only 16
# columns from 256 KiB, and one pass, 2 threads, took 1.21x as long in
# float32 (1.05x in float64) as with the 112 (48) columns of 1 MiB. W2 and
# W4 gain nothing from more (0.96-1.04x, interleaved). At most 1 MiB per
# worker, or 16 columns of every component.
PENDING_BYTES = 1 << 20


def _pending_columns(driver_code, n_components, s2_shape, dtype, block):
    """Columns of each component's pending buffer: 0 (none) unless the
    statistics of a full fit over more than 3 features are accumulated
    (driver code FULL or FULL_PRECENTRED; FULL_NARROW sums each block at
    once, ``full._accumulate_narrow_block``), else as many as fit in
    ``PENDING_BYTES``, a multiple of 16 between 16 and a block. A function
    of the problem only, so that the sums' order, and every bit of them, is
    the same for any thread count."""
    if driver_code not in (FULL, FULL_PRECENTRED) or s2_shape[0] == 0:
        return 0
    padded = s2_shape[2]
    columns = PENDING_BYTES // (n_components * (padded + 1) * np.dtype(dtype).itemsize)
    return int(min(block, max(16, columns // 16 * 16)))


_REUSE = threading.local()


@contextmanager
def reused_buffers():
    """Let this thread's fit passes be set up once, and run again, until
    the block ends.

    An EM fit makes the same pass once per iteration: the same data,
    shapes and jobs, new parameters. Setting it up each time (18 buffers,
    the walkers' stored arguments, the thread count) cost about 150 us of
    W1's 6 ms iteration (2 threads), with the caches cold after the pass
    before. Inside the block the last such pass is kept
    (``_RepeatablePass``); the next one with the same data, shapes and jobs
    copies its parameters into the kept pass's arrays, sets its buffers to
    their initial values, so that it sees what fresh ones would give, and
    runs the stored walkers. Memory stays that of one pass, and is freed
    when the block ends. No public function returns a pass's buffers, so
    the next pass may overwrite them. Each thread keeps its own.
    """
    previous = getattr(_REUSE, "kept", None)
    _REUSE.kept = {}
    try:
        yield
    finally:
        _REUSE.kept = previous


class _RepeatablePass:
    """A pass set up once (``reused_buffers``): the arrays of its parameters
    and buffers that the stored walkers point to, and the buffers' initial
    values."""

    def __init__(self, prepared, lanes, initial, walkers, threads, n_workers):
        self.prepared = prepared
        self.lanes = lanes
        self.initial = initial
        self.walkers = walkers
        self.threads = threads
        self.n_workers = n_workers

    def run(self, prepared):
        """Run the pass again with new ``prepared`` parameters (same shapes
        and dtypes); return its lanes (``_run_pass``)."""
        for kept, value in zip(self.prepared, prepared):
            np.copyto(kept, value)
        for array, fill in self.initial:
            array.fill(fill)
        if self.threads is None:  # numba's current count, as the setup found it
            self.walkers.run(self.n_workers)
        else:
            with numba_threads(self.threads):
                self.walkers.run(self.n_workers)
        return self.lanes[:7]


def _pass_arrays(X, prec, n_components, s2_shape, n_lanes, n_workers, block, n_worst,
                 n_pending):
    """The walker's lane accumulators and its workers' scratch (``_engine._walk_lanes``).

    Allocated here rather than in the driver: numba would compile each
    shape of np.zeros, np.full and np.empty there, about 1.4 s of a cold
    first fit.

    Returns
    -------
    lanes : tuple
        nk (n_lanes, n_components), s1 (n_lanes, n_components, n_features),
        s2 (n_lanes,) + s2_shape, log_likelihood and weight (n_lanes,),
        worst_log_norm (n_lanes, n_worst) +inf, worst_index (n_lanes,
        n_worst) -1, and the lane counter (1,) int64.
    scratch : tuple
        Per worker, with stride = ``block_stride(block, itemsize)`` in
        each array's dtype:
        x_t (n_workers, padded, stride) in X's dtype, diff and (padded + 1
        rows) y in the compute dtype (``prec``'s), all zero; log_rho
        (n_workers, n_components, stride) in the compute dtype, two float64
        rows and an int64 row (n_workers, block), and three rows in the
        compute dtype (n_workers, 3, stride); the pending columns (n_workers, n_components',
        padded + 1, n_pending) in the compute dtype, zero, and their counts
        (n_workers, n_components') int64, zero, with n_components' = 0 when
        ``n_pending`` is 0.
    initial : list of (ndarray, scalar)
        The arrays above with an initial value, and the value.
    """
    n_features = X.shape[1]
    # Feature rows of the work buffers: the full kernels' tiles pad them.
    padded = max(n_features, prec.shape[2], s2_shape[2])
    pending_components = n_components if n_pending > 0 else 0
    f64, i64 = np.dtype(np.float64), np.dtype(np.int64)
    # Buffers of several rows are wider than the block (the kernels use its
    # first ``block`` columns), so that their rows are whole cache lines and
    # not 4 KiB apart.
    x_stride = block_stride(block, X.dtype.itemsize)
    work = prec.dtype
    stride = block_stride(block, work.itemsize)
    specs = (
        # The lanes' accumulators.
        ((n_lanes, n_components), f64, 0),
        ((n_lanes, n_components, n_features), f64, 0),
        ((n_lanes,) + tuple(s2_shape), f64, 0),
        ((n_lanes,), f64, 0),
        ((n_lanes,), f64, 0),
        ((n_lanes, n_worst), f64, np.inf),
        ((n_lanes, n_worst), i64, -1),
        ((1,), i64, 0),
        # The workers' scratch.
        ((n_workers, padded, x_stride), X.dtype, 0),
        ((n_workers, padded, stride), work, 0),
        ((n_workers, padded + 1, stride), work, 0),
        ((n_workers, n_components, stride), work, None),
        ((n_workers, block), f64, None),
        ((n_workers, block), f64, None),
        ((n_workers, 3, stride), work, None),
        ((n_workers, block), i64, None),
        ((n_workers, pending_components, padded + 1, n_pending), work, 0),
        ((n_workers, pending_components), i64, 0),
    )
    arrays = tuple(aligned_array(*spec) for spec in specs)
    initial = [(array, fill) for array, (_, _, fill) in zip(arrays, specs) if fill is not None]
    return arrays[:8], arrays[8:], initial


def _log_floor(dtype, out_resp, out_log_norm):
    """The pass's ``log_floor``: predict_proba returns every responsibility,
    however small, score_samples every log p(x) to its last bit, and a fit
    leaves out what cannot change its statistics."""
    if out_resp is not None:
        return -np.inf
    if out_log_norm is not None:
        return exact_log_ratio(dtype)
    return negligible_log_ratio(dtype)


def _run_pass(X, sample_weight, covariance_type, prepared, given_resp=None, statistics=True,
              out_resp=None, out_log_norm=None, out_labels=None, n_worst=0):
    kept = getattr(_REUSE, "kept", None)
    # A pass with arrays of its own call (given responsibilities, outputs)
    # is not kept: only the passes of EM's iterations repeat.
    repeatable = kept is not None and given_resp is None and (
        out_resp is None and out_log_norm is None and out_labels is None)
    if repeatable:
        key = (id(X), id(sample_weight), covariance_type, statistics, n_worst) + tuple(
            (array.dtype, array.shape) for array in prepared)
        again = kept.get(key)
        if again is not None:
            return again.run(prepared)
        prepared = tuple(np.array(array) for array in prepared)  # the kept pass's own
    prec, aux, const, shift = prepared
    n_components = shift.shape[0]
    s2_shape, n_lanes = _lanes_for(X, covariance_type, n_components)
    code = _driver_code(covariance_type, X.shape[1])
    block = block_size(code, n_components, prec.dtype.itemsize)
    if not statistics:
        s2_shape = (0, 0, 0)
    # Empty arrays stand for "not asked": the driver skips that job.
    no_rows = np.empty((0, n_components))
    # Dummies in X's dtype: a fit and a predict on the same data share one compile.
    no_out = np.empty((0, n_components), dtype=X.dtype)
    threads = _threads_for(n_lanes)
    with numba_threads(threads) as n_threads:
        n_workers = min(n_threads, n_lanes)
        n_pending = _pending_columns(code, n_components, s2_shape, prec.dtype, block)
        lanes, scratch, initial = _pass_arrays(X, prec, n_components, s2_shape, n_lanes,
                                               n_workers, block, int(n_worst), n_pending)
        args = (
            _MARKERS[code], X,
            _weights_or_empty(sample_weight),
            prec, aux, const, shift,
            no_rows if given_resp is None else given_resp, lanes, scratch,
            no_out if out_resp is None else out_resp,
            no_out.ravel() if out_log_norm is None else out_log_norm,
            _NO_INDEX if out_labels is None else out_labels,
            _log_floor(prec.dtype, out_resp, out_log_norm),
        )
        walkers = StoredWalkers(_walk_lanes, args)
        if repeatable:
            kept.clear()  # only the last pass: memory stays that of one
            kept[key] = _RepeatablePass(prepared, lanes, initial, walkers, threads, n_workers)
        walkers.run(n_workers)
    return lanes[:7]


def estep_statistics(X, sample_weight, covariance_type, weights, means, precisions_cholesky):
    """One E-step over X and the sufficient statistics it implies, eq. (9).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous float32 or float64
    sample_weight : ndarray of shape (n_samples,) float64, or None
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
        scikit-learn's ``precisions_cholesky_`` layout for the covariance type.

    Returns
    -------
    nk : ndarray of shape (n_components,)
    s1 : ndarray of shape (n_components, n_features)
        Sums of w r (x - shift_k).
    s2 : ndarray of shape ``second_moment_shape(...)``
        Upper triangle of the shifted second moments.
    shift : ndarray of shape (n_components, n_features)
    log_likelihood : float
        sum_n w_n log p(x_n).
    weight : float
        sum_n w_n.
    """
    prepared = _prepare(covariance_type, weights, means, precisions_cholesky, compute_dtype(X))
    lanes = _run_pass(X, sample_weight, covariance_type, prepared)
    nk, s1, s2, log_likelihood, weight = _reduce_lanes(lanes[:5])
    return nk, s1, s2, prepared[3], log_likelihood, weight


def resp_statistics(X, sample_weight, resp, shift, covariance_type):
    """Sufficient statistics for given responsibilities (initialisation).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) float64, or None
    resp : ndarray of shape (n_samples, n_components)
    shift : ndarray of shape (n_components, n_features)
        Centre of the shifted sums (rows equal for 'tied').
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    The tuple of ``estep_statistics``; the log-likelihood is 0.
    """
    shift = _writable(shift)
    n_components = shift.shape[0]
    # U is unused here; its dtype sets the compute dtype, as in the E-step.
    unused = (np.empty((n_components, 0, 0), dtype=compute_dtype(X)), shift,
              np.empty(n_components), shift)
    lanes = _run_pass(X, sample_weight, covariance_type, unused,
                      given_resp=np.ascontiguousarray(resp, dtype=np.float64))
    nk, s1, s2, log_likelihood, weight = _reduce_lanes(lanes[:5])
    return nk, s1, s2, shift, log_likelihood, weight


def estimate(X, covariance_type, weights, means, precisions_cholesky,
             resp=False, log_norm=False, labels=False, out_dtype=np.float64):
    """Per-point E-step outputs: only those asked for are allocated.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    covariance_type, weights, means, precisions_cholesky :
        As in ``estep_statistics``.
    resp, log_norm, labels : bool
        Which outputs to compute.
    out_dtype : dtype
        dtype of the floating-point outputs.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components) or None
    log_norm : ndarray of shape (n_samples,) or None
    labels : ndarray of shape (n_samples,) int64 or None
    """
    dtype = compute_dtype(X, means) if np.dtype(out_dtype) == np.float32 else np.dtype(np.float64)
    prec, aux, const, shift = _prepare(covariance_type, weights, means, precisions_cholesky, dtype)
    n_samples = X.shape[0]
    n_components = shift.shape[0]
    out_resp = np.empty((n_samples if resp else 0, n_components), dtype=out_dtype)
    out_norm = np.empty(n_samples if log_norm else 0, dtype=out_dtype)
    out_labels = np.empty(n_samples if labels else 0, dtype=np.int64)
    _run_pass(X, None, covariance_type, (prec, aux, const, shift), statistics=False,
              out_resp=out_resp, out_log_norm=out_norm, out_labels=out_labels)
    return (
        out_resp if resp else None,
        out_norm if log_norm else None,
        out_labels if labels else None,
    )


def worst_points(X, sample_weight, covariance_type, weights, means, precisions_cholesky, n_worst):
    """Indices of the ``n_worst`` points with the lowest log-likelihood.

    Zero-weight points are never chosen; ties go to the earlier row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    covariance_type, weights, means, precisions_cholesky :
        As in ``estep_statistics``.
    n_worst : int

    Returns
    -------
    index : ndarray of shape (m,), int64, m <= n_worst
        Sorted from the lowest log p(x) up.
    log_norm : ndarray of shape (m,)
    """
    prepared = _prepare(covariance_type, weights, means, precisions_cholesky, compute_dtype(X))
    lane_norm, lane_index = _run_pass(X, sample_weight, covariance_type, prepared,
                                      statistics=False, n_worst=n_worst)[5:]
    norm, index = lane_norm.ravel(), lane_index.ravel()
    found = index >= 0
    norm, index = norm[found], index[found]
    order = np.lexsort((index, norm))[:n_worst]
    return index[order], norm[order]
