"""Spherical covariance: one variance per component.

The block functions are plain Python: the driver's ``_log_rho_block`` and
``_accumulate_block`` overloads in ``_engine`` compile them, so they share
those functions' signatures (arguments a type does not use are ignored).

Parameter layout used by the drivers in ``_engine``: ``prec`` holds 1/sigma^2
with shape (n_components, 1, 1), ``shift`` is the current means, ``aux`` is
unused. The second moment is the scalar sum_b r_b ||x_b - c_k||^2.
"""

import numpy as np

from ._common import (
    LOG_2PI,
    _block_total,
    _add_feature_moment,
    _add_feature_moments,
    _squared_distances,
)


def prepare_spherical(weights, means, precisions_cholesky):
    """Per-iteration constants for the spherical kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_components,)

    Returns
    -------
    prec : ndarray of shape (n_components, 1, 1)
    aux : ndarray of shape (n_components, n_features)
    const : ndarray of shape (n_components,)
    shift : ndarray of shape (n_components, n_features)
    """
    n_features = means.shape[1]
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    prec = np.ascontiguousarray((chol**2)[:, None, None])
    with np.errstate(divide="ignore"):
        const = np.log(weights) + n_features * np.log(chol) - 0.5 * n_features * LOG_2PI
    shift = np.ascontiguousarray(means, dtype=np.float64)
    return prec, np.zeros_like(shift), const, shift


def _log_rho_spherical_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 p_k ||x_b - mu_k||^2, eq. (2)."""
    n_components, n_features = shift.shape
    _squared_distances(x_t, n_block, shift, None, log_rho)
    for k in range(n_components):
        quad = log_rho[k]
        c, p = quad.dtype.type(const[k]), quad.dtype.type(0.5 * prec[k, 0, 0])
        for b in range(n_block):
            quad[b] = c - p * quad[b]


def _accumulate_spherical_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                                  index, pending):
    """Add one block to N_k, S1_k and the scalar S2_k = sum r ||x - c_k||^2.

    s2 : (n_components, 1, 1).
    """
    n_components, n_features = shift.shape
    for k in range(n_components):
        rk = resp[k]
        total = _block_total(rk, n_block)
        if total == 0.0:
            continue
        nk[k] += total
        centre = shift[k]
        acc2 = 0.0
        for i in range(0, n_features - 3, 4):
            b0, b1, b2, b3 = _add_feature_moments(rk, x_t, centre, i, n_block, s1[k])
            acc2 += (b0 + b1) + (b2 + b3)
        for i in range(n_features // 4 * 4, n_features):
            acc2 += _add_feature_moment(rk, x_t, centre, i, n_block, s1[k])
        s2[k, 0, 0] += acc2
