"""Pieces shared by the kernels of every covariance type.

The buffers of a block are laid out feature-major, ``(n_features, block)``, so
that every inner loop runs over contiguous points and vectorises.
"""

import math
import struct

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba._dispatcher import compute_fingerprint
from numba.core import cgutils, errors
from numba.core.registry import cpu_target
from numba.extending import intrinsic, models, overload, register_model

from .._config import (
    ELEMENTWISE_JIT_OPTIONS,
    EXACT_JIT_OPTIONS,
    IEEE_JIT_OPTIONS,
    JIT_OPTIONS,
    PARALLEL_JIT_OPTIONS,
)

LOG_2PI = math.log(2.0 * math.pi)

# Covariance-type codes understood by the EM walker in ``_engine``.
# FULL_PRECENTRED is 'full' with x - mu stored before the E-step's tiles
# read it, FULL_NARROW 'full' for at most 3 features (``full.full_code``).
FULL, TIED, DIAG, SPHERICAL, FULL_PRECENTRED, FULL_NARROW = 0, 1, 2, 3, 4, 5


def _covariance_code(marker):
    """The code of a covariance marker's numba type (``_engine.covariance_marker``)."""
    if not isinstance(marker, types.Array):
        raise errors.TypingError("expected a covariance marker (see covariance_marker)")
    return marker.ndim - 1


# Points per block of the EM passes. Measured A/B: 256 float64 points beat
# 128 at every feature count tried once the E-step stopped storing its
# columns and the statistics skipped zero responsibilities (W2, d = 16,
# 2 threads: 196-202 -> 164-174 ms per iteration; d = 5, 8 and 32 alike) and
# beat 512 (W2 labels pass, 1 thread: 136-139 against 159-201 ms). float32
# work was faster with 512 (W2 statistics pass, 1 thread: 135-156 against
# 147-170 ms), but its longer float32 block sums moved W6's d = 64 lower
# bound 1.4e-5 from float64's, past issue 3's 1e-5 (3.7e-6 with 256), and
# tied's float32 scatter lost precision likewise. A constant, so never a
# function of the threads; a multiple of 16 (``_rounded_block``).
BLOCK = 256

# Points per block of the full passes over at most 3 features (FULL_NARROW,
# ``block_size``). Each block costs some fixed work per component and stage
# (a call, a loop's setup, the statistics' horizontal sums), and these
# passes do so little per point that it weighs: 1024 points per block beat
# 256 (W1, d = 2, K = 8, one pass, 41 rounds interleaved with an A/A pair,
# Zen 4: 1.18x at 1 thread, 1.13x at 2; d = 2, K = 32: 1.17x; d = 3,
# K = 16: 1.05x). The other passes gained nothing or lost (d = 8, K = 8
# full: 0.85x; tied, diag, spherical over 2 features: 0.95-1.05x; W3:
# 0.74x), so they keep BLOCK. Halved while the block's log-densities
# (components x block) exceed NARROW_BLOCK_BYTES, so that large K stays in
# the L2 cache.
NARROW_BLOCK = 1024
NARROW_BLOCK_BYTES = 256 << 10


def block_size(driver_code, n_components, itemsize):
    """Points per block of a pass (``BLOCK``, ``NARROW_BLOCK``).

    A function of the problem only, never of the threads, so that the
    statistics' order of summation, and every bit of them, is the same for
    any thread count.

    Parameters
    ----------
    driver_code : int
        The walker's covariance code (``full.full_code`` for 'full').
    n_components : int
    itemsize : int
        Bytes per value of the compute dtype.
    """
    if driver_code != FULL_NARROW:
        return BLOCK
    block = NARROW_BLOCK
    while block > BLOCK and n_components * block * itemsize > NARROW_BLOCK_BYTES:
        block //= 2
    return block


# Bytes of a cache line. The walker's buffers start on one (``aligned_array``)
# and their rows are whole lines long (``block_stride``), so that no vector
# load of a row straddles two lines: with AVX-512 every unaligned load
# does. Against buffers on malloc's 16-byte boundaries (which boundary
# each got varied between runs), per EM iteration, interleaved, Zen 4,
# 2 threads: W2 1.15x (also at 1 thread), W1, W3, W5 and float32 W6
# 1.01-1.07x.
CACHE_LINE = 64


def _address(array):
    # Not array.ctypes.data, which builds a ctypes object: 14 us of a pass
    # with the caches cold after the last one, against 1 us for this.
    return array.__array_interface__["data"][0]


def aligned_array(shape, dtype=np.float64, fill=0):
    """``np.full(shape, fill, dtype)``, C-contiguous, its data starting on a
    cache line (``CACHE_LINE``). So do its sub-arrays along the first axes
    (a worker's share, a row) whose size is a whole number of lines.

    Parameters
    ----------
    shape : int or tuple of int
    dtype : dtype
    fill : scalar or None
        None leaves the values unset, as ``np.empty``.

    Returns
    -------
    array : ndarray of shape ``shape``
    """
    dtype = np.dtype(dtype)
    # math.prod: np.prod took 3 of this function's 7.5 us, and a pass makes 18.
    n_bytes = math.prod(shape if isinstance(shape, tuple) else (shape,)) * dtype.itemsize
    raw = np.empty(n_bytes + CACHE_LINE, dtype=np.uint8)
    start = -_address(raw) % CACHE_LINE
    array = raw[start:start + n_bytes].view(dtype).reshape(shape)
    if fill is not None:
        array.fill(fill)
    return array


def block_stride(block, itemsize):
    """Columns of the block buffers that hold several rows of ``itemsize``
    bytes: one cache line more than the block (8 float64, 16 float32).

    The rows are then whole cache lines, and, with ``block`` 256 times a
    power of 2, never a multiple of 4 KiB apart: a load from one row right
    after a store to another with the same address bits below 4 KiB waits
    for the store (AVX2, E-step tile with x - mu stored first: 12.8 -> 9.2
    cycles per iteration, 1 thread).
    """
    return block + CACHE_LINE // itemsize


BLOCK_STRIDE = block_stride(BLOCK, 8)


def _has_wide_vectors():
    """Whether numba compiles for a CPU with AVX-512 (32 vector registers).

    The full E-step's tiles hold 16 coefficients and, for each coordinate, a
    centre (float32: a head and a tail) in registers. With AVX-512 they fit,
    and subtracting the centres in the tiles beats storing x - mu first.
    With AVX2's 16 registers they spill, and each tile iteration reloads
    them: ``CENTRE_IN_TILES`` is then off, and from d = 16 on the tiles read
    rows centred beforehand (``_centre_rows``), bit for bit the same values
    (``full.full_code``).
    """
    features = numba.core.config.CPU_FEATURES
    if features is None:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


CENTRE_IN_TILES = _has_wide_vectors()


def padded_features(n_features):
    """Rows of the feature-major block buffers and of the full-covariance
    tiles: n_features rounded up to a multiple of 4.

    The zero padding lets full and tied work in 4 x 4 register tiles at
    every size, so the kernels carry one code path, and compile once.
    """
    return (int(n_features) + 3) // 4 * 4


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


@njit(**IEEE_JIT_OPTIONS)
def sum_lanes(nk, s1, s2, log_likelihood, weight, nk_sum, s1_sum, s2_sum):
    """The lanes' accumulators summed over the lane axis in lane order, the
    same bits for any thread count; S2 trimmed of the tiles' padding.

    One compiled call: the five numpy sums and the trim took about 50 us of
    W1's 6 ms iteration (2 threads). nk, s1 and s2 come out as numpy's
    ``sum(axis=0)`` gives them, which adds the rows in order too. The sums
    are given, zero, so that no allocation is compiled (0.2 s of a cold
    first fit).

    Parameters
    ----------
    nk : ndarray of shape (n_lanes, n_components)
    s1 : ndarray of shape (n_lanes, n_components, n_features)
    s2 : ndarray of shape (n_lanes, n_stack, rows, columns)
        rows and columns at least those of s2_sum (the tiles' padding).
    log_likelihood, weight : ndarray of shape (n_lanes,)
    nk_sum : ndarray of shape (n_components,), zero
    s1_sum : ndarray of shape (n_components, n_features), zero
    s2_sum : ndarray of shape (n_stack, min(rows, n_features), min(columns, n_features)), zero

    Returns
    -------
    log_likelihood, weight : float
    """
    n_lanes, n_components = nk.shape
    n_features = s1.shape[2]
    n_stack, n_rows, n_columns = s2_sum.shape
    log_likelihood_sum = 0.0
    weight_sum = 0.0
    for lane in range(n_lanes):
        for k in range(n_components):
            nk_sum[k] += nk[lane, k]
            for i in range(n_features):
                s1_sum[k, i] += s1[lane, k, i]
        for k in range(n_stack):
            for i in range(n_rows):
                for j in range(n_columns):
                    s2_sum[k, i, j] += s2[lane, k, i, j]
        log_likelihood_sum += log_likelihood[lane]
        weight_sum += weight[lane]
    return log_likelihood_sum, weight_sum


