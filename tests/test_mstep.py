"""M-step helpers against scikit-learn's, including its error texts."""

import numpy as np
import pytest
from sklearn.mixture import _gaussian_mixture as sk

from fastgmm import GaussianMixture
from fastgmm.kernels.parameters import full_means_and_covariances, precision_cholesky
from fastgmm.mstep import (
    _compute_precision_cholesky,
    _compute_precision_cholesky_from_precisions,
    _compute_precisions,
)

from .conftest import COVARIANCE_TYPES, random_parameters


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_precision_cholesky_matches_sklearn(covariance_type):
    rng = np.random.default_rng(0)
    _, _, covariances, _ = random_parameters(rng, covariance_type, 4, 5)
    ours = _compute_precision_cholesky(covariances, covariance_type)
    theirs = sk._compute_precision_cholesky(covariances, covariance_type, xp=np)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    precisions = _compute_precisions(ours, covariance_type)
    np.testing.assert_allclose(
        _compute_precision_cholesky_from_precisions(precisions, covariance_type),
        sk._compute_precision_cholesky_from_precisions(precisions, covariance_type, xp=np),
        rtol=1e-10,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_not_positive_definite_raises_sklearn_text(covariance_type, dtype):
    d = 3
    bad = {
        "full": np.stack([np.eye(d), -np.eye(d)]),
        "tied": np.diag([1.0, 0.0, -1.0]),
        "diag": np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]]),
        "spherical": np.array([1.0, -1e-3]),
    }[covariance_type]
    with pytest.raises(ValueError) as ours:
        _compute_precision_cholesky(bad, covariance_type, dtype)
    with pytest.raises(ValueError) as theirs:
        sk._compute_precision_cholesky(bad.astype(dtype), covariance_type, xp=np)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_collapsed_component_without_reg_covar_raises_like_sklearn(covariance_type):
    # Two distinct points repeated: with reg_covar=0 a component collapses.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    kwargs = dict(n_components=2, covariance_type=covariance_type, reg_covar=0.0, random_state=0)
    from sklearn.mixture import GaussianMixture as SkGM

    with pytest.raises(ValueError) as theirs:
        SkGM(**kwargs).fit(X)
    with pytest.raises(ValueError) as ours:
        GaussianMixture(**kwargs).fit(X)
    assert str(ours.value) == str(theirs.value)


def _spd_stack(rng, n_stack, n_features, condition):
    """Symmetric positive-definite matrices with eigenvalues from 1 to 1 / condition."""
    stack = []
    for _ in range(n_stack):
        q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        eigenvalues = np.geomspace(1.0, 1.0 / condition, n_features) * rng.uniform(0.1, 10.0)
        stack.append((q * eigenvalues) @ q.T)
    return np.array(stack)


def _precision_cholesky_of(covariances):
    result = np.zeros_like(covariances)
    work = np.zeros((2,) + covariances.shape[1:])
    return result, precision_cholesky(covariances, result, work[0], work[1])


@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 16, 64])
@pytest.mark.parametrize("condition", [1.0, 1e6])
def test_compiled_precision_cholesky_matches_scipy(n_features, condition):
    # scikit-learn's own steps: scipy's Cholesky, then solve_triangular.
    from scipy import linalg

    rng = np.random.default_rng(n_features)
    covariances = _spd_stack(rng, 6, n_features, condition)
    ours, failed = _precision_cholesky_of(covariances)
    assert failed == -1
    for sigma, u in zip(covariances, ours):
        lower = linalg.cholesky(sigma, lower=True)
        expected = linalg.solve_triangular(lower, np.eye(n_features), lower=True).T
        # Both are backward stable, so they agree to eps times Sigma's
        # condition number (the forward error bound of either).
        eps = np.finfo(np.float64).eps
        np.testing.assert_allclose(u, expected, rtol=0,
                                   atol=16 * eps * condition * np.abs(expected).max())
        np.testing.assert_array_equal(np.tril(u, -1), 0.0)


@pytest.mark.parametrize("bad", ["nan", "inf", "negative", "singular"])
def test_compiled_precision_cholesky_names_the_first_failing_component(bad):
    rng = np.random.default_rng(0)
    covariances = _spd_stack(rng, 4, 3, 10.0)
    covariances[3] = -np.eye(3)  # a later failure must not be the one reported
    if bad == "nan":
        covariances[1, 2, 0] = np.nan
    elif bad == "inf":
        covariances[1, 1, 1] = np.inf
    elif bad == "negative":
        covariances[1] = np.diag([1.0, -1.0, 1.0])
    else:
        covariances[1] = np.ones((3, 3))
    assert _precision_cholesky_of(covariances)[1] == 1


def test_compiled_full_means_and_covariances_round_as_numpy():
    # The M-step's formulas in numpy, entry by entry: the compiled version
    # must give the same bits (no fused multiply-add, same order).
    rng = np.random.default_rng(3)
    n_components, n_features = 5, 4
    nk = rng.uniform(1.0, 1e4, n_components) + 10 * np.finfo(np.float64).eps
    s1 = rng.normal(size=(n_components, n_features)) * nk[:, None]
    upper = np.triu(rng.normal(size=(n_components, n_features, n_features)))
    s2 = upper + 3.0 * np.tril(rng.normal(size=upper.shape), -1)  # the lower triangle is ignored
    shift = rng.normal(size=(n_components, n_features))
    means = np.full((n_components, n_features), np.nan)
    covariances = np.full((n_components, n_features, n_features), np.nan)
    full_means_and_covariances(nk, s1, s2, shift, 1e-6, means, covariances)
    delta = s1 / nk[:, None]
    symmetric = np.triu(s2) + np.swapaxes(np.triu(s2, 1), 1, 2)
    expected = symmetric / nk[:, None, None] - delta[:, :, None] * delta[:, None, :]
    expected[:, np.arange(n_features), np.arange(n_features)] += 1e-6
    np.testing.assert_array_equal(means, shift + delta)
    np.testing.assert_array_equal(covariances, expected)
