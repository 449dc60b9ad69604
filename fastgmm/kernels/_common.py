"""Pieces shared by the kernels of every covariance type.

The buffers of a block are laid out feature-major, ``(n_features, block)``, so
that every inner loop runs over contiguous points and vectorises.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .._config import EXACT_JIT_OPTIONS, JIT_OPTIONS

LOG_2PI = math.log(2.0 * math.pi)

# Covariance-type codes understood by the parallel drivers in ``_engine``.
FULL, TIED, DIAG, SPHERICAL = 0, 1, 2, 3


def block_size(n_features):
    """Points per block: the block's feature-major buffers stay within L1/L2.

    Depends on the problem only, never on the thread count.
    """
    return int(max(16, min(256, 2048 // max(int(n_features), 1))))


def padded_features(n_features):
    """Rows of the feature-major block buffers and of the full-covariance
    tiles: n_features rounded up to a multiple of 4 where 4 x 4 tiles pay
    (n_features a multiple of 4, or at least 16), else n_features."""
    n_features = int(n_features)
    if n_features % 4 == 0 or n_features < 16:
        return n_features
    return (n_features + 3) // 4 * 4


def lane_count(n_samples, n_components, accumulator_size):
    """Number of lanes (contiguous runs of points with private accumulators).

    A function of the problem size only, so that the fixed-order reduction,
    and with it every bit of the result, is the same for any thread count.
    The lane accumulators together stay under 32 MiB.

    Parameters
    ----------
    n_samples : int
    n_components : int
    accumulator_size : int
        Float64 values in one lane's accumulators.
    """
    by_points = max(1, int(n_samples) // 2048)
    by_memory = max(1, (32 << 20) // (8 * max(int(accumulator_size), 1)))
    return int(min(64, by_points, by_memory))


@intrinsic
def _bits_as_float64(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return signature, codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split: 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = (
    1.0 / math.factorial(i) for i in range(2, 14)
)


@njit(**EXACT_JIT_OPTIONS)
def _exp(x):
    """exp(x) in float64 within 1 ulp of numpy, in a form LLVM vectorises.

    Cody-Waite reduction x = n ln2 + s (|s| <= ln2 / 2), a degree-13 Taylor
    polynomial for exp(s), and 2^n built from exponent bits in two halves so
    that subnormal results are right. exp(-inf) = 0 and x > 709.78 gives inf;
    NaN is never passed (the kernels' arguments are log-densities minus
    their maximum).
    """
    x = min(max(x, -746.0), 710.0)
    k = math.floor(x * _LOG2E + 0.5)
    n = np.int64(k)
    s = x - k * _LN2_HI
    s = s - k * _LN2_LO
    u = _C13
    u = u * s + _C12
    u = u * s + _C11
    u = u * s + _C10
    u = u * s + _C9
    u = u * s + _C8
    u = u * s + _C7
    u = u * s + _C6
    u = u * s + _C5
    u = u * s + _C4
    u = u * s + _C3
    u = u * s + _C2
    p = (s * s * u + s) + 1.0
    half = n >> 1
    rest = n - half
    return (p * _bits_as_float64((half + 1023) << 52)) * _bits_as_float64((rest + 1023) << 52)


@njit(**JIT_OPTIONS)
def _lane_bounds(n_samples, n_lanes, lane):
    """First and one-past-last point of a lane; int64 so N > 2**31 works."""
    start = (np.int64(n_samples) * lane) // n_lanes
    stop = (np.int64(n_samples) * (lane + 1)) // n_lanes
    return start, stop


@njit(**JIT_OPTIONS)
def _load_block(X, sample_weight, start, n_block, x_t, w_block):
    """Copy rows ``start:start + n_block`` of X into ``x_t`` (features x points)
    as float64, and their weights (1 when ``sample_weight`` is empty) into
    ``w_block``."""
    n_features = X.shape[1]
    for b in range(n_block):
        row = X[start + b]
        for i in range(n_features):
            x_t[i, b] = row[i]
    if sample_weight.shape[0] == 0:
        for b in range(n_block):
            w_block[b] = 1.0
    else:
        for b in range(n_block):
            w_block[b] = sample_weight[start + b]


@njit(**JIT_OPTIONS)
def _normalise_block(log_rho, n_block, w_block, log_norm, norm):
    """Turn ``log_rho`` (components x points) into weighted responsibilities
    ``w_b r_bk``, in place, and write log p(x_b) into ``log_norm``.

    Eq. (4)-(5) of docs/derivation.md: log p(x) = logsumexp_k log rho_k and
    r_k = exp(log rho_k - log p(x)). One exp per entry: the exps shifted by the
    row maximum are kept and divided by their sum. ``norm`` is scratch.

    Returns
    -------
    weighted_log_likelihood : float
        sum_b w_b log p(x_b) over the block.
    """
    n_components = log_rho.shape[0]
    peak = log_norm
    for b in range(n_block):
        peak[b] = -np.inf
        norm[b] = 0.0
    for k in range(n_components):
        row = log_rho[k]
        for b in range(n_block):
            peak[b] = max(peak[b], row[b])
    for b in range(n_block):
        # A point where every component has zero weight: avoid inf - inf.
        if peak[b] == -np.inf:
            peak[b] = 0.0
    for k in range(n_components):
        row = log_rho[k]
        for b in range(n_block):
            e = _exp(row[b] - peak[b])
            row[b] = e
            norm[b] += e
    total = 0.0
    for b in range(n_block):
        scale = w_block[b] / norm[b] if norm[b] > 0.0 else 0.0
        log_norm[b] = peak[b] + math.log(norm[b])
        if w_block[b] != 0.0:
            total += w_block[b] * log_norm[b]
        norm[b] = scale
    for k in range(n_components):
        row = log_rho[k]
        for b in range(n_block):
            row[b] *= norm[b]
    return total