@intrinsic
def _float_with_bits(typingctx, like, bits):
    """The float of ``like``'s type (float64 or float32) whose bits are the
    integer ``bits``, truncated to the float's width."""
    if like not in (types.float64, types.float32) or not isinstance(bits, types.Integer):
        return None
    width = 64 if like == types.float64 else 32
    signature = like(like, bits)

    def codegen(context, builder, sig, args):
        value = args[1]
        if bits.bitwidth > width:
            value = builder.trunc(value, ir.IntType(width))
        elif bits.bitwidth < width:
            value = builder.sext(value, ir.IntType(width))
        return builder.bitcast(value, context.get_value_type(like))

    return signature, codegen


def _float_intrinsic(name):
    """Typing and codegen of LLVM's two-argument float intrinsic ``name``."""
    def typer(typingctx, a, b):
        if a not in (types.float64, types.float32) or b != a:
            return None

        def codegen(context, builder, sig, args):
            value_type = args[0].type
            function = builder.module.declare_intrinsic(
                name, [value_type], ir.FunctionType(value_type, [value_type, value_type]))
            return builder.call(function, args)

        return a(a, b), codegen
    return typer


# The larger and the smaller of two floats of one type (LLVM's maxnum and
# minnum: a NaN loses). ``peak[b] = max(peak[b], row[b])`` lets LLVM drop
# the store where the value is unchanged, and without AVX-512 the loop then
# vectorises to masked stores, which are slow: 0.7-1.0 against 0.27 ns per
# entry with maxnum (AVX2, 1 thread).
_maximum = intrinsic(_float_intrinsic("llvm.maxnum"))
_minimum = intrinsic(_float_intrinsic("llvm.minnum"))


def _python_minmax(comparison):
    """Typing and codegen of Python's two-argument max (``comparison`` ">")
    or min ("<") on two numbers of one type: b if b > a (b < a) else a.

    The builtins would compile numba's generic min and max for each type,
    about 0.1-0.3 s of a cold first fit each; this is one select.
    """
    def typer(typingctx, a, b):
        if not isinstance(a, (types.Float, types.Integer)) or b != a:
            return None

        def codegen(context, builder, sig, args):
            first, second = args
            if isinstance(sig.args[0], types.Float):
                wins = builder.fcmp_ordered(comparison, second, first)
            elif sig.args[0].signed:
                wins = builder.icmp_signed(comparison, second, first)
            else:
                wins = builder.icmp_unsigned(comparison, second, first)
            return builder.select(wins, second, first)

        return a(a, b), codegen
    return typer


# max(a, b) and min(a, b) with Python's semantics (a NaN first argument is
# kept, a NaN second one loses), without compiling numba's generic builtins.
_larger = intrinsic(_python_minmax(">"))
_smaller = intrinsic(_python_minmax("<"))


@intrinsic
def _choose(typingctx, condition, a, b):
    """``a if condition else b`` as one select: an argmax that stores its
    label unconditionally, so that it needs no masked store."""
    if not isinstance(condition, types.Boolean) or a != b:
        return None

    def codegen(context, builder, sig, args):
        return builder.select(args[0], args[1], args[2])

    return a(condition, a, b), codegen


# Bytes of one AVX2 register: the run of a row that ``_any_shifted_at_least``
# tests at once.
VECTOR_BYTES = 32


def _is_float_vector_source(array):
    return (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and array.dtype in (types.float64, types.float32))


def _lanes_of(dtype):
    """Values of a numba float type in ``VECTOR_BYTES``: 4 float64 or 8 float32."""
    return VECTOR_BYTES * 8 // dtype.bitwidth


@intrinsic
def _vector_lanes(typingctx, array):
    """Values of ``array``'s dtype in ``VECTOR_BYTES`` (``_lanes_of``), a
    constant that LLVM sees."""
    if not (isinstance(array, types.Array) and array.dtype in (types.float64, types.float32)):
        return None
    lanes = _lanes_of(array.dtype)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, lanes)

    return types.intp(array), codegen


def _load_vector(context, builder, array_type, array, start, lanes=None):
    """``lanes`` values (default ``_vector_lanes``) of a C-contiguous 1-D
    float array from ``start`` on, as one LLVM vector."""
    if lanes is None:
        lanes = _lanes_of(array_type.dtype)
    vector = ir.VectorType(context.get_value_type(array_type.dtype), lanes)
    data = context.make_array(array_type)(context, builder, array).data
    pointer = builder.bitcast(builder.gep(data, [start]), vector.as_pointer())
    return builder.load(pointer, align=array_type.dtype.bitwidth // 8)


def _any_lane(builder, mask):
    """Whether any lane of a vector of booleans is true: one test of the
    mask (AVX2: vmovmskpd)."""
    lanes = mask.type.count
    bits = builder.bitcast(mask, ir.IntType(lanes))
    return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(lanes), 0))


@intrinsic
def _any_shifted_at_least(typingctx, values, offsets, start, bound):
    """Whether ``values[j] - offsets[j] >= bound`` for any j in ``start,
    start + _vector_lanes(values)``, which the caller keeps within both
    arrays.

    One vector load of each, a subtraction, a compare and one test of the
    mask. A loop over the lanes would reduce them one at a time; with an
    ``if`` on its result LLVM also kept the lanes scalar.
    """
    if not (_is_float_vector_source(values) and _is_float_vector_source(offsets)
            and offsets.dtype == values.dtype and bound == values.dtype
            and isinstance(start, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        shifted = builder.fsub(_load_vector(context, builder, sig.args[0], args[0], args[2]),
                               _load_vector(context, builder, sig.args[1], args[1], args[2]))
        vector_bounds = ir.Constant(shifted.type, ir.Undefined)
        for lane in range(shifted.type.count):
            vector_bounds = builder.insert_element(vector_bounds, args[3],
                                                   ir.Constant(ir.IntType(32), lane))
        return _any_lane(builder, builder.fcmp_ordered(">=", shifted, vector_bounds))

    return types.boolean(values, offsets, start, bound), codegen


# Points whose responsibilities _gather_support tests at once, in either
# dtype: with 8 float32 points per test, fewer runs were all zero (W2: 60%
# against 77% of 4) and the float32 W2 pass gained nothing; with 4, W4
# float32's pass is 1.15x faster and W2's unchanged (2 threads, interleaved).
GATHER_RUN = 4


@intrinsic
def _nonzero_lanes(typingctx, values, start):
    """Bit j set where ``values[start + j] != 0``, for j < ``GATHER_RUN``,
    which the caller keeps within the array (NaN counts as nonzero, as with
    ``!=``): one vector load, compare and mask move (AVX2: vmovmskpd)."""
    if not (_is_float_vector_source(values) and isinstance(start, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        vector = _load_vector(context, builder, sig.args[0], args[0], args[1], GATHER_RUN)
        nonzero = builder.fcmp_unordered("!=", vector, ir.Constant(vector.type, None))
        return builder.zext(builder.bitcast(nonzero, ir.IntType(GATHER_RUN)), ir.IntType(64))

    return types.int64(values, start), codegen


def _lanes_in_order(run):
    """For each mask of ``run`` lanes, (masks, run) int64: the set lanes in
    order, then the others; and (masks,) int64: how many are set.
    ``_gather_support`` stores all ``run`` indices of a run at once and moves
    on by the number set."""
    masks = range(1 << run)
    order = [[j for j in range(run) if mask >> j & 1] + [j for j in range(run) if not mask >> j & 1]
             for mask in masks]
    count = [bin(mask).count("1") for mask in masks]
    return np.array(order, dtype=np.int64), np.array(count, dtype=np.int64)


_SET_LANES, _SET_COUNT = _lanes_in_order(GATHER_RUN)


@intrinsic
def _bits_of_float(typingctx, value):
    """The bits of a float64 as an int64 (of a float32 as an int32)."""
    if value not in (types.float64, types.float32):
        return None
    width = value.bitwidth

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(width))

    return getattr(types, f"int{width}")(value), codegen


@njit(**JIT_OPTIONS)
def _all_within(values, n_values, low, high):
    """Whether low <= values[:n_values] <= high, for 0 < low <= high
    finite: False if any value is NaN.

    By the values' bits as integers, whose order is the floats' order for
    floats from +0 up, infinity and then NaN included; a negative float or
    NaN has the sign bit set and is a negative integer. The integer minimum
    and maximum vectorise, where LLVM leaves a float comparison that counts
    NaN unvectorised or turns its masks into integer vectors (W1: 1.9% of
    the pass, 1 thread).
    """
    smallest = largest = _bits_of_float(values[0])
    for b in range(1, n_values):
        bits = _bits_of_float(values[b])
        smallest = _smaller(smallest, bits)
        largest = _larger(largest, bits)
    return smallest >= _bits_of_float(low) and largest <= _bits_of_float(high)


@intrinsic
def _prefetch_row(typingctx, array, row):
    """Prefetch the cache line that holds the start of ``array[row]`` into
    L2 (prefetcht1, LLVM's locality 2), for a later read."""
    if not isinstance(array, types.Array) or not isinstance(row, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        stride = cgutils.unpack_tuple(builder, ary.strides, sig.args[0].ndim)[0]
        base = builder.bitcast(ary.data, ir.IntType(8).as_pointer())
        address = builder.gep(base, [builder.mul(args[1], stride)])
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32]),
            "llvm.prefetch.p0")
        # read, locality 2 (L2), data cache
        builder.call(prefetch, [address, i32(0), i32(2), i32(1)])
        return context.get_dummy_value()

    return types.none(array, row), codegen


@intrinsic
def _claim(typingctx, counter):
    """Atomically add 1 to ``counter[0]`` and return its previous value.

    The walkers hand out lanes with it: a thread that finishes its
    lane claims the next one, so a thread slowed by another process on a
    shared machine does not hold up the pass. Lanes own their accumulators,
    so which thread walks a lane never changes a bit of the result.

    numba's parfor analysis does not see this write: read the counter only
    through ``_claim``. A plain load after the loop may be folded to the
    value stored before it.
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    signature = types.int64(counter)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", array.data, one, "monotonic")

    return signature, codegen


@njit(**EXACT_JIT_OPTIONS)
def _times_power_of_two(p, n, bias, mantissa_bits):
    """p 2^n in p's dtype, 2^n built from exponent bits (``bias`` and
    ``mantissa_bits``: 1023 and 52 for float64, 127 and 23 for float32) in
    two halves, so that a subnormal result is rounded once and 2^n itself
    never needs an exponent out of range."""
    half = n >> 1
    rest = n - half
    return ((p * _float_with_bits(p, (half + bias) << mantissa_bits))
            * _float_with_bits(p, (rest + bias) << mantissa_bits))


_LOG2E = 1.4426950408889634
_LN2 = math.log(2.0)
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split: 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
# 1.5 * 2^52: x * log2(e) + _ROUNDER has round(x * log2(e)) in its low bits.
_ROUNDER = 6755399441055744.0
# SLEEF's minimax coefficients (xexp, 1.0 ulp) of (exp(s) - 1 - s) / s^2 on
# |s| <= ln2 / 2, lowest degree first: 0.5, ~1/3!, ..., ~1/12! (``_estrin11``).
_EXP_COEFFICIENTS = (
    0.5, 0.166666666666666851703837, 0.0416666666666665047591422,
    0.00833333333331652721664984, 0.00138888888889774492207962,
    0.000198412698960509205564975, 2.4801587159235472998791e-05,
    2.75572362911928827629423e-06, 2.75573911234900471893338e-07,
    2.51112930892876518610661e-08, 2.08860621107283687536341e-09,
)


@njit(**EXACT_JIT_OPTIONS)
def _horner(s, coefficients):
    """The polynomial with ``coefficients`` (a tuple, highest degree first)
    at s, by Horner's rule; LLVM unrolls the loop over the constant tuple."""
    u = coefficients[0]
    for c in coefficients[1:]:
        u = u * s + c
    return u


