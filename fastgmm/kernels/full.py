"""Full covariance: one precision Cholesky factor U_k per component.

The block functions are plain Python: the driver's ``_log_rho_block`` and
``_accumulate_block`` overloads in ``_engine`` compile them, so they share
those functions' signatures (arguments a type does not use are ignored).

Parameter layout used by the drivers in ``_engine``:
``prec`` is U of shape (n_components, p, p), zero-padded to
p = ``padded_features(n_features)``; ``shift`` is the current means (the
centre of the shifted sums); ``aux`` is the means zero-padded to p, the
centres of the E-step's tiles.

The block functions work in 4 x 4 register tiles (p is a multiple of 4):
each load of a point's coordinates feeds four multiply-adds, and the partial
sums stay in registers. For at most 3 features (``FULL_NARROW``) they work on
the real features alone.
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from .._config import ELEMENTWISE_JIT_OPTIONS, IEEE_JIT_OPTIONS, JIT_OPTIONS
from ._common import (
    CACHE_LINE,
    CENTRE_IN_TILES,
    FULL,
    FULL_NARROW,
    FULL_PRECENTRED,
    LOG_2PI,
    _add_upper_tiles,
    _all_within,
    _block_total_and_support,
    _centre_rows,
    _centre_values,
    _choose,
    _gather_support,
    _head_tail,
    _larger,
    _log_norms_and_scales,
    _maximum,
    _normal_exp_in_dtype,
    _prefetch_row,
    _rounded_block,
    _smaller,
    _sum_of_logs,
    _triangular_columns,
    _unshifted_exp,
    _unshifted_highest,
    _unshifted_sums,
    padded_features,
)


def prepare_full(weights, means, precisions_cholesky):
    """Per-iteration constants for the full kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    prec : ndarray of shape (n_components, padded, padded)
        U, with zero rows and columns up to ``padded_features(n_features)``.
    aux : ndarray of shape (n_components, padded)
        The means, zero-padded: the E-step's centres.
    const : ndarray of shape (n_components,)
        log pi_k + sum_i log U_k[i, i] - d/2 log(2 pi), eq. (2).
    shift : ndarray of shape (n_components, n_features)
    """
    n_components, n_features = means.shape
    padded = padded_features(n_features)
    shift = np.array(means, dtype=np.float64, order="C")  # a copy: the caller may change means
    prec = np.zeros((n_components, padded, padded))
    centres = np.zeros((n_components, padded))
    const = np.empty(n_components)
    _full_constants(np.ascontiguousarray(weights, dtype=np.float64), shift,
                    np.ascontiguousarray(precisions_cholesky, dtype=np.float64),
                    prec, centres, const)
    return prec, centres, const, shift


@njit(**IEEE_JIT_OPTIONS)
def _full_constants(weights, means, chol, prec, centres, const):
    """``prepare_full`` compiled: numpy's cost per call made it about 45 us
    of W1's 6 ms iteration (2 threads). The outputs are given, prec and
    centres zero, so that no allocation is compiled (0.5-0.8 s of a cold
    first fit with ``parameters.full_means_and_covariances``)."""
    n_components, n_features = means.shape
    for k in range(n_components):
        log_det = 0.0
        for i in range(n_features):
            centres[k, i] = means[k, i]
            log_det += np.log(chol[k, i, i])
            for j in range(n_features):
                prec[k, i, j] = chol[k, i, j]
        const[k] = np.log(weights[k]) + log_det - 0.5 * n_features * LOG_2PI


def full_code(n_features):
    """The driver code of the full E-step for ``n_features`` features.

    With AVX-512 (``CENTRE_IN_TILES``), and for fewer than 16 padded
    features, the tiles subtract the centre as they read x (``FULL``);
    otherwise x - mu is stored first (``FULL_PRECENTRED``), the same values
    bit for bit. Storing it costs a pass over d rows, which d^2 / 2 tile
    operations repay only from d = 16 on (AVX2, E-step alone, 1 thread, in-tile
    against stored: K = 64, d = 8 float64 256 against 330 ms per 1e6
    points, float32 143 against 165; K = 16, d = 16 float64 even, float32
    160 against 136; K = 32, d = 64 float64 6170 against 5420, float32
    4020 against 3200).

    For at most 3 features, U padded to 4 is a single tile, mostly zeros;
    ``FULL_NARROW`` leaves out the padding's terms from the E-step (W1,
    d = 2, K = 8, predict's pass alone, 1 thread: 26.4 against 17.3 ms), and
    sums the statistics in one sweep per component
    (``_accumulate_narrow_block``).

    A code rather than a test in the kernel, so that a fit compiles only the
    variant it runs: each is about 2 s of a cold first fit.

    Returns
    -------
    code : int
    """
    if n_features <= 3:
        return FULL_NARROW
    if CENTRE_IN_TILES or padded_features(n_features) < 16:
        return FULL
    return FULL_PRECENTRED


def _log_rho_full_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 ||(x_b - mu_k)^T U_k||^2 for one block, eq. (2)-(3),
    in 4 x 4 tiles of U (``_quadratic_form``) that subtract the centres as
    they read x (``full_code``).

    x_t : (padded, block), rows past n_features zero; y : (padded + 1,
    block) scratch in the compute dtype, its last row the sums of squares;
    log_rho : (n_components, block).
    """
    for k in range(shift.shape[0]):
        _quadratic_form(x_t, aux[k], prec[k], const[k], n_block, y, log_rho[k])


