"""Shared fixtures. The kernels are compiled (or loaded from numba's cache)
once, at the start of the session, so that no test pays compile time."""

import numpy as np
import pytest

from fastgmm import kernels
from fastgmm.reference import compute_precision_cholesky

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def random_parameters(rng, covariance_type, n_components, n_features, scale=1.0):
    """Random weights, means and precision Cholesky factors (scikit-learn layout)."""
    weights = rng.dirichlet(np.full(n_components, 2.0))
    means = rng.normal(scale=3 * scale, size=(n_components, n_features))
    if covariance_type in ("full", "tied"):
        count = n_components if covariance_type == "full" else 1
        A = rng.normal(size=(count, n_features, n_features))
        covariances = scale**2 * (A @ np.swapaxes(A, 1, 2) / n_features + 0.5 * np.eye(n_features))
        if covariance_type == "tied":
            covariances = covariances[0]
    elif covariance_type == "diag":
        covariances = scale**2 * rng.uniform(0.3, 2.0, size=(n_components, n_features))
    else:
        covariances = scale**2 * rng.uniform(0.3, 2.0, size=n_components)
    return weights, means, covariances, compute_precision_cholesky(covariances, covariance_type)


@pytest.fixture(scope="session", autouse=True)
def warm_kernels():
    """Compile every kernel signature the tests use, once per session."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(64, 3)).astype(dtype)
        w = rng.uniform(size=64)
        for covariance_type in COVARIANCE_TYPES:
            weights, means, _, chol = random_parameters(rng, covariance_type, 2, 3)
            for sample_weight in (None, w):
                kernels.estep_statistics(X, sample_weight, covariance_type, weights, means, chol)
                resp = np.full((64, 2), 0.5, dtype=dtype)
                kernels.resp_statistics(X, sample_weight, resp, means, covariance_type)
            kernels.estimate(X, covariance_type, weights, means, chol, True, True, True, dtype)