@njit(**EXACT_JIT_OPTIONS)
def _estrin11(s, c):
    """c[0] + c[1] s + ... + c[10] s^10 by Estrin's scheme: four multiply-adds
    deep instead of Horner's ten. With 4-lane vectors (AVX2) the exp's loop
    is bound by that chain's latency, not by its operations."""
    s2 = s * s
    s4 = s2 * s2
    s8 = s4 * s4
    q0 = (c[0] + c[1] * s) + (c[2] + c[3] * s) * s2
    q1 = (c[4] + c[5] * s) + (c[6] + c[7] * s) * s2
    q2 = (c[8] + c[9] * s) + c[10] * s2
    return (q0 + q1 * s4) + q2 * s8


@intrinsic
def _low_int32(typingctx, x):
    """The low 32 bits of float64 x's representation, as an int32."""
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.trunc(builder.bitcast(args[0], ir.IntType(64)), ir.IntType(32))

    return types.int32(x), codegen


@njit(**EXACT_JIT_OPTIONS)
def _exp(x):
    """exp(x) in float64 within 1 ulp of numpy, in a form LLVM vectorises.

    Cody-Waite reduction x = n ln2 + s (|s| <= ln2 / 2), SLEEF's degree-12
    minimax polynomial for exp(s) by Estrin's scheme (``_estrin11``), and 2^n
    built from exponent bits in two halves so that subnormal results are
    right. n = round(x log2(e)) is read from the low bits of x log2(e) +
    1.5 2^52: no rounding or float-to-int conversion instruction in the
    chain. (A degree-13 Taylor polynomial and floor() with a conversion
    took 4.9 cycles per exp, this 4.3; AVX2, 1 thread, in cache.)
    exp(-inf) = 0 and x > 709.78 gives inf; NaN is never passed (the
    kernels' arguments are log-densities minus their maximum).
    """
    p, n = _exp_reduced(_smaller(_larger(x, -746.0), 710.0))
    return _times_power_of_two(p, n, 1023, 52)


@njit(**EXACT_JIT_OPTIONS)
def _exp_reduced(x):
    """p and n with exp(x) = p 2^n, p in [sqrt(2)/2, sqrt(2)], for
    -746 <= x <= 710 (``_exp``)."""
    shifted = x * _LOG2E + _ROUNDER
    k = shifted - _ROUNDER
    n = _low_int32(shifted)
    s = x - k * _LN2_HI
    s = s - k * _LN2_LO
    return (s * s * _estrin11(s, _EXP_COEFFICIENTS) + s) + 1.0, n


# Down to these x, n in exp(x) = p 2^n keeps 2^n a normal number: n >=
# -1022 for float64 (x >= -708.7), n >= -126 for float32 (x >= -87.6).
NORMAL_EXP_LOWEST = -708.0
NORMAL_EXP_LOWEST_32 = -87.0


# The fused narrow fit (``full._fit_narrow_block``) takes the exps of log rho
# unshifted, 0 below NORMAL_EXP_LOWEST and at most exp(UNSHIFTED_HIGHEST)
# (a clamp only for a component whose constant tops it), where
# ``_normal_exp`` is exact (its 2^n stays a normal number: n <= 1023,
# float32 n <= 127), and keeps a point's exps only where their sum lies in
# UNSHIFTED_SUMS. There, no exp was clamped from above (each is at most the
# sum) and the largest log rho is at least log(sum) - log K, so every exp
# left out below NORMAL_EXP_LOWEST is one the shifted normalisation would
# leave out too: more than -log_floor below the largest (float64: the sum
# at least e^-600 puts the largest at least -600 - log K, above -708 + 40
# for any K < e^68; float32: e^-50, above -87 + 20 for K < e^17). A point
# outside takes the shifted path.
UNSHIFTED_HIGHEST, UNSHIFTED_HIGHEST_32 = 700.0, 88.0
UNSHIFTED_SUMS = (math.exp(-600.0), math.exp(690.0))
UNSHIFTED_SUMS_32 = (math.exp(-50.0), math.exp(80.0))


def _normal_exp(x):
    """``_exp(x)``, bit for bit, for NORMAL_EXP_LOWEST <= x <= 0: the shifted
    log-densities of log-sum-exp, clamped at a floor.

    No clamps, and 2^n is one normal number: p 2^n is then rounded once, as
    ``_times_power_of_two``'s two halves round it. Eight operations fewer per
    exp; in cache, 1.2x ``_exp``'s rate, and W1's pass 1.06x faster (1 and
    2 threads).
    """
    p, n = _exp_reduced(x)
    return p * _float_with_bits(p, (n + 1023) << 52)


_LOG2E_32 = np.float32(_LOG2E)
_LN2_HI_32 = np.float32(0.693359375)  # Cephes' split: 9 significant bits
_LN2_LO_32 = np.float32(-2.12194440e-4)
# Cephes expf's minimax polynomial for (exp(s) - 1 - s) / s^2, |s| <= ln2 / 2.
_CEPHES_32 = tuple(
    np.float32(c) for c in (
        1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
        1.6666665459e-1, 5.0000001201e-1,
    )
)
# exp(-104) rounds to 0 and exp(89) to inf in float32.
_LOWEST_32, _HIGHEST_32 = np.float32(-104.0), np.float32(89.0)


@njit(**EXACT_JIT_OPTIONS)
def _exp32(x):
    """exp(x) for float32 x, in float32, within 1 ulp of the correctly rounded
    result (tests/test_exp.py), in a form LLVM vectorises at 16 lanes.

    The float32 twin of ``_exp``: Cody-Waite reduction with a float32 split
    of ln 2, a degree-5 polynomial, and 2^n in two halves so that subnormal
    results are right. The float32 E-step's normalisation runs on it at
    about 2.7 times ``_exp``'s rate (3.0 against 1.1 Gexp/s, 1 thread).
    """
    p, n = _exp32_reduced(_smaller(_larger(x, _LOWEST_32), _HIGHEST_32))
    return _times_power_of_two(p, n, 127, 23)


@njit(**EXACT_JIT_OPTIONS)
def _exp32_reduced(x):
    """``_exp_reduced`` for float32 x, -104 <= x <= 89 (``_exp32``)."""
    k = np.floor(x * _LOG2E_32 + np.float32(0.5))
    n = np.int32(k)
    s = x - k * _LN2_HI_32
    s = s - k * _LN2_LO_32
    return (s * s * _horner(s, _CEPHES_32) + s) + np.float32(1.0), n


def _normal_exp32(x):
    """``_normal_exp`` for float32: ``_exp32(x)``, bit for bit, for
    NORMAL_EXP_LOWEST_32 <= x <= 0."""
    p, n = _exp32_reduced(x)
    return p * _float_with_bits(p, (n + 127) << 23)