def _log_rho_precentred_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """``_log_rho_full_block`` with x - mu_k stored in ``diff`` (padded,
    block; compute dtype) before the tiles read it (``full_code``)."""
    for k in range(shift.shape[0]):
        _centre_rows(x_t, n_block, aux[k], diff)
        _quadratic_form(diff, None, prec[k], const[k], n_block, y, log_rho[k])


def _log_rho_narrow_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """``_log_rho_full_block`` for at most 3 features (``full_code``): the
    real columns of U only (``_narrow_quadratic_form``)."""
    n_features = shift.shape[1]
    for k in range(shift.shape[0]):
        _narrow_quadratic_form(x_t, aux[k], prec[k], const[k], n_features, n_block, log_rho[k],
                               log_rho.dtype.type(0.5))


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _narrow_quadratic_form(x_t, centre, u, const, n_features, n_block, quad, half):
    """``_quadratic_form`` for 1, 2 or 3 features, whose padded U is a
    single 4 x 4 tile, mostly zeros: the diagonal tile's loop without the
    padding's terms, which are exact zeros, so that the result is the same
    bit for bit.

    half : 0.5, or None to fold 1/2 into U (``_less_half_squares``): one
    multiply fewer per entry, for a fit, whose exps need not match the
    tiles' bit for bit.
    """
    c = quad.dtype.type(const)
    u_scale = _half_root(half, quad)
    u00, u01, u02 = u[0, 0] * u_scale, u[0, 1] * u_scale, u[0, 2] * u_scale
    u11, u12, u22 = u[1, 1] * u_scale, u[1, 2] * u_scale, u[2, 2] * u_scale
    m0, m1, m2, _, l0, l1, l2, _ = _centre_values(centre, 0, u)
    x0, x1, x2 = x_t[0], x_t[1], x_t[2]
    zero = quad.dtype.type(0)
    if n_features == 1:
        for b in range(_rounded_block(n_block)):
            v0 = ((x0[b] - m0) - l0) * u00
            quad[b] = _less_half_squares(c, half, v0, zero, zero)
    elif n_features == 2:
        for b in range(_rounded_block(n_block)):
            e0 = (x0[b] - m0) - l0
            e1 = (x1[b] - m1) - l1
            v0 = e0 * u00
            v1 = e0 * u01 + e1 * u11
            quad[b] = _less_half_squares(c, half, v0, v1, zero)
    else:
        for b in range(_rounded_block(n_block)):
            e0 = (x0[b] - m0) - l0
            e1 = (x1[b] - m1) - l1
            e2 = (x2[b] - m2) - l2
            v0 = e0 * u00
            v1 = e0 * u01 + e1 * u11
            v2 = e0 * u02 + e1 * u12 + e2 * u22
            quad[b] = _less_half_squares(c, half, v0, v1, v2)


def _half_root(half, like):
    """1, or sqrt(1/2) when ``half`` is None (1/2 folded into U), in like's dtype."""


