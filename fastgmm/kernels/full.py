"""Full covariance: one precision Cholesky factor U_k per component.

Parameter layout used by the drivers in ``_engine``:
``prec`` is U of shape (n_components, n_features, n_features), ``shift`` is the
current means (the centre of the shifted sums), ``aux`` is unused.
"""

import numpy as np
from numba import njit

from .._config import JIT_OPTIONS
from ._common import LOG_2PI


def prepare_full(weights, means, precisions_cholesky):
    """Per-iteration constants for the full kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    prec : ndarray of shape (n_components, n_features, n_features)
    aux : ndarray of shape (n_components, n_features)
    const : ndarray of shape (n_components,)
        log pi_k + sum_i log U_k[i, i] - d/2 log(2 pi), eq. (2).
    shift : ndarray of shape (n_components, n_features)
    """
    n_features = means.shape[1]
    prec = np.ascontiguousarray(precisions_cholesky, dtype=np.float64)
    log_det = np.log(np.diagonal(prec, axis1=1, axis2=2)).sum(axis=1)
    with np.errstate(divide="ignore"):
        const = np.log(weights) + log_det - 0.5 * n_features * LOG_2PI
    shift = np.ascontiguousarray(means, dtype=np.float64)
    return prec, np.zeros_like(shift), const, shift


@njit(**JIT_OPTIONS)
def _log_rho_full_block(x_t, n_block, prec, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 ||(x_b - mu_k)^T U_k||^2 for one block, eq. (2)-(3).

    x_t, diff : (n_features, block); y : (n_features, block), only row 0 used;
    log_rho : (n_components, block).
    """
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
def _accumulate_full_block(x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd):
    """Add one block to the shifted sums of eq. (9): N_k, S1_k = sum r (x - c_k)
    and the upper triangle of S2_k = sum r (x - c_k)(x - c_k)^T.

    resp : (n_components, block), already multiplied by the sample weights.
    s2 : (n_components, n_features, n_features).
    """
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