# fdlibm's e_log.c: minimax coefficients of (log(1+f) - 2s) / s in s^2,
# s = f / (2 + f).
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)


@njit(**EXACT_JIT_OPTIONS)
def _log(x):
    """log(x) in float64 within 1 ulp of numpy, for x = 0 (-inf) or a normal
    positive finite x, in a form LLVM vectorises.

    fdlibm's algorithm (e_log.c), with its branches turned into selects:
    x = 2^k m, sqrt(2)/2 <= m < sqrt(2), f = m - 1, log(1 + f) from
    s = f / (2 + f) and a degree-7 polynomial in s^2. The exponent is an
    int32, so that AVX2 converts it four lanes at a time. The E-step takes
    log p(x) with it: math.log ran one point at a time, 10-13 ms per 1e6
    points (AVX2, 1 thread).
    """
    bits = _bits_of_float(x)
    high = np.int32(bits >> 32)
    low = bits & 0xFFFFFFFF
    k = (high >> 20) - 1023
    high = high & 0x000FFFFF
    # Exponent 0 or -1 for the mantissa, whichever puts m in [0.707, 1.414).
    i = (high + 0x95F64) & 0x100000
    m = _float_with_bits(x, (np.int64(high | (i ^ 0x3FF00000)) << 32) | low)
    k = k + (i >> 20)
    f = m - 1.0
    s = f / (2.0 + f)
    dk = np.float64(k)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    r = t2 + t1
    half_f2 = 0.5 * f * f
    far = ((high - 0x6147A) | (0x6B851 - high)) > 0
    if far:
        result = dk * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + dk * _LN2_LO)) - f)
    else:
        result = dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f)
    return result if x > 0.0 else -np.inf


def _exp_in_dtype(x):
    """exp(x) in x's dtype: ``_exp32`` for float32, ``_exp`` otherwise."""


@overload(_exp_in_dtype, jit_options=EXACT_JIT_OPTIONS)
def _exp_in_dtype_for_type(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: _exp(x)


def _normal_exp_in_dtype(x):
    """``_normal_exp`` in x's dtype (``_normal_exp32`` for float32)."""


# Compiled as the overload's implementation: one numba function, not two.
@overload(_normal_exp_in_dtype, jit_options=EXACT_JIT_OPTIONS)
def _normal_exp_in_dtype_for_type(x):
    return _normal_exp32 if x == types.float32 else _normal_exp


def _unshifted_exp(x):
    """exp(x) in x's dtype for the fused narrow fit, unshifted, for
    x <= UNSHIFTED_HIGHEST (the caller clamps it there, or knows every x
    is below it): 0 below NORMAL_EXP_LOWEST (and for -inf),
    ``_normal_exp`` above."""


@overload(_unshifted_exp, jit_options=EXACT_JIT_OPTIONS)
def _unshifted_exp_for_type(x):
    if x == types.float32:
        lowest, zero = np.float32(NORMAL_EXP_LOWEST_32), np.float32(0)
    else:
        lowest, zero = NORMAL_EXP_LOWEST, 0.0

    def unshifted_exp(x):
        # A select, not a branch: see _normalise_block. Below lowest the exp
        # is not a number (its 2^n has no exponent), and is not selected.
        return _choose(x >= lowest, _normal_exp_in_dtype(x), zero)
    return unshifted_exp


def _unshifted_highest(like):
    """``UNSHIFTED_HIGHEST`` (float32 work: ``UNSHIFTED_HIGHEST_32``) in like's dtype."""


@overload(_unshifted_highest, jit_options=EXACT_JIT_OPTIONS)
def _unshifted_highest_for_type(like):
    highest = np.float32(UNSHIFTED_HIGHEST_32) if like == types.float32 else UNSHIFTED_HIGHEST
    return lambda like: highest


def _unshifted_sums(like):
    """``UNSHIFTED_SUMS`` (float32 work: ``UNSHIFTED_SUMS_32``) in like's dtype."""


@overload(_unshifted_sums, jit_options=EXACT_JIT_OPTIONS)
def _unshifted_sums_for_type(like):
    if like == types.float32:
        low, high = (np.float32(v) for v in UNSHIFTED_SUMS_32)
    else:
        low, high = UNSHIFTED_SUMS
    return lambda like: (low, high)


@njit(**JIT_OPTIONS)
def _claim_lane(next_lane, n_samples, n_lanes):
    """The next unwalked lane and its first and one-past-last point
    (``_claim``); lane -1 when every lane has been claimed. The bounds are
    int64, so that N > 2**31 works."""
    lane = _claim(next_lane)
    if lane >= n_lanes:
        return -1, 0, 0
    start = (np.int64(n_samples) * lane) // n_lanes
    stop = (np.int64(n_samples) * (lane + 1)) // n_lanes
    return lane, start, stop


_COMPILED_WALKERS = {}


def _compiled_walker(walker, args):
    """Address of ``walker`` compiled for ``(ArgumentsAddress(typeof(args)),
    worker)``, for ``_call_walker``, and the layout in which ``run_walkers``
    stores ``args``.

    The parallel driver calls a walker, which does all the work of one
    thread, through this address. numba links every function that a prange
    loop calls into each of the four libraries it builds for the loop, and
    optimises and compiles all of it again in each: with the walker called
    directly, a cold first fit compiled the walker four times. Called
    through its address, it is compiled once, and the loop stays a few
    instructions.

    Parameters
    ----------
    walker : numba dispatcher
        Takes ``(arguments, worker)`` and reads its arguments with
        ``_load_arguments``.
    args : tuple
        The walker's arguments, as ``run_walkers`` stores them.

    Returns
    -------
    address : int
    layout : ArgumentsLayout
    """
    # The key of numba's own dispatch (layout, dtype and writeability of
    # each array): 1 us, against 400 us for numba.typeof of the EM arguments.
    key = walker, compute_fingerprint(args)
    compiled_walker = _COMPILED_WALKERS.get(key)
    if compiled_walker is None:
        signature = (ArgumentsAddress(numba.typeof(args)), types.int64)
        walker.compile(signature)
        compiled = walker.overloads[signature]
        address = compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)
        compiled_walker = _COMPILED_WALKERS[key] = address, ArgumentsLayout(signature[0].arguments)
    return compiled_walker


class ArgumentsAddress(types.Type):
    """A pointer to a walker's argument tuple (``run_walkers``), typed by
    the tuple's numba type.

    A walker takes this pointer instead of the tuple, so that every walker
    has the same machine signature, (pointer, worker), whatever its
    arguments: one parallel driver (``_run_workers``), compiled once, runs
    the EM and the k-means walkers of every covariance type and dtype. Each
    driver specialisation cost about 1.3 s of a cold first fit.
    """

    def __init__(self, arguments):
        self.arguments = arguments
        super().__init__(name=f"ArgumentsAddress({arguments})")


@register_model(ArgumentsAddress)
class _ArgumentsAddressModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.IntType(8).as_pointer())


# Any ArgumentsAddress: they all are one pointer in numba's calling convention.
_ANY_ARGUMENTS = ArgumentsAddress(types.UniTuple(types.int64, 0))


# numba's array model, field by field (numba.core.datamodel.models.ArrayModel).
_ARRAY_FIELDS = ("meminfo", "parent", "nitems", "itemsize", "data", "shape", "strides")

# struct's code for each LLVM scalar type of a walker's arguments.
_SCALAR_CODES = {"i1": "?", "i8": "b", "i32": "i", "i64": "q", "float": "f", "double": "d"}


class ArgumentsLayout:
    """How numba lays out a value of an argument tuple's type in memory (its
    LLVM value type, offsets from LLVM's own data layout), and the bytes of
    a tuple of that type: what ``_load_arguments`` loads. Its arrays have
    no owners (null meminfo and parent): numba's reference counting leaves
    them alone, and the caller of ``run_walkers`` keeps them alive.

    Written in Python, not compiled: numba's unboxing of a tuple of some
    forty arrays cost 0.3-0.4 s of a cold first fit per tuple type.

    Parameters
    ----------
    arguments : numba type
        ``numba.typeof`` of the tuples to store.
    """

    def __init__(self, arguments):
        context = cpu_target.target_context
        # One model serves every array type, whatever its dtype, ndim or layout.
        fields = tuple(context.data_model_manager[types.float64[:]]._fields)
        if fields != _ARRAY_FIELDS:
            raise NotImplementedError(f"numba's array model changed: {fields}")
        self.arguments = arguments
        value_type = context.get_value_type(arguments)
        self.n_bytes = value_type.get_abi_size(context.target_data)
        leaves = []
        _scalar_leaves(value_type, 0, context.target_data, leaves)
        format_, end = ["<"], 0
        for offset, code in leaves:
            format_.append(f"{offset - end}x{code}")
            end = offset + struct.calcsize("<" + code)
        format_.append(f"{self.n_bytes - end}x")
        self._struct = struct.Struct("".join(format_))

    def pack(self, args):
        """The bytes of ``args``, a tuple of type ``arguments``.

        Returns
        -------
        buffer : ndarray of uint8, shape (n_bytes,)
        """
        values = []
        _flatten(self.arguments, args, values)
        buffer = np.empty(self.n_bytes, dtype=np.uint8)
        self._struct.pack_into(buffer, 0, *values)
        return buffer


