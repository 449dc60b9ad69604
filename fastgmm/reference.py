"""Textbook NumPy EM for Gaussian mixtures: the tests' oracle, the benchmarks' baseline.

Written for clarity, not speed: every E-step stores the full (n_samples,
n_components) responsibility matrix, and the M-step makes a second pass over
the data with differences taken about the new means (the accurate two-pass
form). All arithmetic is float64. No numba.

The control flow follows scikit-learn's: the lower bound of an iteration is
the mean log-likelihood before its M-step, convergence is |change| < tol, and
nk gets + 10 * eps of the data's dtype.
"""

import math

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _as_float64(X):
    return np.asarray(X, dtype=np.float64)


def _unit_weights(X, sample_weight):
    if sample_weight is None:
        return np.ones(X.shape[0])
    return np.asarray(sample_weight, dtype=np.float64)


def estimate_log_gaussian_prob(X, means, precisions_cholesky, covariance_type):
    """log N(x_n | mu_k, Sigma_k) for every point and component, eq. (2).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    """
    X = _as_float64(X)
    means = _as_float64(means)
    chol = _as_float64(precisions_cholesky)
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    log_prob = np.empty((n_samples, n_components))
    for k in range(n_components):
        diff = X - means[k]
        if covariance_type == "full":
            y = diff @ chol[k]
            log_det = np.sum(np.log(np.diag(chol[k])))
        elif covariance_type == "tied":
            y = diff @ chol
            log_det = np.sum(np.log(np.diag(chol)))
        elif covariance_type == "diag":
            y = diff * chol[k]
            log_det = np.sum(np.log(chol[k]))
        else:
            y = diff * chol[k]
            log_det = n_features * np.log(chol[k])
        log_prob[:, k] = -0.5 * (n_features * math.log(2 * math.pi) + np.sum(y**2, axis=1)) + log_det
    return log_prob


def logsumexp(a, axis=1):
    """log(sum(exp(a))) along ``axis``, shifted by the maximum for stability.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_components)

    Returns
    -------
    out : ndarray of shape (n_samples,)
    """
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - peak), axis=axis)) + np.squeeze(peak, axis=axis)


def e_step(X, weights, means, precisions_cholesky, covariance_type):
    """E-step: per-point log-likelihoods and log-responsibilities, eq. (4)-(5).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
    covariance_type : str

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
    log_resp : ndarray of shape (n_samples, n_components)
    """
    with np.errstate(divide="ignore"):
        log_weights = np.log(_as_float64(weights))
    weighted = estimate_log_gaussian_prob(X, means, precisions_cholesky, covariance_type) + log_weights
    log_prob_norm = logsumexp(weighted, axis=1)
    with np.errstate(under="ignore", invalid="ignore"):
        log_resp = weighted - log_prob_norm[:, None]
    return log_prob_norm, log_resp


def estimate_gaussian_parameters(X, resp, reg_covar, covariance_type, sample_weight=None, eps=None):
    """M-step from stored responsibilities, two passes, eq. (6)-(8).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
    reg_covar : float
    covariance_type : str
    sample_weight : ndarray of shape (n_samples,) or None
    eps : float or None
        Machine epsilon for nk + 10 * eps; defaults to that of X's dtype.

    Returns
    -------
    nk : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    """
    if eps is None:
        eps = np.finfo(np.asarray(X).dtype).eps
    X = _as_float64(X)
    w = _unit_weights(X, sample_weight)
    wresp = _as_float64(resp) * w[:, None]
    n_features = X.shape[1]
    nk = wresp.sum(axis=0) + 10 * eps
    means = (wresp.T @ X) / nk[:, None]
    n_components = means.shape[0]
    if covariance_type == "full":
        covariances = np.empty((n_components, n_features, n_features))
        for k in range(n_components):
            diff = X - means[k]
            covariances[k] = (wresp[:, k] * diff.T) @ diff / nk[k]
            covariances[k].flat[:: n_features + 1] += reg_covar
    elif covariance_type == "tied":
        covariances = np.zeros((n_features, n_features))
        for k in range(n_components):
            diff = X - means[k]
            covariances += (wresp[:, k] * diff.T) @ diff
        covariances /= nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        variances = np.empty((n_components, n_features))
        for k in range(n_components):
            diff = X - means[k]
            variances[k] = wresp[:, k] @ (diff * diff) / nk[k]
        covariances = variances + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk, means, covariances


def compute_precision_cholesky(covariances, covariance_type):
    """Upper-triangular U with U U^T = Sigma^{-1}, from the covariances.

    Parameters
    ----------
    covariances : ndarray
    covariance_type : str

    Returns
    -------
    precisions_cholesky : ndarray of the same shape
    """
    covariances = _as_float64(covariances)
    if covariance_type == "full":
        return np.stack([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])
    if covariance_type == "tied":
        return np.linalg.inv(np.linalg.cholesky(covariances)).T
    return 1.0 / np.sqrt(covariances)


def fit(X, weights, means, precisions_cholesky, covariance_type="full", *,
        tol=1e-3, max_iter=100, reg_covar=1e-6, sample_weight=None):
    """Run EM from given initial parameters.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    tol : float
        Stop when the lower bound changes by less than ``tol``.
    max_iter : int
    reg_covar : float
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    result : dict
        weights, means, covariances, precisions_cholesky, lower_bound,
        lower_bounds (list), n_iter, converged.
    """
    eps = np.finfo(np.asarray(X).dtype).eps
    X = _as_float64(X)
    w = _unit_weights(X, sample_weight)
    covariances = None
    lower_bound = -np.inf
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        log_prob_norm, log_resp = e_step(X, weights, means, precisions_cholesky, covariance_type)
        nk, means, covariances = estimate_gaussian_parameters(
            X, np.exp(log_resp), reg_covar, covariance_type, w, eps
        )
        weights = nk / nk.sum()
        precisions_cholesky = compute_precision_cholesky(covariances, covariance_type)
        lower_bound = float(np.sum(w * log_prob_norm) / np.sum(w))
        lower_bounds.append(lower_bound)
        if abs(lower_bound - previous) < tol:
            converged = True
            break
    return dict(
        weights=weights,
        means=means,
        covariances=covariances,
        precisions_cholesky=precisions_cholesky,
        lower_bound=lower_bound,
        lower_bounds=lower_bounds,
        n_iter=n_iter,
        converged=converged,
    )
