"""M-step helpers against scikit-learn's, including its error texts."""

import numpy as np
import pytest
from sklearn.mixture import _gaussian_mixture as sk

from fastgmm import GaussianMixture
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