_ELEMENT_OFFSETS = {}


def _scalar_leaves(value_type, offset, target_data, leaves):
    """Append ``(offset, struct code)`` for each scalar of the LLVM type
    ``value_type`` laid out from ``offset``, in memory order."""
    if isinstance(value_type, ir.PointerType):
        leaves.append((offset, "Q"))
    elif isinstance(value_type, ir.LiteralStructType):
        key = str(value_type)
        if key not in _ELEMENT_OFFSETS:  # each query parses a module: 0.1 ms
            _ELEMENT_OFFSETS[key] = [value_type.get_element_offset(target_data, i)
                                     for i in range(len(value_type.elements))]
        for element, element_offset in zip(value_type.elements, _ELEMENT_OFFSETS[key]):
            _scalar_leaves(element, offset + element_offset, target_data, leaves)
    elif isinstance(value_type, ir.ArrayType):
        stride = value_type.element.get_abi_size(target_data)
        for i in range(value_type.count):
            _scalar_leaves(value_type.element, offset + i * stride, target_data, leaves)
    else:
        leaves.append((offset, _SCALAR_CODES[str(value_type)]))


def _flatten(numba_type, value, values):
    """Append the scalars of ``value`` in the order of numba's value type:
    an array as its model's fields, without owners."""
    if isinstance(numba_type, types.Array):
        values += (0, 0, value.size, value.itemsize, _address(value))
        values += value.shape
        values += value.strides
    elif isinstance(numba_type, types.BaseTuple):
        for item_type, item in zip(numba_type, value):
            _flatten(item_type, item, values)
    else:
        values.append(value)


@intrinsic
def _load_arguments(typingctx, arguments):
    """The tuple at ``arguments`` (``run_walkers``). Its arrays have no
    owners (``ArgumentsLayout``): the caller of ``run_walkers`` keeps them alive."""
    if not isinstance(arguments, ArgumentsAddress):
        return None

    def codegen(context, builder, sig, llargs):
        tuple_type = context.get_value_type(arguments.arguments)
        return builder.load(builder.bitcast(llargs[0], tuple_type.as_pointer()))

    return arguments.arguments(arguments), codegen


@intrinsic
def _call_walker(typingctx, address, arguments, worker):
    """Call the walker at ``address`` (``_compiled_walker``) with the argument
    tuple stored at ``arguments`` and ``worker``, in numba's calling
    convention, so that an exception it raises propagates as from a direct
    call."""
    if not (isinstance(address, types.Integer) and isinstance(arguments, types.Integer)
            and worker == types.int64):
        return None
    signature = types.none(address, arguments, worker)

    def codegen(context, builder, sig, llargs):
        walker_args = (_ANY_ARGUMENTS, types.int64)
        function_type = context.call_conv.get_function_type(types.none, walker_args)
        walk = builder.inttoptr(llargs[0], function_type.as_pointer())
        pointer = builder.inttoptr(llargs[1], ir.IntType(8).as_pointer())
        status, _ = context.call_conv.call_function(builder, walk, types.none, walker_args,
                                                    (pointer, llargs[2]))
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        return context.get_dummy_value()

    return signature, codegen


@njit(**PARALLEL_JIT_OPTIONS)
def _run_workers(walk, arguments, n_workers):
    """The parallel driver of every pass: ``n_workers`` threads each call
    the walker at ``walk`` with the argument tuple at ``arguments``
    (``run_walkers``). Its types are three integers, so numba compiles (and
    caches) it once for all walkers."""
    for worker in prange(n_workers):
        _call_walker(walk, arguments, np.int64(worker))  # prange's index is unsigned


class StoredWalkers:
    """A walker and its argument tuple, stored once for ``_run_workers``, to
    run as often as wanted: each run reads the arrays' current values.

    Parameters
    ----------
    walker : numba dispatcher
        Takes ``(arguments, worker)``; ``_load_arguments(arguments)`` is
        ``args``.
    args : tuple
        numba-typable values. The walkers read them through a copy of the
        tuple that holds no references; this object keeps ``args``, and so
        its arrays, alive.
    """

    def __init__(self, walker, args):
        self.args = args
        self.address, layout = _compiled_walker(walker, args)
        self.buffer = layout.pack(args)
        self.data = _address(self.buffer)

    def run(self, n_workers):
        """Run ``walker(args, worker)`` for ``worker`` in ``range(n_workers)``,
        in parallel on numba's threads."""
        _run_workers(self.address, self.data, n_workers)


def run_walkers(walker, args, n_workers):
    """Run ``walker(args, worker)`` for ``worker`` in ``range(n_workers)``, in
    parallel on numba's threads, once (``StoredWalkers``)."""
    StoredWalkers(walker, args).run(n_workers)


@njit(**JIT_OPTIONS)
def _load_block(X, sample_weight, start, n_block, x_t, w_block, ones_kept):
    """Copy rows ``start:start + n_block`` of X into ``x_t`` (features x points)
    in X's dtype, and their weights (1 when ``sample_weight`` is empty) into
    ``w_block``; unit weights not again if ``ones_kept`` (the caller filled
    w_block with ones, and no one writes it). ``ones_kept`` has no default:
    the k-means and EM walkers share one compiled specialisation."""
    n_features = X.shape[1]
    rows = X[start:start + n_block]
    # Up to 3 features, one loop with constant column indices: the loop over
    # a row's few features cost more than the copy (d = 2, 1 thread, per
    # value: 4.9 against 1.8 cycles from memory, 6.7 against 1.2 from cache).
    if n_features == 1:
        x0 = x_t[0]
        for b in range(n_block):
            x0[b] = rows[b, 0]
    elif n_features == 2:
        x0, x1 = x_t[0], x_t[1]
        for b in range(n_block):
            x0[b] = rows[b, 0]
            x1[b] = rows[b, 1]
    elif n_features == 3:
        x0, x1, x2 = x_t[0], x_t[1], x_t[2]
        for b in range(n_block):
            x0[b] = rows[b, 0]
            x1[b] = rows[b, 1]
            x2[b] = rows[b, 2]
    else:
        for b in range(n_block):
            row = rows[b]
            for i in range(n_features):
                x_t[i, b] = row[i]
    if sample_weight.shape[0] == 0:
        if not ones_kept:
            for b in range(n_block):
                w_block[b] = 1.0
    else:
        for b in range(n_block):
            w_block[b] = sample_weight[start + b]


# Exps of log rho more than 460 below a point's largest (e^-460 ~ 1e-200)
# add nothing to its sum of exps, whose largest term is 1, and taking them
# would go subnormal, which is slow (W5 diag: 4% of responsibilities were
# subnormal, and the pass took 125 ms with them against 88 ms without, 1
# thread). float32 work: e^-87 ~ 1.6e-38, just above float32's smallest
# normal number.
EXP_FLOOR = -460.0
EXP_FLOOR_32 = -87.0


def exact_log_ratio(dtype):
    """log of the ratio to a point's largest responsibility below which an
    exp cannot move log p(x)'s last bit: ``EXP_FLOOR`` (float32 work:
    ``EXP_FLOOR_32``). score_samples leaves out only these.

    Parameters
    ----------
    dtype : numpy dtype
        The compute dtype.
    """
    return EXP_FLOOR_32 if np.dtype(dtype) == np.float32 else EXP_FLOOR


def negligible_log_ratio(dtype):
    """log of the ratio to a point's largest responsibility below which a
    fit's E-step leaves a responsibility out of the statistics and out of the
    log-likelihood.

    float64: exp(-40) ~ 4e-18, below half an ulp of the largest (2^-53 ~
    1.1e-16): each such term is absorbed, unchanged, when added to a sum that
    holds its point's largest responsibility, and N_k, S1_k and S2_k move by
    at most that fraction of each point's weight; log p(x) by at most K
    times it (W4, K = 64: 2.7e-16). float32 work: exp(-20) ~ 2e-9, against
    float32's 6e-8. Where components are well separated, most entries are
    such terms (W4: 98%; W2: 94%), and the fit takes no exp for them
    (``_normalise_block``) and gathers no point for them
    (``_gather_support``). score_samples keeps every exp above
    ``exact_log_ratio``, and predict_proba every one (a ratio of -inf).

    Parameters
    ----------
    dtype : numpy dtype
        The compute dtype.
    """
    return -20.0 if np.dtype(dtype) == np.float32 else -40.0


# Vector-wide runs of a row that _normalise_block tests before it decides
# that the row is dense (more than half of them hold an exp to take).
DENSE_PROBE = 8