@overload(_half_root, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _half_root_for_type(half, like):
    root = math.sqrt(0.5) if half == types.none else 1.0
    if like.dtype == types.float32:
        root = np.float32(root)
    return lambda half, like: root


def _less_half_squares(c, half, v0, v1, v2):
    """c - half (v0^2 + v1^2 + v2^2); with half None, v carries sqrt(1/2)
    already: c - v0^2 - v1^2 - v2^2, a multiply fewer."""


@overload(_less_half_squares, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _less_half_squares_for_type(c, half, v0, v1, v2):
    if half == types.none:
        return lambda c, half, v0, v1, v2: ((c - v0 * v0) - v1 * v1) - v2 * v2
    return lambda c, half, v0, v1, v2: c - half * (v0 * v0 + v1 * v1 + v2 * v2)


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _quadratic_form(x_t, centre, u, const, n_block, y, quad):
    """quad = const - 1/2 ||(x - centre)^T U||^2 for one component, in the
    compute dtype; centre None when x_t holds x - centre already.

    Each group of four columns of (x - centre)^T U is finished in the
    diagonal tile's loop, which adds its squares to a row of sums at once:
    the columns are never stored. x - centre is formed as the tiles read it
    (``_centre_values``).
    """
    padded = u.shape[0]
    squares = y[padded]
    # In the compute dtype: a float64 operation in a float32 tile loop would
    # halve its vector width.
    c = quad.dtype.type(const)
    half = quad.dtype.type(0.5)
    for j in range(0, padded, 4):
        y0, y1, y2, y3 = y[j], y[j + 1], y[j + 2], y[j + 3]
        if j > 0:
            _triangular_columns(x_t, centre, u, j, j, n_block, y0, y1, y2, y3)
        u00, u01, u02, u03 = u[j, j], u[j, j + 1], u[j, j + 2], u[j, j + 3]
        u11, u12, u13 = u[j + 1, j + 1], u[j + 1, j + 2], u[j + 1, j + 3]
        u22, u23 = u[j + 2, j + 2], u[j + 2, j + 3]
        u33 = u[j + 3, j + 3]
        m0, m1, m2, m3, l0, l1, l2, l3 = _centre_values(centre, j, u)
        x0, x1, x2, x3 = x_t[j], x_t[j + 1], x_t[j + 2], x_t[j + 3]
        for b in range(_rounded_block(n_block)):
            e0 = (x0[b] - m0) - l0
            e1 = (x1[b] - m1) - l1
            e2 = (x2[b] - m2) - l2
            e3 = (x3[b] - m3) - l3
            # The first group has no off-diagonal part and starts the sum of
            # squares: nothing is zeroed or loaded first. (LLVM hoists the
            # test out of the loop.)
            if j == 0:
                v0 = e0 * u00
                v1 = e0 * u01 + e1 * u11
                v2 = e0 * u02 + e1 * u12 + e2 * u22
                v3 = e0 * u03 + e1 * u13 + e2 * u23 + e3 * u33
                total = v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3
            else:
                # Split sums: chains two multiply-adds shorter, so that more
                # iterations overlap (AVX2, E-step alone, 1 thread: d = 16
                # and d = 64 about 10% faster, d = 8 even).
                v0 = y0[b] + e0 * u00
                v1 = y1[b] + e0 * u01 + e1 * u11
                v2 = (y2[b] + e0 * u02) + (e1 * u12 + e2 * u22)
                v3 = (y3[b] + e0 * u03 + e1 * u13) + (e2 * u23 + e3 * u33)
                total = squares[b] + ((v0 * v0 + v1 * v1) + (v2 * v2 + v3 * v3))
            squares[b] = total
    # Its own loop: written in the groups' loop, log rho was a store, a
    # multiply-add and two more registers per point in every group.
    for b in range(_rounded_block(n_block)):
        quad[b] = c - half * squares[b]


@njit(**JIT_OPTIONS)
def _add_scaled_rows(r, diff, n_features, n_block, rd, s1_row, zero):
    """rd[i] = r * diff[i] and s1_row[i] += sum_b rd[i, b] for each feature,
    the block's partial sums in the dtype of ``zero`` (the compute dtype, as
    the S2 tiles')."""
    for i in range(n_features):
        di = diff[i]
        ri = rd[i]
        acc = zero
        for b in range(n_block):
            ri[b] = r[b] * di[b]
            acc += ri[b]
        s1_row[i] += acc


@njit(**JIT_OPTIONS)
def _add_columns(r, columns, n_features, n_columns, rd, s1_k, s2_k, zero):
    """S1_k += sum_b r_b columns[:, b] and the upper triangle of
    S2_k += sum_b r_b columns[:, b] columns[:, b]^T over the first
    ``n_columns`` columns (centred points), in tiles; rd is scratch."""
    _add_scaled_rows(r, columns, n_features, n_columns, rd, s1_k, zero)
    _add_upper_tiles(rd, columns, n_columns, s2_k)


@njit(**JIT_OPTIONS)
def _flush_pending(pending, k, n_features, rd, s1_k, s2_k, zero):
    """Sum component k's pending columns into S1_k and S2_k, and empty them."""
    pending_columns, pending_count = pending
    columns = pending_columns[k]
    padded = s2_k.shape[0]
    _add_columns(columns[padded], columns, n_features, pending_count[k], rd, s1_k, s2_k, zero)
    pending_count[k] = 0


def _accumulate_full_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                           index, pending):
    """Add one block to the shifted sums of eq. (9): N_k, S1_k = sum r (x - c_k)
    and the upper triangle of S2_k = sum r (x - c_k)(x - c_k)^T, over the
    points with nonzero r_k only.

    A component with nonzero r for at least half the block is summed in
    tiles over the whole block. One with more such points than its pending
    columns hold (when they are fewer than half a block) has them gathered
    into ``diff`` and summed at once. Any other has those points gathered
    (``_gather_support``) into its pending columns, which are summed in
    tiles when full and at the end of the lane (``_flush_full_lane``): each
    tile's setup and reduction then serves up to a block of points instead
    of the few that one block gives a component (about 16 on W2, 6 on W4).
    Measured at the third EM iteration, statistics part of the pass, 1
    thread: W2 50-68 -> 35-38 ms, float32 45 -> 23-33 ms; W4 (d = 8,
    K = 64, 2.3% nonzero) 99 ms, as fast as adding its points one outer
    product at a time, which it replaces.

    resp : (n_components, block) in the compute dtype, already multiplied
    by the sample weights.
    s2 : (n_components, padded, padded); diff : (padded, block), rows past
    n_features zero; rd : (padded + 1, block), the same and a scratch row;
    index : (block,) int64 scratch; pending : (columns, count), columns of
    shape (n_components, padded + 1, n_pending) in the compute dtype, rows
    past n_features zero and the last row the gathered r, and count
    (n_components,) int64, the columns in use.
    """
    n_components, n_features = shift.shape
    zero = rd.dtype.type(0)
    r_used = rd[rd.shape[0] - 1]  # r of the used points, in the compute dtype
    padded = s2.shape[2]
    pending_columns, pending_count = pending
    n_pending = pending_columns.shape[2]
    for k in range(n_components):
        rk = resp[k]
        total, n_used = _block_total_and_support(rk, n_block)
        if total == 0.0:
            continue  # adds exact zeros only
        nk[k] += total
        if 2 * n_used >= n_block:
            _centre_rows(x_t, n_block, shift[k], diff)
            _add_columns(rk, diff, n_features, n_block, rd, s1[k], s2[k], zero)
        elif n_used <= n_pending:
            columns = pending_columns[k]
            if pending_count[k] + n_used > n_pending:
                _flush_pending(pending, k, n_features, rd, s1[k], s2[k], zero)
            pending_count[k] += _gather_support(x_t, n_block, shift[k], rk, index, columns,
                                                columns[padded], pending_count[k])
        else:
            # Not a literal 0: numba would compile _gather_support a second
            # time for it (Literal[int](0)), 0.5 s of a cold first fit.
            _gather_support(x_t, n_block, shift[k], rk, index, diff, r_used, np.int64(0))
            _add_columns(r_used, diff, n_features, n_used, rd, s1[k], s2[k], zero)


def _flush_full_lane(cov, s1, s2, rd, pending):
    """Sum every component's pending columns (``_accumulate_full_block``)
    into the lane's S1 and S2, and empty them."""
    pending_count = pending[1]
    zero = rd.dtype.type(0)
    for k in range(pending_count.shape[0]):
        if pending_count[k] > 0:
            _flush_pending(pending, k, s1.shape[1], rd, s1[k], s2[k], zero)


def _accumulate_narrow_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                             index, pending):
    """``_accumulate_full_block`` for at most 3 features (``full_code``): the
    shifted sums of eq. (9), N_k, S1_k and the upper triangle of S2_k, each
    component's in one sweep over the block (``_add_narrow_moments``), zero
    responsibilities included.

    The sums over d <= 3 features cost less per point than gathering the
    points with nonzero r, and one sweep reads r and x once where the tiles'
    four sweeps read them four times (W1, d = 2, K = 8, statistics alone,
    1 thread, per 1e6 points: tiles 19.5 ms, one sweep 4.3 ms). The products
    of ``_accumulate_full_block``'s dense path, summed in another order.

    resp : (n_components, block) in the compute dtype, already multiplied by
    the sample weights; x_t : (padded, block), padded >= 4, rows past
    n_features zero; s1 : (n_components, n_features) and s2
    (n_components, padded, padded) float64.
    """
    n_components, n_features = shift.shape
    zero = rd.dtype.type(0)
    for k in range(n_components):
        nk[k] += _add_narrow_moments(x_t, shift[k], resp[k], n_features, n_block, zero, s1[k],
                                     s2[k], None)


