"""Parallel drivers shared by the four covariance types.

Each driver splits the points into a fixed number of lanes (contiguous runs of
points), walks its lane block by block, and dispatches the per-block work on
the covariance-type code. Lanes own their accumulators; the caller reduces
them in lane order, so results do not depend on the number of threads.

All covariance types use one parameter layout (see each type's module):
``prec`` (K', a, c), ``aux`` (K, d), ``const`` (K,), ``shift`` (K, d), and
second-moment accumulators of shape (K'', a'', c'').
"""

import numpy as np
from numba import njit, prange

from .._config import JIT_OPTIONS
from ._common import (
    DIAG,
    FULL,
    TIED,
    _lane_bounds,
    _load_block,
    _normalise_block,
)
from .diag import _accumulate_diag_block, _log_rho_diag_block
from .full import _accumulate_full_block, _log_rho_full_block
from .spherical import _accumulate_spherical_block, _log_rho_spherical_block
from .tied import _accumulate_tied_block, _log_rho_tied_block


@njit(**JIT_OPTIONS)
def _block_buffers(n_features, n_components, block):
    """One lane's scratch: x_t, diff, y (features x block), log_rho
    (components x block), w_block, log_norm and scratch (block)."""
    return (
        np.empty((n_features, block)),
        np.empty((n_features, block)),
        np.empty((n_features, block)),
        np.empty((n_components, block)),
        np.empty(block),
        np.empty(block),
        np.empty(block),
    )


@njit(**JIT_OPTIONS)
def _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    if cov == FULL:
        _log_rho_full_block(x_t, n_block, prec, const, shift, log_rho, diff, y)
    elif cov == TIED:
        _log_rho_tied_block(x_t, n_block, prec, aux, const, shift, log_rho, diff, y)
    elif cov == DIAG:
        _log_rho_diag_block(x_t, n_block, prec, const, shift, log_rho, diff)
    else:
        _log_rho_spherical_block(x_t, n_block, prec, const, shift, log_rho)


@njit(**JIT_OPTIONS)
def _accumulate_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd):
    if cov == FULL:
        _accumulate_full_block(x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd)
    elif cov == TIED:
        _accumulate_tied_block(x_t, n_block, resp, w_block, shift, nk, s1, s2, diff)
    elif cov == DIAG:
        _accumulate_diag_block(x_t, n_block, resp, shift, nk, s1, s2)
    else:
        _accumulate_spherical_block(x_t, n_block, resp, shift, nk, s1, s2)


@njit(parallel=True, **JIT_OPTIONS)
def _estep_statistics(cov, X, sample_weight, prec, aux, const, shift, s2_shape, n_lanes, block):
    """One pass: E-step of every point and its sufficient statistics, eq. (9).

    Parameters
    ----------
    cov : int
        Covariance-type code.
    X : ndarray of shape (n_samples, n_features), float32 or float64
    sample_weight : ndarray of shape (n_samples,) or (0,) for unit weights
    prec, aux, const, shift : per-iteration constants (see the type modules)
    s2_shape : tuple of 3 ints
        Shape of one lane's second-moment accumulator.
    n_lanes, block : int

    Returns
    -------
    nk : ndarray of shape (n_lanes, n_components)
    s1 : ndarray of shape (n_lanes, n_components, n_features)
    s2 : ndarray of shape (n_lanes,) + s2_shape
    log_likelihood : ndarray of shape (n_lanes,)
        sum_n w_n log p(x_n) per lane.
    weight : ndarray of shape (n_lanes,)
        sum_n w_n per lane.
    """
    n_samples, n_features = X.shape
    n_components = shift.shape[0]
    lane_nk = np.zeros((n_lanes, n_components))
    lane_s1 = np.zeros((n_lanes, n_components, n_features))
    lane_s2 = np.zeros((n_lanes, s2_shape[0], s2_shape[1], s2_shape[2]))
    lane_ll = np.zeros(n_lanes)
    lane_w = np.zeros(n_lanes)
    for lane in prange(n_lanes):
        start, stop = _lane_bounds(n_samples, n_lanes, lane)
        x_t, diff, y, log_rho, w_block, log_norm, scratch = _block_buffers(
            n_features, n_components, block
        )
        log_likelihood = 0.0
        weight = 0.0
        for first in range(start, stop, block):
            n_block = min(block, stop - first)
            _load_block(X, sample_weight, first, n_block, x_t, w_block)
            for b in range(n_block):
                weight += w_block[b]
            _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y)
            log_likelihood += _normalise_block(log_rho, n_block, w_block, log_norm, scratch)
            _accumulate_block(
                cov, x_t, n_block, log_rho, w_block, shift,
                lane_nk[lane], lane_s1[lane], lane_s2[lane], diff, scratch,
            )
        lane_ll[lane] = log_likelihood
        lane_w[lane] = weight
    return lane_nk, lane_s1, lane_s2, lane_ll, lane_w


