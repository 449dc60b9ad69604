"""Shared fixtures. The kernels are compiled (or loaded from numba's cache)
once, at the start of the session, so that no test pays compile time."""

import itertools
import shutil
import tempfile
from pathlib import Path

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


def make_mixture(seed, n_samples=400, n_features=3, n_clusters=4, spread=2.5):
    """Moderately overlapping, anisotropic Gaussian clusters (seeded)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(n_clusters, n_features))
    labels = rng.integers(n_clusters, size=n_samples)
    shapes = 0.5 * rng.normal(size=(n_clusters, n_features, n_features)) + np.eye(n_features)
    noise = rng.normal(size=(n_samples, n_features))
    return centers[labels] + np.einsum("nij,nj->ni", shapes[labels], noise)


def component_scales(covariances, covariance_type, n_components, n_features):
    """Standard deviation of each feature in each component, shape (K, d): the
    units in which parameter differences are measured."""
    if covariance_type == "full":
        return np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
    if covariance_type == "tied":
        return np.broadcast_to(np.sqrt(np.diag(covariances)), (n_components, n_features))
    if covariance_type == "diag":
        return np.sqrt(covariances)
    return np.broadcast_to(np.sqrt(covariances)[:, None], (n_components, n_features))


def scaled_data_precisions(covariance, scales, covariance_type):
    """precisions_init in the covariance type's layout: the data's precision
    scaled per component by ``scales`` (shape (K,)); tied takes it unscaled."""
    precision = np.linalg.inv(covariance)
    return {
        "full": precision[None] * scales[:, None, None],
        "tied": precision,
        "diag": (1.0 / np.diag(covariance))[None] * scales[:, None],
        "spherical": scales / np.mean(np.diag(covariance)),
    }[covariance_type]


def full_covariances(covariance_type, covariances, n_components, n_features):
    """Any covariance layout as a stack of (n_components, d, d) matrices."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([c * np.eye(n_features) for c in covariances])


_BOUNDSCHECK_TEST = "test_every_kernel_passes_bounds_checking"
_BOUNDSCHECK_RUN = pytest.StashKey()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run the bounds-checking test last, and start its processes now.

    They compile every kernel under bounds checking, about two minutes of
    one core each, and most of that overlaps the rest of the session.
    After -k and -m have deselected (trylast), so that a run without the
    test starts nothing.
    """
    checked = [item for item in items if item.name == _BOUNDSCHECK_TEST]
    if not checked or config.option.collectonly:
        return
    items[:] = [item for item in items if item.name != _BOUNDSCHECK_TEST] + checked
    from .test_boundscheck import launch

    directory = Path(tempfile.mkdtemp(prefix="fastgmm-boundscheck-"))
    config.stash[_BOUNDSCHECK_RUN] = (directory, launch(directory))


def pytest_sessionfinish(session):
    run = session.config.stash.get(_BOUNDSCHECK_RUN, None)
    if run is not None:
        from .test_boundscheck import stop

        directory, processes = run
        stop(processes)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def boundscheck_run(request, tmp_path):
    """(directory, processes) of the bounds-checked runs started at
    collection, or started now."""
    run = request.config.stash.get(_BOUNDSCHECK_RUN, None)
    if run is None:
        from .test_boundscheck import launch

        run = (tmp_path, launch(tmp_path))
    return run


@pytest.fixture(scope="session", autouse=True)
def warm_kernels():
    """Compile every kernel signature the tests use, once per session."""
    rng = np.random.default_rng(0)
    # 'full' has its own driver code for d <= 3 (``full.full_code``).
    for dtype, n_features in itertools.product((np.float64, np.float32), (3, 5)):
        X = rng.normal(size=(64, n_features)).astype(dtype)
        w = rng.uniform(size=64)
        for covariance_type in COVARIANCE_TYPES:
            weights, means, _, chol = random_parameters(rng, covariance_type, 2, n_features)
            for sample_weight in (None, w):
                kernels.estep_statistics(X, sample_weight, covariance_type, weights, means, chol)
                resp = np.full((64, 2), 0.5, dtype=dtype)
                kernels.resp_statistics(X, sample_weight, resp, means, covariance_type)
            kernels.estimate(X, covariance_type, weights, means, chol, True, True, True, dtype)