def _fit_narrow_block(cov, x_t, n_block, w_block, prec, aux, const, shift, log_rho, rows,
                      log_norm, nk, s1, s2, log_floor, unit_weights, X, next_first, next_stop):
    """A fit's whole work on one block for at most 3 features (``full_code``):
    the E-step, eq. (2)-(5), and the shifted sums of eq. (9), fused.

    The three steps of ``_log_rho_narrow_block``, ``_normalise_block`` and
    ``_accumulate_narrow_block`` cost little per entry beside the exp (W1,
    d = 2, K = 8: 40% of the pass in the exp loop), so the passes between
    them over the K x block entries weighed: the log-densities were stored
    and read back, a sweep took each point's maximum, and another scaled
    the exps. Here each component's exps are taken unshifted
    (``_add_unshifted_exps``) right after its log-densities, while they are
    in cache, and the statistics scale them as they read them
    (``_add_narrow_moments`` with a scale). A point whose sum of exps lies
    outside ``UNSHIFTED_SUMS`` (far from every component, or above them
    all) is redone by the shifted normalisation (``_shifted_point``), the
    same as ``_normalise_block``'s.

    Unshifted, the responsibilities are exp(log rho_k) / sum_j exp(log
    rho_j), the same values to the last bit or two: the exps' arguments
    carry the log-densities' rounding either way. An exp more than -log_floor
    below its point's largest is kept where ``_normalise_block`` sets it to
    zero: it is below half an ulp of the sums either way
    (``negligible_log_ratio``).

    Unit weights (``unit_weights``: no sample_weight) and no point redone:
    the block's log-likelihood is a sum of logs of the sums of exps, taken
    by ``_sum_of_logs``.

    x_t : (padded, block), padded >= 4, rows past n_features zero; w_block,
    log_norm : (block,) float64; log_rho : (n_components, stride >= block)
    and rows : (3, stride) scratch in the compute dtype; nk, s1, s2: the
    lane's sums (``_accumulate_narrow_block``); X : (n_samples, n_features)
    and rows next_first:next_stop of it, the lane's next block, to prefetch.

    Returns
    -------
    weighted_log_likelihood : float
        sum_b w_b log p(x_b) over the block.
    """
    n_components, n_features = shift.shape
    peak, sums = rows[0], rows[1]
    zero = log_rho.dtype.type(0)
    # The next block's rows of X, a share before each component's work: they
    # came from L3 one line at a time when the next block's load asked for
    # them (W1, 1 and 2 threads: 1.05x over 31 interleaved rounds; all at
    # once before the block: no gain, into L1: slower).
    rows_per_line = CACHE_LINE // (X.shape[1] * X.itemsize)  # d <= 3: at least 2
    n_lines = (next_stop - next_first + rows_per_line - 1) // rows_per_line
    per_component = (n_lines + n_components - 1) // n_components
    for k in range(n_components):
        first_line = k * per_component
        for line in range(first_line, _smaller(first_line + per_component, n_lines)):
            _prefetch_row(X, next_first + line * rows_per_line)
        row = log_rho[k]
        _narrow_quadratic_form(x_t, aux[k], prec[k], const[k], n_features, n_block, row, None)
        _add_unshifted_exps(row, n_block, sums, const[k], k == 0)
    low, high = _unshifted_sums(zero)
    inside = _all_within(sums, n_block, low, high)
    # The statistics' first component takes the reciprocals of the sums
    # (``_scaled``), unless they are scales already.
    reciprocals = unit_weights and inside
    if reciprocals:
        total = _sum_of_logs(sums, n_block)
    else:
        for b in range(n_block):
            peak[b] = zero
        if not inside:
            floor = log_rho.dtype.type(log_floor)
            for b in range(n_block):
                if not (sums[b] >= low and sums[b] <= high):
                    peak[b], sums[b] = _shifted_point(x_t, b, prec, aux, const, log_rho, floor)
        total = _log_norms_and_scales(peak, sums, n_block, w_block, log_norm)
    for k in range(n_components):
        if k == 0 and reciprocals:
            nk[k] += _add_narrow_moments(x_t, shift[k], log_rho[k], n_features, n_block, zero,
                                         s1[k], s2[k], (sums,))
        else:
            nk[k] += _add_narrow_moments(x_t, shift[k], log_rho[k], n_features, n_block, zero,
                                         s1[k], s2[k], sums)
    return total