@njit(**JIT_OPTIONS)
def _log_norms_and_scales(peak, norm, n_block, w_block, log_norm):
    """log p(x_b) = peak_b + log(norm_b) into ``log_norm``, and norm_b
    replaced by w_b / norm_b (0 where norm_b is 0): a block's sums of exps,
    each shifted by its point's ``peak``, turned into the point's log
    density and the scale of its weighted responsibilities.

    peak, norm : (block,) in the compute dtype; w_block, log_norm : (block,)
    float64.

    Returns
    -------
    weighted_log_likelihood : float
        sum_b w_b log p(x_b) over the block.
    """
    # Selects, and the sum in a loop of its own: with branches, this loop
    # ran one point at a time (W1, d = 2, K = 8, 1 thread: 3.9 against 1.4
    # cycles per entry).
    for b in range(n_block):
        sum_of_exps = np.float64(norm[b])
        log_norm[b] = np.float64(peak[b]) + _log(sum_of_exps)
        norm[b] = _choose(sum_of_exps > 0.0, w_block[b] / sum_of_exps, 0.0)
    total = 0.0
    for b in range(n_block):
        # A zero weight drops its point, even one whose log p(x) is -inf.
        total += _choose(w_block[b] != 0.0, w_block[b] * log_norm[b], 0.0)
    return total


# Points whose mantissas ``_sum_of_logs`` multiplies before it
# takes a log: each mantissa is below 2, so a product stays below 2^512.
LOG_PRODUCT_RUN = 512


