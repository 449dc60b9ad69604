"""``sample_weight`` in ``fit`` and ``fit_predict``.

scikit-learn's GaussianMixture has no sample weights, so the oracles are the
equivalences that weights must satisfy: integer weights are repeated rows,
a constant factor changes nothing, zero weights are dropped rows and unit
weights are no weights. The weighted k-means initialisation is checked
against ``sklearn.cluster.KMeans(...).fit(X, sample_weight=w)`` and
``fastgmm.reference.estimate_gaussian_parameters``.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight

from fastgmm import GaussianMixture, reference

from .conftest import make_mixture, scaled_data_precisions

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N_COMPONENTS = 4
REG_COVAR = 1e-6
TOL = 1e-7  # parameter differences in component units (see component_diffs)
FIT_KW = dict(tol=1e-8, max_iter=2000)


@pytest.fixture(scope="module")
def X():
    return make_mixture(0, n_samples=200)


@pytest.fixture(scope="module")
def int_weights(X):
    # 0..3 copies of each row: about a quarter of the rows are dropped.
    weights = np.random.default_rng(5).integers(0, 4, size=X.shape[0])
    assert (weights == 0).any() and (weights > 1).any()
    return weights


def user_init(X, covariance_type, seed=11):
    """A deterministic user init: all three of weights, means and precisions."""
    rng = np.random.default_rng(seed)
    covariance = np.cov(X.T)
    scales = rng.uniform(0.5, 2.0, size=N_COMPONENTS)
    precisions = scaled_data_precisions(covariance, scales, covariance_type)
    return dict(
        weights_init=rng.dirichlet(np.full(N_COMPONENTS, 5.0)),
        means_init=X[rng.choice(X.shape[0], N_COMPONENTS, replace=False)],
        precisions_init=precisions,
    )


def _normalised(actual, expected, covariance_type):
    if covariance_type in ("full", "tied"):
        scale = np.sqrt(np.diagonal(expected, axis1=-2, axis2=-1))
        return np.max(np.abs(actual - expected) / (scale[..., :, None] * scale[..., None, :]))
    return np.max(np.abs(actual - expected) / np.abs(expected))


def component_diffs(weights, means, covariances, expected_weights, expected_means,
                    expected_covariances, covariance_type):
    """weights absolute; means in standard deviations; covariances in
    correlation units (full, tied) or relative (diag, spherical)."""
    n_components, n_features = expected_means.shape
    if covariance_type == "full":
        scales = np.sqrt(np.diagonal(expected_covariances, axis1=1, axis2=2))
    elif covariance_type == "tied":
        scales = np.broadcast_to(np.sqrt(np.diag(expected_covariances)), expected_means.shape)
    elif covariance_type == "diag":
        scales = np.sqrt(expected_covariances)
    else:
        scales = np.broadcast_to(np.sqrt(expected_covariances)[:, None], expected_means.shape)
    return dict(
        weights=np.max(np.abs(weights - expected_weights)),
        means=np.max(np.abs(means - expected_means) / scales),
        covariances=_normalised(covariances, expected_covariances, covariance_type),
    )


def assert_same_model(actual, expected, X):
    covariance_type = expected.covariance_type
    diffs = component_diffs(
        actual.weights_, actual.means_, actual.covariances_,
        expected.weights_, expected.means_, expected.covariances_, covariance_type,
    )
    assert max(diffs.values()) <= TOL, diffs
    assert abs(actual.lower_bound_ - expected.lower_bound_) <= 1e-8
    assert actual.n_iter_ == expected.n_iter_
    assert actual.converged_ == expected.converged_
    np.testing.assert_array_equal(actual.predict(X), expected.predict(X))


def fit(X, sample_weight=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return GaussianMixture(n_components=N_COMPONENTS, **kwargs, **FIT_KW).fit(
            X, sample_weight=sample_weight
        )


# Two deterministic setups: the full user init, and k-means (scikit-learn's
# KMeans gets the weights; weighted k-means++ seeding and Lloyd iterations
# equal those on repeated rows).
def init_kwargs(kind, X, covariance_type):
    if kind == "user":
        return dict(covariance_type=covariance_type, **user_init(X, covariance_type))
    return dict(covariance_type=covariance_type, init_params="kmeans", random_state=0)


INITS = ["user", "kmeans"]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(X, int_weights, covariance_type, init):
    kwargs = init_kwargs(init, X, covariance_type)
    weighted = fit(X, int_weights, **kwargs)
    X_repeated = np.repeat(X, int_weights, axis=0)
    repeated = fit(X_repeated, **kwargs)
    assert_same_model(weighted, repeated, X)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_weights_changes_nothing(X, int_weights, covariance_type, init):
    kwargs = init_kwargs(init, X, covariance_type)
    weights = int_weights + np.random.default_rng(9).uniform(0.0, 1.0, size=X.shape[0])
    base = fit(X, weights, **kwargs)
    scaled = fit(X, 3.7 * weights, **kwargs)
    assert_same_model(scaled, base, X)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_equal_dropped_rows(X, int_weights, covariance_type, init):
    kwargs = init_kwargs(init, X, covariance_type)
    weights = np.where(int_weights == 0, 0.0, 0.5 + int_weights)
    keep = weights > 0
    with_zeros = fit(X, weights, **kwargs)
    dropped = fit(X[keep], weights[keep], **kwargs)
    assert_same_model(with_zeros, dropped, X)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_unit_weights_equal_no_weights(X, covariance_type, init):
    kwargs = init_kwargs(init, X, covariance_type)
    ones = fit(X, np.ones(X.shape[0]), **kwargs)
    none = fit(X, **kwargs)
    assert_same_model(ones, none, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_with_weights_equals_fit_then_predict(X, int_weights, covariance_type):
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=1,
                  **FIT_KW)
    labels = GaussianMixture(**kwargs).fit_predict(X, sample_weight=int_weights)
    fitted = GaussianMixture(**kwargs).fit(X, sample_weight=int_weights)
    np.testing.assert_array_equal(labels, fitted.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_em_matches_reference(X, int_weights, covariance_type):
    # The reference oracle's own weighted EM, from the same user init.
    weights = int_weights + np.random.default_rng(9).uniform(0.0, 1.0, size=X.shape[0])
    init = user_init(X, covariance_type)
    fast = fit(X, weights, covariance_type=covariance_type, **init)
    precisions = init["precisions_init"]
    if covariance_type in ("diag", "spherical"):
        chol = np.sqrt(precisions)
    else:
        # Upper-triangular U with U U^T = P: reverse rows and columns around
        # the lower Cholesky factor of the reversed matrix.
        chol = np.linalg.cholesky(precisions[..., ::-1, ::-1])[..., ::-1, ::-1]
    expected = reference.fit(
        X, init["weights_init"], init["means_init"], chol, covariance_type,
        sample_weight=weights, reg_covar=REG_COVAR, **FIT_KW,
    )
    diffs = component_diffs(
        fast.weights_, fast.means_, fast.covariances_, expected["weights"], expected["means"],
        expected["covariances"], covariance_type,
    )
    assert max(diffs.values()) <= TOL, diffs
    assert fast.lower_bound_ == pytest.approx(expected["lower_bound"], abs=1e-8, rel=0)
    assert fast.n_iter_ == expected["n_iter"]


# ------------------------------------------------------ weights reach k-means


@pytest.mark.parametrize("random_state", [0, 3])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kmeans_init_uses_weights(X, int_weights, covariance_type, random_state):
    weights = int_weights + np.random.default_rng(2).uniform(0.0, 0.5, size=X.shape[0])
    labels = KMeans(n_clusters=N_COMPONENTS, n_init=1, random_state=random_state).fit(
        X, sample_weight=weights
    ).labels_
    unweighted_labels = KMeans(n_clusters=N_COMPONENTS, n_init=1, random_state=random_state).fit(
        X
    ).labels_
    # The weights change the k-means partition, so the test can tell them apart.
    assert not np.array_equal(labels, unweighted_labels)

    resp = np.zeros((X.shape[0], N_COMPONENTS))
    resp[np.arange(X.shape[0]), labels] = 1
    nk, means, covariances = reference.estimate_gaussian_parameters(
        X, resp, REG_COVAR, covariance_type, sample_weight=weights
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max_iter=0 warns about nothing
        fast = GaussianMixture(
            n_components=N_COMPONENTS, covariance_type=covariance_type, init_params="kmeans",
            random_state=random_state, max_iter=0,
        ).fit(X, sample_weight=weights)
    # max_iter=0 keeps the initial parameters (scikit-learn's semantics).
    assert fast.n_iter_ == 0 and fast.lower_bound_ == -np.inf
    diffs = component_diffs(
        fast.weights_, fast.means_, fast.covariances_, nk / weights.sum(), means, covariances,
        covariance_type,
    )
    assert max(diffs.values()) <= 1e-10, diffs


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "make_weights, message",
    [
        (lambda n: np.r_[-1.0, np.ones(n - 1)],
         "Negative values in data passed to `sample_weight`"),
        (lambda n: np.ones(n - 1), re.escape("sample_weight.shape == (199,), expected (200,)")),
        (lambda n: np.ones(n + 3), re.escape("sample_weight.shape == (203,), expected (200,)")),
        (lambda n: np.r_[np.nan, np.ones(n - 1)], "NaN"),
        (lambda n: np.r_[np.inf, np.ones(n - 1)], "infinity"),
        # scikit-learn's text for all-zero weights (its estimator check
        # check_all_zero_sample_weights_error wants "weight" and "zero").
        (lambda n: np.zeros(n), "Sample weights must contain at least one non-zero number"),
    ],
    ids=["negative", "too-short", "too-long", "nan", "inf", "all-zero"],
)
@pytest.mark.parametrize("method", ["fit", "fit_predict"])
def test_invalid_sample_weight_raises(X, make_weights, message, method):
    assert X.shape[0] == 200
    model = GaussianMixture(n_components=2, random_state=0)
    with pytest.raises(ValueError, match=message):
        getattr(model, method)(X, sample_weight=make_weights(X.shape[0]))
    assert not hasattr(model, "weights_")
    # The same text as scikit-learn's own validation of non-negative weights.
    with pytest.raises(ValueError, match=message) as expected:
        _check_sample_weight(make_weights(X.shape[0]), X, ensure_non_negative=True)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        getattr(model, method)(X, sample_weight=make_weights(X.shape[0]))


@pytest.mark.parametrize(
    "bad_weights",
    [np.zeros(200), np.r_[-1.0, np.ones(199)], np.ones(3)],
    ids=["all-zero", "negative", "wrong-length"],
)
def test_failed_weighted_fit_keeps_previous_model(X, bad_weights):
    model = GaussianMixture(n_components=2, random_state=0).fit(X)
    state = {key: np.copy(value) for key, value in vars(model).items() if key.endswith("_")}
    with pytest.raises(ValueError):
        model.fit(X, sample_weight=bad_weights)
    for key, value in state.items():
        np.testing.assert_array_equal(getattr(model, key), value, err_msg=key)
