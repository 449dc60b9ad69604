"""Accuracy far from the origin and between far-apart clusters (DESIGN.md §2)."""

import numpy as np
import pytest

from fastgmm import GaussianMixture, reference

from .conftest import COVARIANCE_TYPES, component_scales

TOL = 1e-7  # in the component's own units


def assert_same_model(got_means, got_cov, want_means, want_cov, covariance_type, tol=TOL):
    """Means within tol standard deviations; covariance (i, j) within tol after
    dividing by sqrt(S_ii S_jj)."""
    n_components, n_features = want_means.shape
    sd = component_scales(want_cov, covariance_type, n_components, n_features)
    assert np.max(np.abs(got_means - want_means) / sd) < tol
    if covariance_type in ("full", "tied"):
        d = np.sqrt(np.diagonal(want_cov, axis1=-2, axis2=-1))
        scale = d[..., :, None] * d[..., None, :]
    else:
        scale = want_cov
    assert np.max(np.abs(got_cov - want_cov) / scale) < tol


def clusters(rng, n_per, centres, n_features, dtype=np.float64):
    return np.vstack([
        rng.normal(size=(n_per, n_features)) * rng.uniform(0.5, 1.5, size=n_features) + c
        for c in centres
    ]).astype(dtype)


def init_kwargs(covariance_type, means, n_features):
    n_components = means.shape[0]
    precisions = {
        "full": np.broadcast_to(np.eye(n_features), (n_components, n_features, n_features)).copy(),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=means,
        precisions_init=precisions,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [1e6, 1e8])
def test_offset_data_fits_the_centred_model(covariance_type, offset):
    rng = np.random.default_rng(0)
    n_features = 3
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 5.0, 5.0]])
    shifted = clusters(rng, 400, centres, n_features) + offset
    centred = shifted - offset  # exact: the same points, moved back
    kwargs = dict(n_components=3, covariance_type=covariance_type, tol=1e-10, max_iter=30)
    init = init_kwargs(covariance_type, centres, n_features)
    far = GaussianMixture(**kwargs, **{**init, "means_init": centres + offset}).fit(shifted)
    near = GaussianMixture(**kwargs, **init).fit(centred)
    assert_same_model(far.means_ - offset, far.covariances_, near.means_, near.covariances_,
                      covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_offset_data_with_kmeans_init(covariance_type):
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 6.0]])
    offset = 1e6
    shifted = clusters(rng, 300, centres, 2) + offset
    centred = shifted - offset
    kwargs = dict(n_components=3, covariance_type=covariance_type, tol=1e-10, max_iter=50,
                  random_state=0)
    far = GaussianMixture(**kwargs).fit(shifted)
    near = GaussianMixture(**kwargs).fit(centred)
    order_far = np.lexsort(far.means_.T)
    order_near = np.lexsort(near.means_.T)
    cov_far, cov_near = far.covariances_, near.covariances_
    if covariance_type != "tied":
        cov_far, cov_near = cov_far[order_far], cov_near[order_near]
    assert_same_model(far.means_[order_far] - offset, cov_far, near.means_[order_near], cov_near,
                      covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_clusters_1e4_sd_apart_match_two_pass_reference(covariance_type):
    rng = np.random.default_rng(2)
    n_features = 3
    centres = np.array([[0.0] * 3, [1e4] * 3, [-1e4, 2e4, 0.0]])
    X = clusters(rng, 300, centres, n_features)
    init = init_kwargs(covariance_type, centres + 0.3, n_features)
    gm = GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=8, **init)
    with pytest.warns(Warning):  # tol=0: the fixed-work fit never "converges"
        gm.fit(X)
    from fastgmm.mstep import _compute_precision_cholesky_from_precisions

    ref = reference.fit(
        X, init["weights_init"], init["means_init"],
        _compute_precision_cholesky_from_precisions(init["precisions_init"], covariance_type),
        covariance_type, tol=0, max_iter=8,
    )
    assert_same_model(gm.means_, gm.covariances_, ref["means"], ref["covariances"], covariance_type)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_float32_offset_variances_stay_positive(covariance_type):
    """scikit-learn issue 30382: float32 data far from 0 gave negative variances."""
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [3.0, 3.0]])
    X64 = clusters(rng, 500, centres, 2) * 1e-2 + 1e3
    X32 = X64.astype(np.float32)
    kwargs = dict(n_components=2, covariance_type=covariance_type, random_state=0, reg_covar=0.0,
                  tol=1e-8, max_iter=200)
    gm32 = GaussianMixture(**kwargs).fit(X32)
    gm64 = GaussianMixture(**kwargs).fit(X32.astype(np.float64))
    assert gm32.covariances_.dtype == np.float32
    assert np.all(gm32.covariances_ > 0)
    np.testing.assert_allclose(gm32.covariances_, gm64.covariances_, rtol=1e-4)
