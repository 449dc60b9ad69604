"""The EM walker shared by the four covariance types.

The points are split into a fixed number of lanes (contiguous runs of
points); each worker (``_common.run_walkers``) claims lanes, walks each one
block by block, and dispatches the per-block work on the covariance-type
code. Lanes own their accumulators; the caller reduces them in lane order, so
results do not depend on the number of threads.

All covariance types use one parameter layout (see each type's module):
``prec`` (K', a, c), ``aux`` (K, d), ``const`` (K,), ``shift`` (K, d), and
second-moment accumulators of shape (K'', a'', c'').
"""

import numpy as np
from numba import njit
from numba.extending import overload

from .._config import ELEMENTWISE_JIT_OPTIONS, JIT_OPTIONS
from ._common import (
    DIAG,
    FULL,
    FULL_NARROW,
    FULL_PRECENTRED,
    SPHERICAL,
    TIED,
    _choose,
    _claim_lane,
    _covariance_code,
    _load_arguments,
    _load_block,
    _maximum,
    _normalise_block,
    _smaller,
)
from .diag import _accumulate_diag_block, _log_rho_diag_block
from .full import (
    _accumulate_full_block,
    _accumulate_narrow_block,
    _fit_narrow_block,
    _flush_full_lane,
    _log_rho_full_block,
    _log_rho_narrow_block,
    _log_rho_precentred_block,
)
from .spherical import _accumulate_spherical_block, _log_rho_spherical_block
from .tied import _accumulate_tied_block, _log_rho_tied_block


def covariance_marker(code):
    """The value that selects a covariance type in the driver: an empty
    array whose number of dimensions is the code plus one.

    The type is in the argument's numba type, so numba compiles (and caches)
    one driver per covariance type and calls it without any typing work, as
    it would not for a literal integer.
    """
    return np.empty((0,) * (code + 1))


def _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho (components x block) for one block; typed per covariance code."""


def _accumulate_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd, index,
                      pending):
    """Add one block's weighted responsibilities to the lane's sums."""


def _finish_lane(cov, s1, s2, rd, pending):
    """Add what ``_accumulate_block`` left pending to the lane's sums."""


def _nothing_pending(cov, s1, s2, rd, pending):
    pass


def _fit_block(cov, x_t, n_block, w_block, prec, aux, const, shift, log_rho, rows, log_norm, nk,
               s1, s2, log_floor, unit_weights, X, next_first, next_stop):
    """A fit's E-step and statistics of one block in one fused step, for the
    types that have one (``_FIT_BLOCKS``); returns sum_b w_b log p(x_b).
    Rows next_first:next_stop of X are the lane's next block, to prefetch."""


def _fuses_fit(cov):
    """Whether the covariance type has a fused ``_fit_block``: a constant of
    the compiled walker."""


def _no_fit_block(cov, x_t, n_block, w_block, prec, aux, const, shift, log_rho, rows, log_norm,
                  nk, s1, s2, log_floor, unit_weights, X, next_first, next_stop):
    return 0.0


# Resolved while typing, from the covariance marker's type: a driver compiles
# only its own type's block functions, and compiles them as the overloads'
# implementations (one numba function level fewer than a wrapper around them).
_LOG_RHO_BLOCKS = {
    FULL: _log_rho_full_block,
    FULL_PRECENTRED: _log_rho_precentred_block,
    FULL_NARROW: _log_rho_narrow_block,
    TIED: _log_rho_tied_block,
    DIAG: _log_rho_diag_block,
    SPHERICAL: _log_rho_spherical_block,
}
_ACCUMULATE_BLOCKS = {
    FULL: _accumulate_full_block,
    FULL_PRECENTRED: _accumulate_full_block,
    FULL_NARROW: _accumulate_narrow_block,
    TIED: _accumulate_tied_block,
    DIAG: _accumulate_diag_block,
    SPHERICAL: _accumulate_spherical_block,
}


