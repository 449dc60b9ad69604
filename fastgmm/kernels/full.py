"""Full covariance: one precision Cholesky factor U_k per component.

Parameter layout used by the drivers in ``_engine``:
``prec`` is U of shape (n_components, p, p), zero-padded to
p = ``padded_features(n_features)``; ``shift`` is the current means (the
centre of the shifted sums); ``aux`` is unused.

When p is a multiple of 4 the block functions work in 4 x 4 register tiles:
each load of a point's coordinates feeds four multiply-adds, and the partial
sums stay in registers. Other sizes use plain row loops.
"""

import numpy as np
from numba import njit

from .._config import JIT_OPTIONS
from ._common import LOG_2PI, padded_features


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
    aux : ndarray of shape (n_components, n_features)
    const : ndarray of shape (n_components,)
        log pi_k + sum_i log U_k[i, i] - d/2 log(2 pi), eq. (2).
    shift : ndarray of shape (n_components, n_features)
    """
    n_components, n_features = means.shape
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    padded = padded_features(n_features)
    # Zero rows and columns up to a multiple of 4 for the 4 x 4 tiles.
    prec = np.zeros((n_components, padded, padded))
    prec[:, :n_features, :n_features] = chol
    log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    with np.errstate(divide="ignore"):
        const = np.log(weights) + log_det - 0.5 * n_features * LOG_2PI
    shift = np.ascontiguousarray(means, dtype=np.float64)
    return prec, np.zeros_like(shift), const, shift


@njit(**JIT_OPTIONS)
def _log_rho_full_rows(x_t, n_block, prec, const, shift, log_rho, diff, y):
    """``_log_rho_full_block`` with one row of U^T (x - mu) at a time."""
    n_components, n_features = shift.shape
    yj = y[0]
    for k in range(n_components):
        for i in range(n_features):
            m = shift[k, i]
            xi = x_t[i]
            di = diff[i]
            for b in range(n_block):
                di[b] = xi[b] - m
        quad = log_rho[k]
        for b in range(n_block):
            quad[b] = 0.0
        for j in range(n_features):
            for b in range(n_block):
                yj[b] = 0.0
            for i in range(j + 1):
                u = prec[k, i, j]
                di = diff[i]
                for b in range(n_block):
                    yj[b] += di[b] * u
            for b in range(n_block):
                quad[b] += yj[b] * yj[b]
        c = const[k]
        for b in range(n_block):
            quad[b] = c - 0.5 * quad[b]


@njit(**JIT_OPTIONS)
def _accumulate_full_rows(x_t, n_block, resp, shift, nk, s1, s2, diff, rd):
    """``_accumulate_full_block`` one row of S2 at a time; rd : (block,)."""
    n_components, n_features = shift.shape
    for k in range(n_components):
        rk = resp[k]
        total = 0.0
        for b in range(n_block):
            total += rk[b]
        if total == 0.0:
            continue  # adds exact zeros only
        nk[k] += total
        for i in range(n_features):
            m = shift[k, i]
            xi = x_t[i]
            di = diff[i]
            for b in range(n_block):
                di[b] = xi[b] - m
        for i in range(n_features):
            di = diff[i]
            acc = 0.0
            for b in range(n_block):
                rd[b] = rk[b] * di[b]
                acc += rd[b]
            s1[k, i] += acc
            # Four columns per sweep: each load of rd feeds four FMAs.
            j = i
            while j + 4 <= n_features:
                d0, d1, d2, d3 = diff[j], diff[j + 1], diff[j + 2], diff[j + 3]
                a0 = a1 = a2 = a3 = 0.0
                for b in range(n_block):
                    r = rd[b]
                    a0 += r * d0[b]
                    a1 += r * d1[b]
                    a2 += r * d2[b]
                    a3 += r * d3[b]
                s2[k, i, j] += a0
                s2[k, i, j + 1] += a1
                s2[k, i, j + 2] += a2
                s2[k, i, j + 3] += a3
                j += 4
            for jj in range(j, n_features):
                dj = diff[jj]
                acc = 0.0
                for b in range(n_block):
                    acc += rd[b] * dj[b]
                s2[k, i, jj] += acc


@njit(**JIT_OPTIONS)
def _log_rho_full_tiled(x_t, n_block, prec, const, shift, log_rho, diff, y):
    """``_log_rho_full_block`` in 4 x 4 tiles of U; rows of ``diff`` past
    n_features are zero, and y's first 4 rows are scratch."""
    n_components, n_features = shift.shape
    padded = prec.shape[1]
    y0, y1, y2, y3 = y[0], y[1], y[2], y[3]
    for k in range(n_components):
        for i in range(n_features):
            m = shift[k, i]
            xi = x_t[i]
            di = diff[i]
            for b in range(n_block):
                di[b] = xi[b] - m
        quad = log_rho[k]
        for b in range(n_block):
            quad[b] = 0.0
        u = prec[k]
        for j in range(0, padded, 4):
            for b in range(n_block):
                y0[b] = 0.0
                y1[b] = 0.0
                y2[b] = 0.0
                y3[b] = 0.0
            # U is upper triangular: rows past column j + 3 add nothing.
            for i in range(0, j + 4, 4):
                u00, u01, u02, u03 = u[i, j], u[i, j + 1], u[i, j + 2], u[i, j + 3]
                u10, u11, u12, u13 = u[i + 1, j], u[i + 1, j + 1], u[i + 1, j + 2], u[i + 1, j + 3]
                u20, u21, u22, u23 = u[i + 2, j], u[i + 2, j + 1], u[i + 2, j + 2], u[i + 2, j + 3]
                u30, u31, u32, u33 = u[i + 3, j], u[i + 3, j + 1], u[i + 3, j + 2], u[i + 3, j + 3]
                d0, d1, d2, d3 = diff[i], diff[i + 1], diff[i + 2], diff[i + 3]
                for b in range(n_block):
                    e0, e1, e2, e3 = d0[b], d1[b], d2[b], d3[b]
                    y0[b] += e0 * u00 + e1 * u10 + e2 * u20 + e3 * u30
                    y1[b] += e0 * u01 + e1 * u11 + e2 * u21 + e3 * u31
                    y2[b] += e0 * u02 + e1 * u12 + e2 * u22 + e3 * u32
                    y3[b] += e0 * u03 + e1 * u13 + e2 * u23 + e3 * u33
            for b in range(n_block):
                quad[b] += y0[b] * y0[b] + y1[b] * y1[b] + y2[b] * y2[b] + y3[b] * y3[b]
        c = const[k]
        for b in range(n_block):
            quad[b] = c - 0.5 * quad[b]


