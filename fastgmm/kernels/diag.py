"""Diagonal covariance: one precision vector per component.

The block functions are plain Python: the driver's ``_log_rho_block`` and
``_accumulate_block`` overloads in ``_engine`` compile them, so they share
those functions' signatures (arguments a type does not use are ignored).

Parameter layout used by the drivers in ``_engine``: ``prec`` holds the
precisions 1/sigma^2 with shape (n_components, 1, n_features), ``shift`` is the
current means, ``aux`` is unused.
"""

import numpy as np

from ._common import LOG_2PI, _block_total, _squared_distances


def prepare_diag(weights, means, precisions_cholesky):
    """Per-iteration constants for the diag kernels.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray of shape (n_components, n_features)

    Returns
    -------
    prec : ndarray of shape (n_components, 1, n_features)
    aux : ndarray of shape (n_components, n_features)
    const : ndarray of shape (n_components,)
    shift : ndarray of shape (n_components, n_features)
    """
    n_features = means.shape[1]
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    prec = np.ascontiguousarray((chol**2)[:, None, :])
    with np.errstate(divide="ignore"):
        const = np.log(weights) + np.log(chol).sum(axis=1) - 0.5 * n_features * LOG_2PI
    shift = np.ascontiguousarray(means, dtype=np.float64)
    return prec, np.zeros_like(shift), const, shift


def _log_rho_diag_block(cov, x_t, n_block, prec, aux, const, shift, log_rho, diff, y):
    """log rho_bk = const_k - 1/2 sum_i p_ki (x_bi - mu_ki)^2, eq. (2)."""
    n_components = shift.shape[0]
    _squared_distances(x_t, n_block, shift, prec[:, 0], log_rho)
    for k in range(n_components):
        quad = log_rho[k]
        c, half = quad.dtype.type(const[k]), quad.dtype.type(0.5)
        for b in range(n_block):
            quad[b] = c - half * quad[b]


def _accumulate_diag_block(cov, x_t, n_block, resp, w_block, shift, nk, s1, s2, diff, rd,
                             index, pending):
    """Add one block to N_k, S1_k and the diagonal of S2_k (eq. (9)).

    s2 : (n_components, 1, n_features).
    """
    n_components, n_features = shift.shape
    for k in range(n_components):
        rk = resp[k]
        total = _block_total(rk, n_block)
        if total == 0.0:
            continue
        nk[k] += total
        centre = shift[k]
        # Four features per sweep: each load of r serves four of them.
        for i in range(0, n_features - 3, 4):
            m0, m1, m2, m3 = centre[i], centre[i + 1], centre[i + 2], centre[i + 3]
            x0, x1, x2, x3 = x_t[i], x_t[i + 1], x_t[i + 2], x_t[i + 3]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
            for b in range(n_block):
                r = rk[b]
                t0, t1, t2, t3 = x0[b] - m0, x1[b] - m1, x2[b] - m2, x3[b] - m3
                a0 += r * t0
                a1 += r * t1
                a2 += r * t2
                a3 += r * t3
                b0 += (r * t0) * t0
                b1 += (r * t1) * t1
                b2 += (r * t2) * t2
                b3 += (r * t3) * t3
            s1[k, i] += a0
            s1[k, i + 1] += a1
            s1[k, i + 2] += a2
            s1[k, i + 3] += a3
            s2[k, 0, i] += b0
            s2[k, 0, i + 1] += b1
            s2[k, 0, i + 2] += b2
            s2[k, 0, i + 3] += b3
        for i in range(n_features // 4 * 4, n_features):
            m = centre[i]
            xi = x_t[i]
            acc1 = 0.0
            acc2 = 0.0
            for b in range(n_block):
                t = xi[b] - m
                rt = rk[b] * t
                acc1 += rt
                acc2 += rt * t
            s1[k, i] += acc1
            s2[k, 0, i] += acc2
