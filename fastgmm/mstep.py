"""M-step: sufficient statistics to mixture parameters.

Function names follow scikit-learn's ``sklearn/mixture/_gaussian_mixture.py``
where they do the same job, so the two can be compared side by side.
"""

from dataclasses import dataclass

import numpy as np

from .kernels.parameters import full_means_and_covariances, precision_cholesky

ESTIMATE_PRECISION_ERROR_MESSAGE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)
_FLOAT32_HINT = (
    " The numerical accuracy can also be improved by passing float64"
    " data instead of float32."
)


@dataclass(frozen=True)
class GMMParams:
    """Parameters of a Gaussian mixture, float64, scikit-learn's layouts.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray or None
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    precisions_cholesky : ndarray
        Same shapes as ``covariances``.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


def _precision_error(dtype):
    message = ESTIMATE_PRECISION_ERROR_MESSAGE
    if np.dtype(dtype) == np.float32:
        message += _FLOAT32_HINT
    return ValueError(message)


###############################################################################
# Parameter estimators (eq. (10)-(13) of docs/derivation.md)


def _symmetric_from_upper(upper):
    """Fill the lower triangle of a stack of upper-triangular accumulators."""
    lower = np.swapaxes(np.triu(upper, 1), -1, -2)
    return np.triu(upper) + lower


def _estimate_gaussian_parameters(stats, reg_covar, eps):
    """Estimate nk, means and covariances from shifted statistics.

    Parameters
    ----------
    stats : SuffStats
    reg_covar : float
    eps : float
        Machine epsilon of the data's dtype; nk gets + 10 * eps as in
        scikit-learn.

    Returns
    -------
    nk : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    """
    covariance_type = stats.covariance_type
    nk = stats.nk + 10 * eps
    if covariance_type == "full":
        # The formulas below, compiled: numpy's cost per call weighed on small models.
        n_components, n_features = stats.s1.shape
        means = np.empty((n_components, n_features))
        covariances = np.empty((n_components, n_features, n_features))
        full_means_and_covariances(nk, stats.s1, stats.s2, stats.shift, float(reg_covar), means,
                                   covariances)
        return nk, means, covariances
    delta = stats.s1 / nk[:, None]
    means = stats.shift + delta
    n_features = means.shape[1]
    if covariance_type == "tied":
        scatter = _symmetric_from_upper(stats.s2[0])
        covariances = (scatter - (nk[:, None] * delta).T @ delta) / nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type == "diag":
        variances = stats.s2[:, 0, :] / nk[:, None] - delta**2
        # Only rounding can make these negative; scikit-learn issue 30382.
        covariances = np.maximum(variances, 0.0) + reg_covar
    else:
        variances = (stats.s2[:, 0, 0] / nk - (delta**2).sum(axis=1)) / n_features
        covariances = np.maximum(variances, 0.0) + reg_covar
    return nk, means, covariances


def _compute_precision_cholesky(covariances, covariance_type, dtype=np.float64):
    """Upper-triangular U with U U^T equal to the inverse covariance.

    Parameters
    ----------
    covariances : ndarray
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    dtype : dtype
        dtype of the data, only for the error message.

    Returns
    -------
    precisions_cholesky : ndarray of the same shape as ``covariances``

    Raises
    ------
    ValueError
        scikit-learn's text, when a covariance is not positive-definite.
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        stack = np.ascontiguousarray(covariances.reshape((-1,) + covariances.shape[-2:]))
        precisions_chol = np.zeros_like(stack)
        work = np.zeros((2,) + stack.shape[1:])
        if precision_cholesky(stack, precisions_chol, work[0], work[1]) >= 0:
            raise _precision_error(dtype)
        return precisions_chol.reshape(covariances.shape)
    if not np.all(np.isfinite(covariances)) or np.any(covariances <= 0.0):
        raise _precision_error(dtype)
    return 1.0 / np.sqrt(covariances)


def _flipudlr(array):
    return np.flip(np.flip(array, axis=-1), axis=-2)


def _compute_precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper Cholesky factors of user-given precisions (scikit-learn #26415).

    Parameters
    ----------
    precisions : ndarray
        full (K, d, d), tied (d, d), diag (K, d), spherical (K,).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    precisions_cholesky : ndarray of the same shape
    """
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return np.ascontiguousarray(_flipudlr(np.linalg.cholesky(_flipudlr(precisions))))
    return np.sqrt(precisions)


def _covariances_from_precisions(precisions, covariance_type):
    """Covariances matching user-given precisions."""
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def _compute_precisions(precisions_cholesky, covariance_type):
    """Precision matrices from their Cholesky factors, as ``precisions_``."""
    if covariance_type in ("full", "tied"):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)
    return precisions_cholesky**2


###############################################################################
# The M-step


def _reseed_components(nk, means, covariances, covariance_type, empty, points):
    """Move emptied components onto the given points (``empty_component="reinit"``).

    Each reseeded component gets the pooled covariance of the others and the
    average size of the others. Returns new arrays; the inputs are not changed.
    """
    empty = np.flatnonzero(empty)[: len(points)]
    healthy = np.ones(nk.shape[0], dtype=bool)
    healthy[empty] = False
    nk, means, covariances = nk.copy(), means.copy(), covariances.copy()
    means[empty] = points[: len(empty)]
    if covariance_type != "tied":
        pooled = np.tensordot(nk[healthy], covariances[healthy], axes=1) / nk[healthy].sum()
        covariances[empty] = pooled
    nk[empty] = nk[healthy].mean()
    return nk, means, covariances


def m_step(stats, reg_covar, eps, dtype=np.float64, min_nk=None, worst_points=None):
    """New parameters from one iteration's statistics (scikit-learn's _m_step).

    Parameters
    ----------
    stats : SuffStats
    reg_covar : float
    eps : float
        Machine epsilon of the data's dtype.
    dtype : dtype
        The data's dtype, for the error message only.
    min_nk : float or None
        With ``worst_points``: components whose summed responsibility is below
        this are reseeded (``empty_component="reinit"``).
    worst_points : callable or None
        ``worst_points(n)`` returns up to n points of lowest likelihood, as an
        array of shape (m, n_features).

    Returns
    -------
    GMMParams
    """
    nk, means, covariances = _estimate_gaussian_parameters(stats, reg_covar, eps)
    if worst_points is not None:
        empty = stats.nk < min_nk
        if empty.any() and not empty.all():
            points = worst_points(int(empty.sum()))
            nk, means, covariances = _reseed_components(
                nk, means, covariances, stats.covariance_type, empty, points
            )
    precisions_cholesky = _compute_precision_cholesky(covariances, stats.covariance_type, dtype)
    return GMMParams(nk / nk.sum(), means, covariances, precisions_cholesky)