@njit(**JIT_OPTIONS)
def _add_unshifted_exps(row, n_block, sums, const, first):
    """row = exp(row) unshifted (``_unshifted_exp``), and sums = row (first)
    or sums += row, over the block's whole vectors (``_rounded_block``).

    log rho <= const, the component's constant: with const below
    UNSHIFTED_HIGHEST (every component but one whose covariance has a
    determinant below about e^-1400) the row needs no clamp. Otherwise a
    sweep of its own clamps it, so that the exp's loops are compiled twice,
    not four times (each copy cost about 0.3 s of a cold first fit).
    """
    rounded = _rounded_block(n_block)
    highest = _unshifted_highest(row[0])
    if const > highest:
        for b in range(rounded):
            row[b] = _smaller(row[b], highest)
    if first:  # the sums start from the first row: no sweep to zero them
        for b in range(rounded):
            e = _unshifted_exp(row[b])
            row[b] = e
            sums[b] = e
    else:
        for b in range(rounded):
            e = _unshifted_exp(row[b])
            row[b] = e
            sums[b] += e


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _narrow_point_log_rho(x_t, b, centre, u, const, like):
    """log rho of point b for one component, in like's dtype: one column of
    ``_narrow_quadratic_form``, by its three-feature formula (the padding's
    rows, centre and U entries are zeros, which add exact zeros)."""
    c = like.dtype.type(const)
    half = like.dtype.type(0.5)
    m0, m1, m2, _, l0, l1, l2, _ = _centre_values(centre, 0, u)
    e0 = (x_t[0, b] - m0) - l0
    e1 = (x_t[1, b] - m1) - l1
    e2 = (x_t[2, b] - m2) - l2
    v0 = e0 * u[0, 0]
    v1 = e0 * u[0, 1] + e1 * u[1, 1]
    v2 = e0 * u[0, 2] + e1 * u[1, 2] + e2 * u[2, 2]
    total = v0 * v0 + v1 * v1 + v2 * v2
    return c - half * total


