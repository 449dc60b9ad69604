"""Tied covariance: one precision Cholesky factor U shared by all components.

Parameter layout used by the drivers in ``_engine``: ``prec`` is U with shape
(1, n_features, n_features); ``shift`` repeats one global centre c (the
weighted mean of the means) on every row; ``aux`` holds m_k = (mu_k - c)^T U.

The E-step uses the shared-precision shortcut of eq. (12):
(x - mu_k)^T U = y - m_k with y = (x - c)^T U computed once per point, so a
point costs O(d^2 + K d) instead of O(K d^2).
"""

import numpy as np
from numba import njit

from .._config import JIT_OPTIONS
from ._common import LOG_2PI


def prepare_tied(weights, means, precisions_cholesky):
    """Per-iteration constants for the tied kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_features, n_features)

    Returns
    -------
    prec : ndarray of shape (1, n_features, n_features)
    aux : ndarray of shape (n_components, n_features)
    const : ndarray of shape (n_components,)
    shift : ndarray of shape (n_components, n_features)
    """
    n_features = means.shape[1]
    means = np.asarray(means, dtype=np.float64)
    chol = np.ascontiguousarray(precisions_cholesky, dtype=np.float64)
    # Initial weights need not sum to 1 (scikit-learn divides nk by n_samples).
    weights = np.asarray(weights, dtype=np.float64)
    centre = weights @ means / weights.sum()
    aux = np.ascontiguousarray((means - centre) @ chol)
    with np.errstate(divide="ignore"):
        const = np.log(weights) + np.log(np.diag(chol)).sum() - 0.5 * n_features * LOG_2PI
    shift = np.repeat(centre[None], means.shape[0], axis=0)
    return chol[None], aux, const, shift


@njit(**JIT_OPTIONS)
def _log_rho_tied_block(x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 ||y_b - m_k||^2 with y_b = (x_b - c)^T U, eq. (12).

    y : (n_features, block) holds every y_b.
    """
    n_components, n_features = aux.shape
    for i in range(n_features):
        m = shift[0, i]
        xi = x_t[i]
        di = diff[i]
        for b in range(n_block):
            di[b] = xi[b] - m
    for j in range(n_features):
        yj = y[j]
        for b in range(n_block):
            yj[b] = 0.0
        for i in range(j + 1):
            u = prec[0, i, j]
            di = diff[i]
            for b in range(n_block):
                yj[b] += di[b] * u
    for k in range(n_components):
        quad = log_rho[k]
        for b in range(n_block):
            quad[b] = 0.0
        for j in range(n_features):
            m = aux[k, j]
            yj = y[j]
            for b in range(n_block):
                t = yj[b] - m
                quad[b] += t * t
        c = const[k]
        for b in range(n_block):
            quad[b] = c - 0.5 * quad[b]


@njit(**JIT_OPTIONS)
def _accumulate_tied_block(x_t, n_block, resp, w_block, shift, nk, s1, s2, diff):
    """Add one block to N_k, S1_k = sum r (x - c) and the shared
    S2 = sum w (x - c)(x - c)^T (upper triangle), eq. (13).

    S2 does not depend on the responsibilities: it is the weighted scatter of
    all points about c, as scikit-learn's X^T X is. s2 : (1, n_features, n_features).
    """
    n_components, n_features = shift.shape
    for i in range(n_features):
        m = shift[0, i]
        xi = x_t[i]
        di = diff[i]
        for b in range(n_block):
            di[b] = xi[b] - m
    for k in range(n_components):
        rk = resp[k]
        total = 0.0
        for b in range(n_block):
            total += rk[b]
        if total == 0.0:
            continue
        nk[k] += total
        for i in range(n_features):
            di = diff[i]
            acc = 0.0
            for b in range(n_block):
                acc += rk[b] * di[b]
            s1[k, i] += acc
    for i in range(n_features):
        di = diff[i]
        for j in range(i, n_features):
            dj = diff[j]
            acc = 0.0
            for b in range(n_block):
                acc += w_block[b] * di[b] * dj[b]
            s2[0, i, j] += acc