@njit(**JIT_OPTIONS)
def _sum_of_logs(sums, n_block):
    """sum_b log(sums[b]): the log-likelihood of a block of unit-weight
    points whose sums of exps are unshifted positive normal numbers.

    Each sum is m 2^e, m in [1, 2): the exponents are summed as integers and
    the mantissas multiplied, one log per ``LOG_PRODUCT_RUN`` points instead
    of one per point (W1, d = 2, K = 8: the per-point logs were 4-5% of a
    fit's pass). The product's roundings, at most 512 of 2^-53 each, move
    the log by at most 6e-14 per run: less than the per-point logs' own
    roundings add up to over as many points.

    sums : (block,) in the compute dtype.

    Returns
    -------
    sum_of_logs : float
    """
    exponents = 0
    logs = 0.0
    for first in range(0, n_block, LOG_PRODUCT_RUN):
        product = 1.0
        # A slice, so that b counts from 0: indices from ``first`` on were
        # checked for wraparound, which turned the loads into gathers.
        run = sums[first:_smaller(first + LOG_PRODUCT_RUN, n_block)]
        for b in range(run.shape[0]):
            value = np.float64(run[b])
            bits = _bits_of_float(value)
            exponents += (bits >> 52) - 1023
            product *= _float_with_bits(value, (bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
        logs += np.log(product)
    return logs + exponents * _LN2


@njit(**JIT_OPTIONS)
def _normalise_block(log_rho, n_block, w_block, log_norm, rows, log_floor, listed):
    """Turn ``log_rho`` (components x points) into weighted responsibilities
    ``w_b r_bk``, in place, and write log p(x_b) into ``log_norm``.

    Eq. (4)-(5) of docs/derivation.md: log p(x) = logsumexp_k log rho_k and
    r_k = exp(log rho_k - log p(x)). One exp per entry: the exps shifted by the
    row maximum are kept and divided by their sum. Entries more than
    ``-log_floor`` below their point's maximum become 0 and leave log p(x)
    (``negligible_log_ratio``, ``exact_log_ratio``; -inf keeps all).

    Where components are well separated, most entries are below the floor
    (W4, K = 64: 98%; W2: 94%), and whole vectors of them are (W4: 91%).
    A row with few vectors that hold an exp takes its exps only there: it
    lists them (``_any_shifted_at_least``), packs them, exps the packed
    values in one vectorised loop, and scatters them back. Each entry gets
    the same operations either way, so every bit is the same.

    The maxima, exps and sums are in log_rho's dtype, the compute dtype:
    float32 work takes its exps from ``_exp32``, at twice the vector width
    of float64. log p(x) is formed and summed in float64. The exps come from
    ``_normal_exp`` (``_normal_exp32``) unless the floor is below its range
    (predict_proba's -inf: subnormal responsibilities too).

    log_rho : (n_components, block); w_block, log_norm : (block,) float64;
    rows : (3, block) scratch in log_rho's dtype; listed : (block,) int64
    scratch.

    Returns
    -------
    weighted_log_likelihood : float
        sum_b w_b log p(x_b) over the block.
    """
    n_components = log_rho.shape[0]
    peak, norm, packed = rows[0], rows[1], rows[2]
    zero = log_rho.dtype.type(0)
    for b in range(n_block):
        peak[b] = -np.inf
        norm[b] = zero
    for k in range(n_components):
        row = log_rho[k]
        for b in range(n_block):
            peak[b] = _maximum(peak[b], row[b])
    for b in range(n_block):
        # A point where every component has zero weight: avoid inf - inf.
        if peak[b] == -np.inf:
            peak[b] = zero
    # In log_rho's dtype, so that float32 loops stay float32.
    floor = log_rho.dtype.type(log_floor)
    # Every floor but predict_proba's (-inf) keeps the exps normal numbers,
    # for ``_normal_exp``, which needs no clamps and scales once.
    normal = floor >= (NORMAL_EXP_LOWEST_32 if log_rho.itemsize == 4 else NORMAL_EXP_LOWEST)
    lanes = _vector_lanes(log_rho)
    n_runs = n_block // lanes
    probe = _smaller(DENSE_PROBE, n_runs)
    for k in range(n_components):
        row = log_rho[k]
        # The runs with an entry at or above the floor, listed without branches.
        n_listed = 0
        for run in range(probe):
            listed[n_listed] = run
            n_listed += _any_shifted_at_least(row, peak, run * lanes, floor)
        dense = 2 * n_listed > probe
        if not dense:
            for run in range(probe, n_runs):
                listed[n_listed] = run
                n_listed += _any_shifted_at_least(row, peak, run * lanes, floor)
            dense = 2 * n_listed > n_runs
        # Both paths below clamp before the exp, so that it never goes
        # subnormal. Under ``if shifted >= floor`` LLVM would drop the clamp
        # as redundant, then compute the exp for every entry when it
        # vectorised the loop: subnormal arithmetic, which took W5 tied's
        # normalisation from 53 to 92 ms per 1e6 points (1 thread). Each
        # path has a loop per exp: a select between them in one loop would
        # take both exps.
        if dense:
            if normal:
                for b in range(n_block):
                    shifted = row[b] - peak[b]
                    e = _choose(shifted >= floor, _normal_exp_in_dtype(_larger(shifted, floor)),
                                zero)
                    row[b] = e
                    norm[b] += e
            else:
                for b in range(n_block):
                    shifted = row[b] - peak[b]
                    e = _choose(shifted >= floor, _exp_in_dtype(_larger(shifted, floor)), zero)
                    row[b] = e
                    norm[b] += e
            continue
        # The listed runs, then the points after the last whole run.
        n_packed = 0
        for i in range(n_listed):
            first = listed[i] * lanes
            for j in range(lanes):
                packed[n_packed + j] = row[first + j] - peak[first + j]
            n_packed += lanes
        for b in range(n_runs * lanes, n_block):
            packed[n_packed] = row[b] - peak[b]
            n_packed += 1
        if normal:
            for i in range(n_packed):
                shifted = packed[i]
                packed[i] = _choose(shifted >= floor,
                                    _normal_exp_in_dtype(_larger(shifted, floor)), zero)
        else:
            for i in range(n_packed):
                shifted = packed[i]
                packed[i] = _choose(shifted >= floor, _exp_in_dtype(_larger(shifted, floor)), zero)
        for b in range(n_block):
            row[b] = zero
        n_packed = 0
        for i in range(n_listed):
            first = listed[i] * lanes
            for j in range(lanes):
                row[first + j] = packed[n_packed + j]
                norm[first + j] += packed[n_packed + j]
            n_packed += lanes
        for b in range(n_runs * lanes, n_block):
            row[b] = packed[n_packed]
            norm[b] += packed[n_packed]
            n_packed += 1
    total = _log_norms_and_scales(peak, norm, n_block, w_block, log_norm)
    for k in range(n_components):
        row = log_rho[k]
        for b in range(n_block):
            row[b] *= norm[b]
    return total


@njit(**JIT_OPTIONS)
def _block_total(values, n_block):
    """Sum of a block's values (a component's responsibilities)."""
    total = 0.0
    for b in range(n_block):
        total += values[b]
    return total


@njit(**JIT_OPTIONS)
def _add_feature_moments(r, x_t, centre, i, n_block, s1_row):
    """For the four features f = i..i+3, with t_bf = x_bf - centre[f]: add
    sum_b r_b t_bf to s1_row[f], and return the four sum_b r_b t_bf^2, in
    float64.

    Four features per sweep, so each load (and, for float32 work,
    conversion) of r serves four of them (W5 diag statistics, 1 thread:
    29-33 -> 23-25 ms per 1e6 points against one feature per sweep).
    """
    m0, m1, m2, m3 = centre[i], centre[i + 1], centre[i + 2], centre[i + 3]
    x0, x1, x2, x3 = x_t[i], x_t[i + 1], x_t[i + 2], x_t[i + 3]
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
    for b in range(n_block):
        rb = r[b]
        t0, t1, t2, t3 = x0[b] - m0, x1[b] - m1, x2[b] - m2, x3[b] - m3
        a0 += rb * t0
        a1 += rb * t1
        a2 += rb * t2
        a3 += rb * t3
        b0 += (rb * t0) * t0
        b1 += (rb * t1) * t1
        b2 += (rb * t2) * t2
        b3 += (rb * t3) * t3
    s1_row[i] += a0
    s1_row[i + 1] += a1
    s1_row[i + 2] += a2
    s1_row[i + 3] += a3
    return b0, b1, b2, b3


@njit(**JIT_OPTIONS)
def _add_feature_moment(r, x_t, centre, i, n_block, s1_row):
    """``_add_feature_moments`` for the one feature i: adds to s1_row[i] and
    returns sum_b r_b t_bi^2."""
    m = centre[i]
    xi = x_t[i]
    acc1 = 0.0
    acc2 = 0.0
    for b in range(n_block):
        t = xi[b] - m
        rt = r[b] * t
        acc1 += rt
        acc2 += rt * t
    s1_row[i] += acc1
    return acc2


@njit(**JIT_OPTIONS)
def _block_total_and_support(values, n_block):
    """Sum of a block's values and the number of them that are nonzero, in
    one pass (a component's responsibilities, for the full statistics)."""
    total = 0.0
    used = 0
    for b in range(n_block):
        total += values[b]
        used += 1 if values[b] != 0.0 else 0
    return total, used


def _head_tail(value, diff):
    """``value`` as hi + lo in ``diff``'s dtype, for ``_centre_rows`` and the
    E-step tiles (``_centre_values``)."""


@overload(_head_tail, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _head_tail_for_dtype(value, diff):
    # float64 rows: lo is a literal 0, whose subtraction LLVM folds away.
    if diff.dtype == types.float32:
        def float32_head_tail(value, diff):
            hi = np.float32(value)
            return hi, np.float32(value - hi)
        return float32_head_tail

    def exact(value, diff):
        return value, 0.0
    return exact


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _centre_rows(x_t, n_block, centre, diff):
    """diff[i] = x_t[i] - centre[i] over the block, for every row i of centre,
    rounded once to diff's dtype.

    float32 rows subtract a float32 head and tail of the centre, (x - hi) -
    lo. x - hi is exact when x lies within a factor 2 of hi (Sterbenz), and
    the result is then x - centre rounded once, up to the tail's own rounding
    (2^-48 of centre); elsewhere it is within about one ulp of it. That is
    the accuracy of forming x - centre in float64 and rounding it, at
    float32's vector width and without conversions. Compiled without
    reassociation, which would fold the two subtractions into one and lose
    the tail.
    """
    for i in range(centre.shape[0]):
        hi, lo = _head_tail(centre[i], diff)
        xi = x_t[i]
        di = diff[i]
        for b in range(n_block):
            di[b] = (xi[b] - hi) - lo


@njit(**JIT_OPTIONS)
def _gather_support(x_t, n_block, centre, r, index, columns, r_columns, offset):
    """Append the block's points with nonzero responsibility ``r``, centred
    about ``centre``, to ``columns`` from column ``offset`` on, and their r
    to ``r_columns``.

    A fit's responsibilities are mostly exact zeros for well-separated
    components (92% on W2, ``negligible_log_ratio``), and zeros add nothing
    to the sums: gathering the others first lets the O(d^2) accumulation of
    the full kernels skip them. (Diag's O(d) sums gain nothing from it: the
    gather costs as much as they do; measured on W5 diag.) Runs of
    ``GATHER_RUN`` zeros are skipped whole (``_nonzero_lanes``; W4: 91% of
    them); the used points of any other run are listed in ``index`` (int64
    scratch, block long) from a table of the run's mask, without a branch
    per point. x - centre is formed in float64 and rounded once to the
    columns' dtype.

    On W4's responsibilities (6 used points per component and block), 1
    thread: 1.2-1.5x faster than listing each point of a run with a select
    and copying feature by feature; the pass 1.02-1.07x (W2 1.03-1.07x).

    Returns
    -------
    n_used : int
        Columns written.
    """
    n_used = 0
    n_whole = n_block // GATHER_RUN * GATHER_RUN
    for first in range(0, n_whole, GATHER_RUN):
        mask = _nonzero_lanes(r, first)
        if mask != 0:
            # All the run's indices, the used ones first; the next run's
            # overwrite the rest. n_used <= first, so they stay below
            # first + GATHER_RUN.
            for j in range(GATHER_RUN):
                index[n_used + j] = first + _SET_LANES[mask, j]
            n_used += _SET_COUNT[mask]
    for b in range(n_whole, n_block):
        index[n_used] = b
        n_used += 1 if r[b] != 0.0 else 0
    # Point by point: a loop per feature over the few used points (W4: 6 per
    # component and block) mispredicted its exit once per feature.
    n_features = centre.shape[0]
    for s in range(n_used):
        b = index[s]
        r_columns[offset + s] = r[b]
        for i in range(n_features):
            columns[i, offset + s] = x_t[i, b] - centre[i]
    return n_used


def _scale_tile(scales, k, i):
    """Scales of centres k..k+3 at features i..i+3, centre-major, for
    ``_squared_distances``."""


@overload(_scale_tile, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _scale_tile_for_type(scales, k, i):
    # No scales (tied, spherical): literal ones, whose products LLVM folds
    # away, so that each entry costs a subtraction and a multiply-add.
    if isinstance(scales, types.NoneType):
        def ones(scales, k, i):
            return (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
                    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
        return ones

    def values(scales, k, i):
        s0, s1, s2, s3 = scales[k], scales[k + 1], scales[k + 2], scales[k + 3]
        return (s0[i], s0[i + 1], s0[i + 2], s0[i + 3], s1[i], s1[i + 1], s1[i + 2], s1[i + 3],
                s2[i], s2[i + 1], s2[i + 2], s2[i + 3], s3[i], s3[i + 1], s3[i + 2], s3[i + 3])
    return values


def _scale(scales, k, i):
    """Scale of centre k at feature i (1 without scales)."""


@overload(_scale, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _scale_for_type(scales, k, i):
    if isinstance(scales, types.NoneType):
        return lambda scales, k, i: 1.0
    return lambda scales, k, i: scales[k, i]


@njit(**JIT_OPTIONS)
def _squared_distances(x_t, n_block, centres, scales, out):
    """out[k, b] = sum_i scales[k, i] (x_bi - centres[k, i])^2 for every
    centre k (scales None: all ones, squared distances).

    Four centres and four features per sweep: each load of a point's
    coordinates serves four centres, and each load and store of ``out``
    four features, so that a sweep's arithmetic, not its memory operations,
    bounds it. The rows are zeroed first: a first sweep that wrote them
    instead kept LLVM from vectorising the loop. W5 tied's squared
    distances, 1 thread: 20-23 ms per 1e6 points one centre at a time,
    12-17 ms four at a time (alternating runs on a noisy host).

    x_t : (n_features', block), rows from n_features on unused;
    centres, scales : (n_centres, n_features); out : (n_centres', block).
    """
    n_centres, n_features = centres.shape
    for k in range(n_centres):
        row = out[k]
        for b in range(n_block):
            row[b] = 0.0
    for k in range(0, n_centres - 3, 4):
        q0, q1, q2, q3 = out[k], out[k + 1], out[k + 2], out[k + 3]
        c0, c1, c2, c3 = centres[k], centres[k + 1], centres[k + 2], centres[k + 3]
        for i in range(0, n_features - 3, 4):
            a00, a01, a02, a03 = c0[i], c0[i + 1], c0[i + 2], c0[i + 3]
            a10, a11, a12, a13 = c1[i], c1[i + 1], c1[i + 2], c1[i + 3]
            a20, a21, a22, a23 = c2[i], c2[i + 1], c2[i + 2], c2[i + 3]
            a30, a31, a32, a33 = c3[i], c3[i + 1], c3[i + 2], c3[i + 3]
            (p00, p01, p02, p03, p10, p11, p12, p13,
             p20, p21, p22, p23, p30, p31, p32, p33) = _scale_tile(scales, k, i)
            x0, x1, x2, x3 = x_t[i], x_t[i + 1], x_t[i + 2], x_t[i + 3]
            for b in range(n_block):
                e0, e1, e2, e3 = x0[b], x1[b], x2[b], x3[b]
                d0, d1, d2, d3 = e0 - a00, e1 - a01, e2 - a02, e3 - a03
                q0[b] += p00 * (d0 * d0) + p01 * (d1 * d1) + p02 * (d2 * d2) + p03 * (d3 * d3)
                d0, d1, d2, d3 = e0 - a10, e1 - a11, e2 - a12, e3 - a13
                q1[b] += p10 * (d0 * d0) + p11 * (d1 * d1) + p12 * (d2 * d2) + p13 * (d3 * d3)
                d0, d1, d2, d3 = e0 - a20, e1 - a21, e2 - a22, e3 - a23
                q2[b] += p20 * (d0 * d0) + p21 * (d1 * d1) + p22 * (d2 * d2) + p23 * (d3 * d3)
                d0, d1, d2, d3 = e0 - a30, e1 - a31, e2 - a32, e3 - a33
                q3[b] += p30 * (d0 * d0) + p31 * (d1 * d1) + p32 * (d2 * d2) + p33 * (d3 * d3)
        for i in range(n_features // 4 * 4, n_features):
            a0, a1, a2, a3 = c0[i], c1[i], c2[i], c3[i]
            p0, p1 = _scale(scales, k, i), _scale(scales, k + 1, i)
            p2, p3 = _scale(scales, k + 2, i), _scale(scales, k + 3, i)
            xi = x_t[i]
            for b in range(n_block):
                e = xi[b]
                q0[b] += p0 * ((e - a0) * (e - a0))
                q1[b] += p1 * ((e - a1) * (e - a1))
                q2[b] += p2 * ((e - a2) * (e - a2))
                q3[b] += p3 * ((e - a3) * (e - a3))
    # The last n_centres % 4 centres, one at a time.
    for k in range(n_centres // 4 * 4, n_centres):
        quad = out[k]
        centre = centres[k]
        for i in range(n_features):
            m = centre[i]
            p = _scale(scales, k, i)
            xi = x_t[i]
            for b in range(n_block):
                quad[b] += p * ((xi[b] - m) * (xi[b] - m))


def _centre_values(centre, i, u):
    """Centre coordinates i..i+3 for the tiles to subtract, as four heads and
    four tails in U's dtype (``_head_tail``: float64 tails are literal zeros).

    float32 work subtracts both in its tiles, (x - head) - tail, the
    rounding of ``_centre_rows`` without storing the rows: storing them cost
    W2's float32 E-step a pass over 16 rows per component, and a tile's
    subtractions run on the adders while its multiply-adds keep the FMA
    units busy (block function, 1 thread, per 1e6 points, with
    ``_rounded_block``: W2 float32 90-105 -> 61-78 ms, W3 2020-2350 ->
    1690-1800 ms).
    """


@overload(_centre_values, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _centre_values_for_type(centre, i, u):
    if centre == types.none:
        # Rows centred beforehand: literal zeros, whose subtraction LLVM folds.
        zero = np.float32(0) if u.dtype == types.float32 else 0.0

        def no_centre(centre, i, u):
            return zero, zero, zero, zero, zero, zero, zero, zero
        return no_centre

    def values(centre, i, u):
        h0, l0 = _head_tail(centre[i], u)
        h1, l1 = _head_tail(centre[i + 1], u)
        h2, l2 = _head_tail(centre[i + 2], u)
        h3, l3 = _head_tail(centre[i + 3], u)
        return h0, h1, h2, h3, l0, l1, l2, l3
    return values


@njit(**JIT_OPTIONS)
def _rounded_block(n_block):
    """``n_block`` rounded up to a multiple of 16, the E-step tiles' loop count.

    A count that LLVM knows to be a multiple of the vector width needs no
    remainder loop. The remainder loops kept scalar copies of the tile's
    coefficients in registers across the vector loop, which then spilled
    five of its 16 coefficients per iteration (float32). The extra columns
    of a short last block are computed from stale buffer columns and never
    read: every block buffer has at least a block of columns (``block_size``:
    a multiple of 16).
    """
    return (n_block + 15) & -16


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _triangular_columns(x_t, centre, u, j, stop, n_block, y0, y1, y2, y3):
    """Rows i < ``stop`` of columns j..j+3 of (x - centre)^T U, in 4 x 4 tiles.

    U is upper triangular, so rows past column j + 3 add nothing; a caller
    that passes stop = j + 4 gets the whole columns (the diagonal tile's
    lower half is U's zeros). Each load of a point's four coordinates feeds
    16 multiply-adds. x - centre is formed as the tiles read it, as
    (x - head) - tail in the compute dtype (``_centre_values``), so it is
    never stored. The tiles are written out here rather than in helpers:
    every numba function level costs compile time.

    The loops run over the block rounded up to a multiple of 16 points
    (``_rounded_block``).

    x_t : (padded, block) in X's dtype; centre : (padded,) float64;
    u (padded, padded) and y0..y3 (block,) in the compute dtype.
    """
    for i in range(0, stop, 4):
        u00, u01, u02, u03 = u[i, j], u[i, j + 1], u[i, j + 2], u[i, j + 3]
        u10, u11, u12, u13 = u[i + 1, j], u[i + 1, j + 1], u[i + 1, j + 2], u[i + 1, j + 3]
        u20, u21, u22, u23 = u[i + 2, j], u[i + 2, j + 1], u[i + 2, j + 2], u[i + 2, j + 3]
        u30, u31, u32, u33 = u[i + 3, j], u[i + 3, j + 1], u[i + 3, j + 2], u[i + 3, j + 3]
        m0, m1, m2, m3, l0, l1, l2, l3 = _centre_values(centre, i, u)
        x0, x1, x2, x3 = x_t[i], x_t[i + 1], x_t[i + 2], x_t[i + 3]
        for b in range(_rounded_block(n_block)):
            e0 = (x0[b] - m0) - l0
            e1 = (x1[b] - m1) - l1
            e2 = (x2[b] - m2) - l2
            e3 = (x3[b] - m3) - l3
            # The first tile writes y, so y is never zeroed: four fewer
            # stores and loads per point for each group of columns.
            if i == 0:
                y0[b] = e0 * u00 + e1 * u10 + e2 * u20 + e3 * u30
                y1[b] = e0 * u01 + e1 * u11 + e2 * u21 + e3 * u31
                y2[b] = e0 * u02 + e1 * u12 + e2 * u22 + e3 * u32
                y3[b] = e0 * u03 + e1 * u13 + e2 * u23 + e3 * u33
            else:
                y0[b] = y0[b] + e0 * u00 + e1 * u10 + e2 * u20 + e3 * u30
                y1[b] = y1[b] + e0 * u01 + e1 * u11 + e2 * u21 + e3 * u31
                y2[b] = y2[b] + e0 * u02 + e1 * u12 + e2 * u22 + e3 * u32
                y3[b] = y3[b] + e0 * u03 + e1 * u13 + e2 * u23 + e3 * u33


@njit(**JIT_OPTIONS)
def _add_tile_products(left, i, right, j, n_block, zero, out, row, column):
    """out[row + a, column + c] += sum_b left[i + a, b] right[j + c, b] for
    a, c < 4: one 4 x 4 tile of left right^T, as two 2 x 4 halves whose 8
    partial sums each stay in registers, in the dtype of ``zero``.

    Halves: 16 partial sums and the 8 rows' values are more vectors than
    AVX2's 16 registers, and the sums spilled to memory (one 16 x 16 block
    product, float64, 1 thread: 0.44 cycles per multiply-add in 4 x 4
    tiles, 0.21 in halves). Each row of ``right`` is read twice.
    """
    e0_row, e1_row, e2_row, e3_row = right[j], right[j + 1], right[j + 2], right[j + 3]
    for half in range(0, 4, 2):
        p0_row, p1_row = left[i + half], left[i + half + 1]
        a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = zero
        for b in range(n_block):
            p0, p1 = p0_row[b], p1_row[b]
            e0, e1, e2, e3 = e0_row[b], e1_row[b], e2_row[b], e3_row[b]
            a00 += p0 * e0
            a01 += p0 * e1
            a02 += p0 * e2
            a03 += p0 * e3
            a10 += p1 * e0
            a11 += p1 * e1
            a12 += p1 * e2
            a13 += p1 * e3
        first, second = row + half, row + half + 1
        out[first, column] += a00
        out[first, column + 1] += a01
        out[first, column + 2] += a02
        out[first, column + 3] += a03
        out[second, column] += a10
        out[second, column + 1] += a11
        out[second, column + 2] += a12
        out[second, column + 3] += a13


@njit(**JIT_OPTIONS)
def _add_upper_tiles(rd, diff, n_block, s2):
    """s2[i, j] += sum_b rd[i, b] diff[j, b] for j >= i, in 4 x 4 tiles
    (padded: the row count is a multiple of 4); a diagonal tile does only
    its 10 entries on and above the diagonal (in one sweep: split into
    sweeps of 7 and 3 sums, as ``_add_tile_products`` splits its 16, it was
    no faster)."""
    padded = s2.shape[0]
    zero = rd.dtype.type(0)  # partial sums of a block in the compute dtype
    for i in range(0, padded, 4):
        r0, r1, r2, r3 = rd[i], rd[i + 1], rd[i + 2], rd[i + 3]
        d0, d1, d2, d3 = diff[i], diff[i + 1], diff[i + 2], diff[i + 3]
        a00 = a01 = a02 = a03 = a11 = a12 = a13 = a22 = a23 = a33 = zero
        for b in range(n_block):
            p0, p1, p2, p3 = r0[b], r1[b], r2[b], r3[b]
            e0, e1, e2, e3 = d0[b], d1[b], d2[b], d3[b]
            a00 += p0 * e0
            a01 += p0 * e1
            a02 += p0 * e2
            a03 += p0 * e3
            a11 += p1 * e1
            a12 += p1 * e2
            a13 += p1 * e3
            a22 += p2 * e2
            a23 += p2 * e3
            a33 += p3 * e3
        s2[i, i] += a00
        s2[i, i + 1] += a01
        s2[i, i + 2] += a02
        s2[i, i + 3] += a03
        s2[i + 1, i + 1] += a11
        s2[i + 1, i + 2] += a12
        s2[i + 1, i + 3] += a13
        s2[i + 2, i + 2] += a22
        s2[i + 2, i + 3] += a23
        s2[i + 3, i + 3] += a33
        for j in range(i + 4, padded, 4):
            _add_tile_products(rd, i, diff, j, n_block, zero, s2, i, j)