@njit(**JIT_OPTIONS)
def _shifted_point(x_t, b, prec, aux, const, log_rho, floor):
    """Point b's exps shifted by its largest log rho, as
    ``_normalise_block`` takes them: into log_rho[:, b], with the point's
    largest log rho (0 if every one is -inf) and the exps' sum returned,
    both in the compute dtype. For the few points ``_fit_narrow_block``
    cannot take unshifted."""
    n_components = const.shape[0]
    like = log_rho[0]
    peak = like.dtype.type(-np.inf)
    for k in range(n_components):
        peak = _maximum(peak, _narrow_point_log_rho(x_t, b, aux[k], prec[k], const[k], like))
    if peak == -np.inf:
        peak = like.dtype.type(0)
    zero = like.dtype.type(0)
    total = zero
    for k in range(n_components):
        shifted = _narrow_point_log_rho(x_t, b, aux[k], prec[k], const[k], like) - peak
        e = _choose(shifted >= floor, _normal_exp_in_dtype(_larger(shifted, floor)), zero)
        log_rho[k, b] = e
        total += e
    return peak, total


@njit(**ELEMENTWISE_JIT_OPTIONS)
def _centred(x, head, tail):
    """(x - head) - tail, the rounding of ``_centre_rows``, in a function
    compiled without reassociation (which would fold the tail away) for
    callers that need it for their sums."""
    return (x - head) - tail


