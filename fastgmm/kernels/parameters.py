"""The M-step's per-component matrix work for full and tied covariances,
compiled (eq. (10)-(13) of docs/derivation.md).

numpy's cost per call, not its arithmetic, set the M-step's time on small
models: W1 (K = 8, d = 2) spent about 200 us of a 6 ms iteration (2 threads)
in some thirty numpy calls, each slowed by the caches the E-step's pass had
just filled. One compiled call does the same work in a few microseconds.
``fastgmm.mstep`` calls these functions; the formulas are the same.
"""

import numpy as np
from numba import njit

from .._config import IEEE_JIT_OPTIONS


@njit(**IEEE_JIT_OPTIONS)
def full_means_and_covariances(nk, s1, s2, shift, reg_covar, means, covariances):
    """Means and covariances from the shifted sums of a full fit, eq. (11)-(12).

    With delta_k = s1_k / nk_k: mu_k = shift_k + delta_k and
    Sigma_k = S2_k / nk_k - delta_k delta_k^T + reg_covar I, each entry
    rounded as numpy's elementwise expression rounds it (no fused
    multiply-add). The outputs are given, so that no allocation is compiled
    (0.5-0.8 s of a cold first fit with ``full._full_constants``).

    Parameters
    ----------
    nk : ndarray of shape (n_components,)
        Summed responsibilities, already + 10 eps.
    s1 : ndarray of shape (n_components, n_features)
    s2 : ndarray of shape (n_components, n_features, n_features)
        Upper triangles of the shifted second moments; the lower ones are
        not read.
    shift : ndarray of shape (n_components, n_features)
    reg_covar : float
    means : ndarray of shape (n_components, n_features)
        Receives the means.
    covariances : ndarray of shape (n_components, n_features, n_features)
        Receives the covariances.
    """
    n_components, n_features = s1.shape
    for k in range(n_components):
        for i in range(n_features):
            means[k, i] = shift[k, i] + s1[k, i] / nk[k]
        for i in range(n_features):
            delta_i = s1[k, i] / nk[k]
            for j in range(n_features):
                upper = s2[k, i, j] if i <= j else s2[k, j, i]
                covariances[k, i, j] = upper / nk[k] - delta_i * (s1[k, j] / nk[k])
            covariances[k, i, i] += reg_covar


@njit(**IEEE_JIT_OPTIONS)
def precision_cholesky(covariances, result, lower, inverse):
    """Upper U_k with U_k U_k^T = Sigma_k^-1, as scikit-learn computes it:
    the lower Cholesky factor L_k of Sigma_k, then U_k = (L_k^-1)^T by
    forward substitution (its ``solve_triangular``).

    The arrays are given, so that no allocation is compiled (with them, 0.8
    against 0.4 s of a cold first fit).

    Parameters
    ----------
    covariances : ndarray of shape (n_stack, n_features, n_features)
        Only the lower triangles are read.
    result : ndarray of shape (n_stack, n_features, n_features), zero
        Receives U_k.
    lower, inverse : ndarray of shape (n_features, n_features), zero
        Work space.

    Returns
    -------
    failed : int
        -1, or the first k whose Sigma_k has a non-finite entry or is not
        positive definite (then ``result`` is incomplete).
    """
    n_stack, n_features, _ = covariances.shape
    for k in range(n_stack):
        sigma = covariances[k]
        for i in range(n_features):
            for j in range(i + 1):
                if not np.isfinite(sigma[i, j]):
                    return k
        for j in range(n_features):
            pivot = sigma[j, j]
            for p in range(j):
                pivot -= lower[j, p] * lower[j, p]
            if not pivot > 0.0:
                return k
            lower[j, j] = np.sqrt(pivot)
            for i in range(j + 1, n_features):
                total = sigma[i, j]
                for p in range(j):
                    total -= lower[i, p] * lower[j, p]
                lower[i, j] = total / lower[j, j]
        # L X = I column by column; X is lower triangular.
        for column in range(n_features):
            for i in range(column, n_features):
                total = 1.0 if i == column else 0.0
                for p in range(column, i):
                    total -= lower[i, p] * inverse[p, column]
                inverse[i, column] = total / lower[i, i]
        for i in range(n_features):
            for j in range(i, n_features):
                result[k, i, j] = inverse[j, i]
    return -1