@njit(parallel=True, **JIT_OPTIONS)
def _resp_statistics(cov, X, sample_weight, resp, shift, s2_shape, n_lanes, block):
    """Sufficient statistics for given responsibilities (the initial M-step).

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities, not yet multiplied by the sample weights.

    Other parameters and the returned lane arrays are those of
    ``_estep_statistics``; the log-likelihood is zero.
    """
    n_samples, n_features = X.shape
    n_components = shift.shape[0]
    lane_nk = np.zeros((n_lanes, n_components))
    lane_s1 = np.zeros((n_lanes, n_components, n_features))
    lane_s2 = np.zeros((n_lanes, s2_shape[0], s2_shape[1], s2_shape[2]))
    lane_ll = np.zeros(n_lanes)
    lane_w = np.zeros(n_lanes)
    for lane in prange(n_lanes):
        start, stop = _lane_bounds(n_samples, n_lanes, lane)
        x_t, diff, _, r_block, w_block, _, scratch = _block_buffers(n_features, n_components, block)
        weight = 0.0
        for first in range(start, stop, block):
            n_block = min(block, stop - first)
            _load_block(X, sample_weight, first, n_block, x_t, w_block)
            for b in range(n_block):
                weight += w_block[b]
                for k in range(n_components):
                    r_block[k, b] = resp[first + b, k] * w_block[b]
            _accumulate_block(
                cov, x_t, n_block, r_block, w_block, shift,
                lane_nk[lane], lane_s1[lane], lane_s2[lane], diff, scratch,
            )
        lane_w[lane] = weight
    return lane_nk, lane_s1, lane_s2, lane_ll, lane_w


@njit(parallel=True, **JIT_OPTIONS)
def _estimate(cov, X, prec, aux, const, shift, out_resp, out_log_norm, out_labels, block):
    """Per-point outputs of the E-step, written where the caller asks for them.

    An output with zero rows is skipped.

    Parameters
    ----------
    out_resp : ndarray of shape (n_samples, n_components) or (0, n_components)
        Responsibilities (predict_proba).
    out_log_norm : ndarray of shape (n_samples,) or (0,)
        log p(x_n) (score_samples).
    out_labels : ndarray of shape (n_samples,) or (0,)
        argmax_k log rho_nk, first index on ties (predict).
    """
    n_samples, n_features = X.shape
    n_components = shift.shape[0]
    n_blocks = (n_samples + block - 1) // block
    no_weights = np.empty(0)
    want_resp = out_resp.shape[0] > 0
    want_norm = out_log_norm.shape[0] > 0
    want_labels = out_labels.shape[0] > 0
    for blk in prange(n_blocks):
        first = np.int64(blk) * block
        n_block = min(block, n_samples - first)
        x_t, diff, y, log_rho, w_block, log_norm, scratch = _block_buffers(
            n_features, n_components, block
        )
        _load_block(X, no_weights, first, n_block, x_t, w_block)
        _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y)
        if want_labels:
            for b in range(n_block):
                best = 0
                for k in range(1, n_components):
                    if log_rho[k, b] > log_rho[best, b]:
                        best = k
                out_labels[first + b] = best
        if want_resp or want_norm:
            _normalise_block(log_rho, n_block, w_block, log_norm, scratch)
            if want_norm:
                for b in range(n_block):
                    out_log_norm[first + b] = log_norm[b]
            if want_resp:
                for b in range(n_block):
                    for k in range(n_components):
                        out_resp[first + b, k] = log_rho[k, b]


@njit(parallel=True, **JIT_OPTIONS)
def _worst_points(cov, X, sample_weight, prec, aux, const, shift, n_worst, n_lanes, block):
    """The ``n_worst`` points of lowest log p(x) in each lane (zero-weight
    points excluded); earlier points win ties.

    Returns
    -------
    log_norm : ndarray of shape (n_lanes, n_worst)
        +inf where a lane has fewer points.
    index : ndarray of shape (n_lanes, n_worst)
        Row indices, -1 where a lane has fewer points.
    """
    n_samples, n_features = X.shape
    n_components = shift.shape[0]
    lane_norm = np.full((n_lanes, n_worst), np.inf)
    lane_index = np.full((n_lanes, n_worst), -1, dtype=np.int64)
    for lane in prange(n_lanes):
        start, stop = _lane_bounds(n_samples, n_lanes, lane)
        x_t, diff, y, log_rho, w_block, log_norm, scratch = _block_buffers(
            n_features, n_components, block
        )
        kept_norm = lane_norm[lane]
        kept_index = lane_index[lane]
        slot = 0  # the kept entry with the highest log p, replaced first
        for first in range(start, stop, block):
            n_block = min(block, stop - first)
            _load_block(X, sample_weight, first, n_block, x_t, w_block)
            _log_rho_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y)
            _normalise_block(log_rho, n_block, w_block, log_norm, scratch)
            for b in range(n_block):
                if w_block[b] > 0.0 and log_norm[b] < kept_norm[slot]:
                    kept_norm[slot] = log_norm[b]
                    kept_index[slot] = first + b
                    for j in range(n_worst):
                        if kept_norm[j] > kept_norm[slot]:
                            slot = j
    return lane_norm, lane_index