def _scaled(r, scale, b):
    """r[b]; r[b] * scale[b]; or, for scale = (sums,), r[b] times the
    reciprocal of sums[b], which replaces sums[b] for the next components."""


@overload(_scaled, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _scaled_for_type(r, scale, b):
    if scale == types.none:
        return lambda r, scale, b: r[b]
    if isinstance(scale, types.BaseTuple):
        def reciprocal_scaled(r, scale, b):
            # In the first component's loop the division runs beside the
            # multiply-adds (W1: a loop of its own took 2.4% of the pass).
            # 1 / sums in float64, rounded to the sums' dtype.
            sums = scale[0]
            sums[b] = 1.0 / np.float64(sums[b])
            return r[b] * sums[b]
        return reciprocal_scaled
    return lambda r, scale, b: r[b] * scale[b]


@njit(**JIT_OPTIONS)
def _add_narrow_moments(x_t, centre, r, n_features, n_block, zero, s1_k, s2_k, scale):
    """s1_k += sum_b r_b t_b and the upper triangle of
    s2_k += sum_b r_b t_b t_b^T, with t_b = x_b - centre for 1, 2 or 3
    features; the products and a block's partial sums in the dtype of
    ``zero`` (the compute dtype), as ``_add_columns`` forms them.

    x_t : (padded, block) in X's dtype, padded >= 4 (so rows 1 and 2 exist
    for d = 1); centre : (n_features,) float64; r : (block,) in the compute
    dtype; s1_k : (n_features,) and s2_k : (padded, padded), float64;
    scale : None, or (block,) in the compute dtype, by which r is multiplied
    first (the fused fit's w_b / sum of exps, ``_fit_narrow_block``), or
    (sums,): r is multiplied by 1 / sums, stored into sums (``_scaled``).

    Returns
    -------
    total : float
        sum_b r_b in float64, the block's part of N_k.
    """
    x0, x1, x2 = x_t[0], x_t[1], x_t[2]
    m0, l0 = _head_tail(centre[0], r)
    total = 0.0
    a0 = a1 = a2 = a00 = a01 = a02 = a11 = a12 = a22 = zero
    if n_features == 1:
        for b in range(n_block):
            rb = _scaled(r, scale, b)
            e0 = _centred(x0[b], m0, l0)
            re0 = rb * e0
            total += rb
            a0 += re0
            a00 += re0 * e0
    elif n_features == 2:
        m1, l1 = _head_tail(centre[1], r)
        for b in range(n_block):
            rb = _scaled(r, scale, b)
            e0 = _centred(x0[b], m0, l0)
            e1 = _centred(x1[b], m1, l1)
            re0 = rb * e0
            re1 = rb * e1
            total += rb
            a0 += re0
            a1 += re1
            a00 += re0 * e0
            a01 += re0 * e1
            a11 += re1 * e1
    else:
        m1, l1 = _head_tail(centre[1], r)
        m2, l2 = _head_tail(centre[2], r)
        for b in range(n_block):
            rb = _scaled(r, scale, b)
            e0 = _centred(x0[b], m0, l0)
            e1 = _centred(x1[b], m1, l1)
            e2 = _centred(x2[b], m2, l2)
            re0 = rb * e0
            re1 = rb * e1
            re2 = rb * e2
            total += rb
            a0 += re0
            a1 += re1
            a2 += re2
            a00 += re0 * e0
            a01 += re0 * e1
            a02 += re0 * e2
            a11 += re1 * e1
            a12 += re1 * e2
            a22 += re2 * e2
    s1_k[0] += a0
    s2_k[0, 0] += a00
    if n_features > 1:
        s1_k[1] += a1
        s2_k[0, 1] += a01
        s2_k[1, 1] += a11
    if n_features > 2:
        s1_k[2] += a2
        s2_k[0, 2] += a02
        s2_k[1, 2] += a12
        s2_k[2, 2] += a22
    return total