@njit(**JIT_OPTIONS)
def _accumulate_full_tiled(x_t, n_block, resp, shift, nk, s1, s2, diff, rd):
    """``_accumulate_full_block`` in 4 x 4 tiles of S2 (the diagonal tiles
    also fill a few entries below the diagonal, which nothing reads).

    diff, rd : (padded, block), rows past n_features zero.
    """
    n_components, n_features = shift.shape
    padded = s2.shape[1]
    for k in range(n_components):
        rk = resp[k]
        total = 0.0
        for b in range(n_block):
            total += rk[b]
        if total == 0.0:
            continue  # adds exact zeros only
        nk[k] += total
        for i in range(n_features):
            m = shift[k, i]
            xi = x_t[i]
            di = diff[i]
            ri = rd[i]
            acc = 0.0
            for b in range(n_block):
                v = xi[b] - m
                di[b] = v
                ri[b] = rk[b] * v
                acc += ri[b]
            s1[k, i] += acc
        sk = s2[k]
        for i in range(0, padded, 4):
            r0, r1, r2, r3 = rd[i], rd[i + 1], rd[i + 2], rd[i + 3]
            for j in range(i, padded, 4):
                d0, d1, d2, d3 = diff[j], diff[j + 1], diff[j + 2], diff[j + 3]
                a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = 0.0
                a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = 0.0
                for b in range(n_block):
                    p0, p1, p2, p3 = r0[b], r1[b], r2[b], r3[b]
                    e0, e1, e2, e3 = d0[b], d1[b], d2[b], d3[b]
                    a00 += p0 * e0
                    a01 += p0 * e1
                    a02 += p0 * e2
                    a03 += p0 * e3
                    a10 += p1 * e0
                    a11 += p1 * e1
                    a12 += p1 * e2
                    a13 += p1 * e3
                    a20 += p2 * e0
                    a21 += p2 * e1
                    a22 += p2 * e2
                    a23 += p2 * e3
                    a30 += p3 * e0
                    a31 += p3 * e1
                    a32 += p3 * e2
                    a33 += p3 * e3
                sk[i, j] += a00
                sk[i, j + 1] += a01
                sk[i, j + 2] += a02
                sk[i, j + 3] += a03
                sk[i + 1, j] += a10
                sk[i + 1, j + 1] += a11
                sk[i + 1, j + 2] += a12
                sk[i + 1, j + 3] += a13
                sk[i + 2, j] += a20
                sk[i + 2, j + 1] += a21
                sk[i + 2, j + 2] += a22
                sk[i + 2, j + 3] += a23
                sk[i + 3, j] += a30
                sk[i + 3, j + 1] += a31
                sk[i + 3, j + 2] += a32
                sk[i + 3, j + 3] += a33


@njit(**JIT_OPTIONS)
def _log_rho_full_block(x_t, n_block, prec, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 ||(x_b - mu_k)^T U_k||^2 for one block, eq. (2)-(3).

    x_t : (n_features, block); diff, y : (padded, block);
    log_rho : (n_components, block).
    """
    if prec.shape[1] % 4 == 0:
        _log_rho_full_tiled(x_t, n_block, prec, const, shift, log_rho, diff, y)
    else:
        _log_rho_full_rows(x_t, n_block, prec, const, shift, log_rho, diff, y)


@njit(**JIT_OPTIONS)
def _accumulate_full_block(x_t, n_block, resp, shift, nk, s1, s2, diff, rd):
    """Add one block to the shifted sums of eq. (9): N_k, S1_k = sum r (x - c_k)
    and the upper triangle of S2_k = sum r (x - c_k)(x - c_k)^T.

    resp : (n_components, block), already multiplied by the sample weights.
    s2 : (n_components, padded, padded); diff, rd : (padded, block).
    """
    if s2.shape[1] % 4 == 0:
        _accumulate_full_tiled(x_t, n_block, resp, shift, nk, s1, s2, diff, rd)
    else:
        _accumulate_full_rows(x_t, n_block, resp, shift, nk, s1, s2, diff, rd[0])