@overload(_log_rho_block, jit_options=ELEMENTWISE_JIT_OPTIONS)
def _log_rho_block_for_type(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    return _LOG_RHO_BLOCKS[_covariance_code(cov)]


# Full over at most 3 features: each step costs little per entry beside
# its exp, so the sweeps between steps weighed (``full._fit_narrow_block``).
_FIT_BLOCKS = {FULL_NARROW: _fit_narrow_block}


@overload(_fit_block, jit_options=JIT_OPTIONS)
def _fit_block_for_type(cov, x_t, n_block, w_block, prec, aux, const, shift, log_rho, rows,
                        log_norm, nk, s1, s2, log_floor, unit_weights, X, next_first, next_stop):
    return _FIT_BLOCKS.get(_covariance_code(cov), _no_fit_block)


@overload(_fuses_fit, jit_options=JIT_OPTIONS)
def _fuses_fit_for_type(cov):
    fused = _covariance_code(cov) in _FIT_BLOCKS
    return lambda cov: fused


_FINISH_LANES = {
    FULL: _flush_full_lane,
    FULL_PRECENTRED: _flush_full_lane,
    FULL_NARROW: _nothing_pending,
    TIED: _nothing_pending,
    DIAG: _nothing_pending,
    SPHERICAL: _nothing_pending,
}


@overload(_accumulate_block, jit_options=JIT_OPTIONS)
def _accumulate_block_for_type(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                               index, pending):
    return _ACCUMULATE_BLOCKS[_covariance_code(cov)]


@overload(_finish_lane, jit_options=JIT_OPTIONS)
def _finish_lane_for_type(cov, s1, s2, rd, pending):
    return _FINISH_LANES[_covariance_code(cov)]


@njit(**JIT_OPTIONS)
def _argmax_rows(values, n_block, best, label):
    """label[b] = argmax_k values[k, b], the first k on ties, and best[b] its
    value, over the block's points.

    Component-major, so that the loops over points vectorise; every store
    unconditional (``_choose``, ``_maximum``): a store under ``if`` became a
    masked store, slow without AVX-512 (16 x 256 entries, AVX2, 1 thread:
    1.2-1.7 against 0.9-1.0 ns per entry), and it went straight into the
    caller's output array.
    """
    for b in range(n_block):
        best[b] = values[0, b]
        label[b] = 0
    for k in range(1, values.shape[0]):
        row = values[k]
        for b in range(n_block):
            label[b] = _choose(row[b] > best[b], np.int64(k), label[b])
            best[b] = _maximum(best[b], row[b])


@njit(**JIT_OPTIONS)
def _walk_lanes(arguments, worker):
    """One worker's share of a pass over X: every job of the kernels, chosen
    by arguments (``_common.run_walkers`` runs the workers in parallel).

    The worker claims lanes, contiguous runs of points, until none is left,
    and walks each block by block. A block's responsibilities come from
    ``given_resp`` if it has rows (the initial M-step), else from the
    E-step, eq. (2)-(5). Then, as asked: the block is added to the lane's
    sufficient statistics (eq. 9), per-point outputs are written, and the
    lane's worst-fitted points are kept. One walker for all jobs keeps the
    compile to one per covariance type and dtype.

    Parameters
    ----------
    arguments : ArgumentsAddress
        Where ``run_walkers`` stored the tuple ``(cov, X, sample_weight,
        prec, aux, const, shift, given_resp, lanes, scratch, out_resp,
        out_log_norm, out_labels, log_floor)``:

        cov : ndarray
            ``covariance_marker(code)``: each covariance type compiles its
            own specialisation.
        X : ndarray of shape (n_samples, n_features), float32 or float64
        sample_weight : ndarray of shape (n_samples,) or (0,) for unit weights
        prec, aux, const, shift : per-iteration constants (see the type modules)
            ``prec`` in the compute dtype (float32 work for float32 data and
            model, float64 otherwise), the others float64.
        given_resp : ndarray of shape (n_samples, n_components) or (0, n_components)
            Responsibilities, not yet multiplied by the sample weights.
        lanes : tuple of arrays
            The lanes' accumulators and the lane counter, allocated by the
            caller (``kernels._pass_arrays``, which says why), filled here:
            nk (n_lanes, n_components), s1 (n_lanes, n_components,
            n_features), s2 (n_lanes,) + the shape of one lane's
            second-moment accumulator, (n_lanes, 0, 0, 0) to skip the
            sufficient statistics; log_likelihood and weight (n_lanes,);
            worst_log_norm (n_lanes, n_worst) +inf and worst_index (n_lanes,
            n_worst) -1, n_worst = 0 to skip; next_lane (1,) int64.
        scratch : tuple of arrays
            Each worker's block buffers, first axis the worker: x_t (padded x
            stride) in X's dtype, so that X's values are exact in it; diff
            (padded x stride), y (padded + 1 x stride), log_rho (components x
            stride) and norm (3 x stride) in the compute dtype, stride >=
            block; w_block and log_norm (block) float64, whose length is the
            block; index (block) int64; pending (n_components',
            padded + 1, n_pending) in the compute dtype and pending_count
            (n_components') int64, zero, the columns the full statistics
            have gathered and not yet summed (n_components' = 0 for the
            other types, for full with at most 3 features, and for passes
            without statistics). x_t, diff and y
            zero, so that padding rows stay zero.
        out_resp : ndarray of shape (n_samples, n_components) or (0, n_components)
            Weighted responsibilities (predict_proba with unit weights).
        out_log_norm : ndarray of shape (n_samples,) or (0,)
            log p(x_n) (score_samples).
        out_labels : ndarray of shape (n_samples,) or (0,)
            argmax_k log rho_nk, first index on ties (predict).
        log_floor : float
            Responsibilities below exp(log_floor) times their point's largest
            are set to zero (``negligible_log_ratio``); -inf keeps all.
    worker : int
        This worker's row of ``scratch``.

    The worst-fitted points kept per lane have the lowest log p(x), with
    zero-weight points excluded and earlier points winning ties.
    """
    (cov, X, sample_weight, prec, aux, const, shift, given_resp, lanes, scratch,
     out_resp, out_log_norm, out_labels, log_floor) = _load_arguments(arguments)
    n_samples = X.shape[0]
    n_components = shift.shape[0]
    lane_nk, lane_s1, lane_s2, lane_ll, lane_w, lane_worst, lane_index, next_lane = lanes
    n_lanes = lane_nk.shape[0]
    n_worst = lane_worst.shape[1]
    (all_x_t, all_diff, all_y, all_log_rho, all_w_block, all_log_norm, all_norm, all_index,
     all_pending, all_pending_count) = scratch
    block = all_w_block.shape[1]  # the rows of the 2-D buffers are longer
    given = given_resp.shape[0] > 0
    accumulate = lane_s2.shape[1] > 0
    want_resp = out_resp.shape[0] > 0
    want_norm = out_log_norm.shape[0] > 0
    want_labels = out_labels.shape[0] > 0
    normalise = accumulate or want_resp or want_norm or n_worst > 0
    # A fit's pass, whose blocks need nothing but their statistics and
    # log-likelihood, takes the type's fused step if it has one.
    fused = (_fuses_fit(cov) and accumulate and not (want_labels or want_resp or want_norm)
             and n_worst == 0)
    unit_weights = sample_weight.shape[0] == 0
    x_t, diff, y, log_rho = all_x_t[worker], all_diff[worker], all_y[worker], all_log_rho[worker]
    w_block, log_norm = all_w_block[worker], all_log_norm[worker]
    rows, index = all_norm[worker], all_index[worker]
    pending = (all_pending[worker], all_pending_count[worker])
    if unit_weights:  # once: only _load_block writes w_block (W1: 1.2% of the pass)
        for b in range(block):
            w_block[b] = 1.0
    # Each worker claims the next unwalked lane when it finishes one, so a
    # thread slowed by another process does not hold up the pass.
    while True:
        lane, start, stop = _claim_lane(next_lane, n_samples, n_lanes)
        if lane < 0:
            break
        kept_norm = lane_worst[lane]
        kept_index = lane_index[lane]
        slot = 0  # the kept entry with the highest log p, replaced first
        log_likelihood = 0.0
        weight = 0.0
        for first in range(start, stop, block):
            n_block = _smaller(block, stop - first)
            _load_block(X, sample_weight, first, n_block, x_t, w_block, unit_weights)
            if unit_weights:
                weight += n_block
            else:
                for b in range(n_block):
                    weight += w_block[b]
            if given:
                for b in range(n_block):
                    for k in range(n_components):
                        log_rho[k, b] = given_resp[first + b, k] * w_block[b]
            elif fused:
                log_likelihood += _fit_block(
                    cov, x_t, n_block, w_block, prec, aux, const, shift, log_rho, rows, log_norm,
                    lane_nk[lane], lane_s1[lane], lane_s2[lane], log_floor, unit_weights,
                    X, first + block, _smaller(first + 2 * block, stop),
                )
                continue
            else:
                _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y)
                if want_labels:
                    _argmax_rows(log_rho, n_block, rows[0], index)
                    for b in range(n_block):
                        out_labels[first + b] = index[b]
                if not normalise:
                    continue
                log_likelihood += _normalise_block(
                    log_rho, n_block, w_block, log_norm, rows, log_floor, index
                )
                if want_norm:
                    for b in range(n_block):
                        out_log_norm[first + b] = log_norm[b]
                if want_resp:
                    for b in range(n_block):
                        for k in range(n_components):
                            out_resp[first + b, k] = log_rho[k, b]
                if n_worst > 0:
                    for b in range(n_block):
                        if w_block[b] > 0.0 and log_norm[b] < kept_norm[slot]:
                            kept_norm[slot] = log_norm[b]
                            kept_index[slot] = first + b
                            for j in range(n_worst):
                                if kept_norm[j] > kept_norm[slot]:
                                    slot = j
            if accumulate:
                _accumulate_block(
                    cov, x_t, n_block, log_rho, w_block, shift,
                    lane_nk[lane], lane_s1[lane], lane_s2[lane], diff, y, index, pending,
                )
        if accumulate:
            _finish_lane(cov, lane_s1[lane], lane_s2[lane], y, pending)
        lane_ll[lane] = log_likelihood
        lane_w[lane] = weight
