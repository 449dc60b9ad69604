"""Initial parameters: k-means, k-means++, random, random_from_data, or user-given.

The RandomState is consumed exactly as scikit-learn's
``BaseMixture._initialize_parameters`` consumes it, so the same random_state
gives the same model. Responsibilities are produced chunk by chunk, never as
one (n_samples, n_components) array.
"""

import numpy as np

from .kmeans import kmeans, kmeans_plusplus, warn_if_fewer_clusters
from .mstep import (
    GMMParams,
    _compute_precision_cholesky,
    _compute_precision_cholesky_from_precisions,
    _covariances_from_precisions,
    _estimate_gaussian_parameters,
)


def _kmeans_rows(source, fitted, n_components, dtype):
    # One-hot rows of each chunk's nearest k-means centre; scikit-learn's
    # warning about clusters left empty comes once the last chunk is labelled.
    count = np.zeros(n_components, dtype=np.int64)

    def resp_chunk(start, stop):
        weights = None if source.sample_weight is None else source.sample_weight[start:stop]
        labels, chunk_count = fitted.labels(source.X[start:stop], weights)
        count[:] += chunk_count
        if stop == source.n_samples:
            warn_if_fewer_clusters(count, n_components)
        resp = np.zeros((stop - start, n_components), dtype=dtype)
        resp[np.arange(stop - start), labels] = 1
        return resp

    return resp_chunk


def _chosen_points(indices, n_components, dtype):
    # Row indices[k] belongs to component k alone; every other row to none.
    order = np.argsort(indices)
    sorted_indices = indices[order]

    def resp_chunk(start, stop):
        resp = np.zeros((stop - start, n_components), dtype=dtype)
        lo, hi = np.searchsorted(sorted_indices, [start, stop])
        resp[sorted_indices[lo:hi] - start, order[lo:hi]] = 1
        return resp

    return resp_chunk


def _uniform_rows(random_state, n_components, dtype):
    # Chunked draws consume the stream exactly as one (n_samples, K) draw.
    def resp_chunk(start, stop):
        resp = np.asarray(random_state.uniform(size=(stop - start, n_components)), dtype=dtype)
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return resp

    return resp_chunk


def _choose_points(source, n_components, random_state):
    """scikit-learn's ``random_state.choice(n, K, replace=False)``; with unequal
    sample weights, rows are drawn in proportion to their weight (zero-weight
    rows never)."""
    weights = source.sample_weight
    n_samples = source.n_samples
    if weights is None or weights.min() == weights.max():
        # choice(replace=False) is permutation(n)[:K], and the shuffle consumes
        # the stream the same way for any integer dtype: int32 halves the
        # O(n_samples) temporary that reproducing scikit-learn's draw needs.
        order = np.arange(n_samples, dtype=np.int32 if n_samples < 2**31 else np.int64)
        random_state.shuffle(order)
        return order[:n_components].astype(np.int64)
    return random_state.choice(n_samples, size=n_components, replace=False, p=weights / weights.sum())


def _responsibilities(source, covariance_type, n_components, init_params, random_state):
    """Chunked responsibilities of the chosen init, and the centre to sum about.

    Returns
    -------
    resp_chunk : callable (start, stop) -> ndarray of shape (stop - start, n_components)
    shift : ndarray of shape (n_components, n_features)
    """
    X = source.X
    dtype = X.dtype
    first = np.broadcast_to(source.first_row(), (n_components, source.n_features))
    if init_params == "kmeans":
        fitted = kmeans(X, n_components, source.sample_weight, random_state)
        resp_chunk = _kmeans_rows(source, fitted, n_components, dtype)
        shift = fitted.centres
    elif init_params == "random":
        resp_chunk = _uniform_rows(random_state, n_components, dtype)
        shift = first
    else:
        if init_params == "random_from_data":
            indices = _choose_points(source, n_components, random_state)
        else:  # "k-means++"
            _, indices = kmeans_plusplus(X, n_components, source.sample_weight, random_state)
        resp_chunk = _chosen_points(np.asarray(indices), n_components, dtype)
        shift = X[indices]
    if covariance_type == "tied":
        if init_params in ("random_from_data", "k-means++"):
            # Unchosen rows have zero responsibility, so scikit-learn's tied
            # covariance (X^T X - sum_k nk mu_k mu_k^T) / sum nk depends on the
            # origin; summing about 0 reproduces it (docs/derivation.md).
            shift = np.zeros_like(first)
        else:
            shift = first
    return resp_chunk, np.ascontiguousarray(shift, dtype=np.float64)


def initial_parameters(source, covariance_type, n_components, init_params, random_state,
                       reg_covar, weights_init=None, means_init=None, precisions_init=None):
    """Initial mixture parameters, as scikit-learn's ``_initialize_parameters``.

    Parameters
    ----------
    source : ArraySource
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    n_components : int
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}
    random_state : numpy.random.RandomState
    reg_covar : float
    weights_init : ndarray of shape (n_components,) or None
    means_init : ndarray of shape (n_components, n_features) or None
    precisions_init : ndarray or None
        Validated user-given parameters; any that is None comes from the
        responsibilities of ``init_params``.

    Returns
    -------
    GMMParams
    """
    eps = np.finfo(source.dtype).eps
    weights = means = covariances = None
    if weights_init is None or means_init is None or precisions_init is None:
        resp_chunk, shift = _responsibilities(
            source, covariance_type, n_components, init_params, random_state
        )
        stats = source.resp_statistics(covariance_type, resp_chunk, shift, n_components)
        nk, means, covariances = _estimate_gaussian_parameters(stats, reg_covar, eps)
        weights = nk / source.total_weight
    if weights_init is not None:
        weights = np.asarray(weights_init, dtype=np.float64)
    if means_init is not None:
        means = np.asarray(means_init, dtype=np.float64)
    if precisions_init is None:
        precisions_cholesky = _compute_precision_cholesky(covariances, covariance_type, source.dtype)
    else:
        precisions_cholesky = _compute_precision_cholesky_from_precisions(
            precisions_init, covariance_type
        )
        covariances = _covariances_from_precisions(precisions_init, covariance_type)
    return GMMParams(weights, means, covariances, precisions_cholesky)
