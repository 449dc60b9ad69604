"""Tied covariance: one precision Cholesky factor U shared by all components.

The block functions are plain Python: the driver's ``_log_rho_block`` and
``_accumulate_block`` overloads in ``_engine`` compile them, so they share
those functions' signatures (arguments a type does not use are ignored).

Parameter layout used by the drivers in ``_engine``: ``prec`` is U with shape
(1, p, p), zero-padded to p = ``padded_features(n_features)``; ``shift``
repeats one global centre c (the weighted mean of the means) on every row;
``aux`` (n_components + 1, p) holds m_k = (mu_k - c)^T U in its first rows
and c, zero-padded, in its last.

The E-step uses the shared-precision shortcut of eq. (12):
(x - mu_k)^T U = y - m_k with y = (x - c)^T U computed once per point, so a
point costs O(d^2 + K d) instead of O(K d^2).
"""

import numpy as np

from ._common import (
    LOG_2PI,
    _add_tile_products,
    _add_upper_tiles,
    _block_total,
    _centre_rows,
    _squared_distances,
    _triangular_columns,
    padded_features,
)


def prepare_tied(weights, means, precisions_cholesky):
    """Per-iteration constants for the tied kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_features, n_features)

    Returns
    -------
    prec : ndarray of shape (1, padded, padded)
        U, with zero rows and columns up to ``padded_features(n_features)``.
    aux : ndarray of shape (n_components + 1, padded)
        m_k, then the centre c.
    const : ndarray of shape (n_components,)
    shift : ndarray of shape (n_components, n_features)
    """
    n_features = means.shape[1]
    means = np.asarray(means, dtype=np.float64)
    chol = np.ascontiguousarray(precisions_cholesky, dtype=np.float64)
    # Initial weights need not sum to 1 (scikit-learn divides nk by n_samples).
    weights = np.asarray(weights, dtype=np.float64)
    centre = weights @ means / weights.sum()
    # Zero rows and columns up to a multiple of 4 for the 4 x 4 tiles.
    padded = padded_features(n_features)
    prec = np.zeros((1, padded, padded))
    prec[0, :n_features, :n_features] = chol
    aux = np.zeros((means.shape[0] + 1, padded))
    aux[:-1, :n_features] = (means - centre) @ chol
    aux[-1, :n_features] = centre
    with np.errstate(divide="ignore"):
        const = np.log(weights) + np.log(np.diag(chol)).sum() - 0.5 * n_features * LOG_2PI
    shift = np.repeat(centre[None], means.shape[0], axis=0)
    return prec, aux, const, shift


def _log_rho_tied_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 ||y_b - m_k||^2 with y_b = (x_b - c)^T U, eq. (12).

    x_t, y : (padded, block), x_t's rows past n_features zero; y holds every
    y_b, and (x - c)^T U goes in 4 x 4 tiles (padded is a multiple of 4).
    """
    n_components = const.shape[0]
    padded = prec.shape[1]
    u = prec[0]
    centre = aux[n_components]
    for j in range(0, padded, 4):
        # Whole columns: the diagonal tiles as full tiles, once per point.
        _triangular_columns(x_t, centre, u, j, j + 4, n_block, y[j], y[j + 1], y[j + 2], y[j + 3])
    _squared_distances(y, n_block, aux[:n_components], None, log_rho)
    for k in range(n_components):
        quad = log_rho[k]
        c, half = quad.dtype.type(const[k]), quad.dtype.type(0.5)
        for b in range(n_block):
            quad[b] = c - half * quad[b]


def _accumulate_tied_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                             index, pending):
    """Add one block to N_k, S1_k = sum r (x - c) and the shared
    S2 = sum w (x - c)(x - c)^T (upper triangle), eq. (13).

    S2 does not depend on the responsibilities: it is the weighted scatter of
    all points about c, as scikit-learn's X^T X is.
    s2 : (1, padded, padded); diff, rd : (padded, block), rows past
    n_features zero.
    """
    n_components, n_features = shift.shape
    _centre_rows(x_t, n_block, shift[0], diff)
    for k in range(n_components):
        nk[k] += _block_total(resp[k], n_block)
    # S1 = R (X - c)^T in 4 x 4 tiles of (components, features), then the
    # entries left over (last components, last features) one at a time.
    tiled_components = n_components // 4 * 4
    tiled_features = n_features // 4 * 4
    for k in range(0, tiled_components, 4):
        for i in range(0, tiled_features, 4):
            _add_tile_products(resp, k, diff, i, n_block, 0.0, s1, k, i)
    for k in range(n_components):
        rk = resp[k]
        for i in range(tiled_features if k < tiled_components else 0, n_features):
            di = diff[i]
            acc = 0.0
            for b in range(n_block):
                acc += rk[b] * di[b]
            s1[k, i] += acc
    for i in range(n_features):
        di = diff[i]
        ri = rd[i]
        for b in range(n_block):
            ri[b] = w_block[b] * di[b]
    _add_upper_tiles(rd, diff, n_block, s2[0])
