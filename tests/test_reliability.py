"""Bad input, degenerate data and floating-point edge cases (issue: reliability).

Where scikit-learn has an error for the same situation, fastgmm's must be the
same type with the same text; the oracle is scikit-learn itself.
"""

import copy
import math
import re

import numba
import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from fastgmm import GaussianMixture, kernels
from fastgmm.mstep import ESTIMATE_PRECISION_ERROR_MESSAGE

from .conftest import COVARIANCE_TYPES


def blobs(seed=0, n_per=100, n_features=2):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])[:, :n_features]
    return np.vstack([rng.normal(size=(n_per, n_features)) + c for c in centres])


def _sorted_sets(message):
    # Parameter errors list the allowed values of a set, in set order.
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def raised(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), _sorted_sets(str(info.value))


def assert_same_error(method, X, params=None, **kwargs):
    """fastgmm raises exactly what scikit-learn raises for the same call."""
    params = params or {}
    ours = raised(lambda: getattr(GaussianMixture(**params), method)(X, **kwargs))
    theirs = raised(lambda: getattr(SkGaussianMixture(**params), method)(X, **kwargs))
    assert ours == theirs
    return ours


# --------------------------------------------------------------- bad input

X_GOOD = blobs()
_nan = X_GOOD.copy()
_nan[3, 1] = np.nan
_inf = X_GOOD.copy()
_inf[7, 0] = np.inf

BAD_X = {
    "nan": _nan,
    "inf": _inf,
    "1d": X_GOOD[:, 0],
    "3d": X_GOOD.reshape(3, 100, 2),
    "empty": np.empty((0, 2)),
    "one_sample": X_GOOD[:1],
    "strings": np.array([["a", "b"], ["c", "d"], ["e", "f"]]),
    "complex": X_GOOD.astype(complex) + 1j,
    "object_none": np.array([[1.0, None], [2.0, 3.0], [4.0, 5.0]], dtype=object),
    "sparse": scipy.sparse.csr_matrix(X_GOOD),
    "fewer_samples_than_components": X_GOOD[:2],
}


@pytest.mark.parametrize("case", sorted(BAD_X))
def test_bad_X_raises_like_sklearn(case):
    error_type, message = assert_same_error("fit", BAD_X[case], {"n_components": 3})
    assert issubclass(error_type, (ValueError, TypeError))
    if case == "sparse":
        assert error_type is TypeError and "dense" in message


BAD_PARAMS = [
    {"n_components": 0},
    {"covariance_type": "banana"},
    {"tol": -1.0},
    {"reg_covar": -1e-6},
    {"max_iter": -1},
    {"n_init": 0},
    {"init_params": "spectral"},
    {"verbose_interval": 0},
    {"weights_init": [0.5, 0.6, 0.1]},
    {"weights_init": [0.5, 0.5]},
    {"weights_init": [1.5, -0.5, 0.0]},
    {"means_init": np.zeros((2, 2))},
    {"means_init": np.zeros((3, 3))},
    {"precisions_init": np.ones((3, 3)), "covariance_type": "full"},
    {"precisions_init": np.stack([np.eye(2), np.eye(2), -np.eye(2)]), "covariance_type": "full"},
    {"precisions_init": np.array([[1.0, 2.0], [2.0, 1.0]]), "covariance_type": "tied"},
    {"precisions_init": np.ones((3, 2)) * -1, "covariance_type": "diag"},
    {"precisions_init": np.array([1.0, 0.0, 1.0]), "covariance_type": "spherical"},
    {"means_init": [[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: "-".join(map(str, p)))
def test_bad_hyper_parameters_raise_like_sklearn(params):
    assert_same_error("fit", X_GOOD, {"n_components": 3, **params})


def test_empty_component_option_is_validated():
    with pytest.raises(ValueError, match="empty_component"):
        GaussianMixture(3, empty_component="sometimes").fit(X_GOOD)


def test_inference_errors_match_sklearn():
    for method in ("predict", "predict_proba", "score_samples", "score"):
        ours = raised(lambda: getattr(GaussianMixture(2), method)(X_GOOD))
        theirs = raised(lambda: getattr(SkGaussianMixture(2), method)(X_GOOD))
        assert ours == theirs and ours[0] is NotFittedError
    ours_model = GaussianMixture(2, random_state=0).fit(X_GOOD)
    theirs_model = SkGaussianMixture(2, random_state=0).fit(X_GOOD)
    for bad in (np.ones((4, 3)), _nan, X_GOOD[:, 0]):
        for method in ("predict", "predict_proba", "score_samples"):
            assert raised(lambda: getattr(ours_model, method)(bad)) == raised(
                lambda: getattr(theirs_model, method)(bad)
            )


BAD_WEIGHTS = {
    "nan": (np.where(np.arange(300) == 5, np.nan, 1.0), "NaN"),
    "inf": (np.where(np.arange(300) == 5, np.inf, 1.0), "infinity"),
    "negative": (np.where(np.arange(300) == 5, -1.0, 1.0), "Negative values"),
    "all_zero": (np.zeros(300), "non-zero"),
    "short": (np.ones(299), "shape"),
    "2d": (np.ones((300, 2)), "1D"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_bad_sample_weight_raises(case):
    weights, expected = BAD_WEIGHTS[case]
    with pytest.raises(ValueError, match=expected):
        GaussianMixture(3).fit(X_GOOD, sample_weight=weights)


def test_magnitude_that_would_overflow_is_refused():
    with pytest.raises(ValueError, match="Rescale the data"):
        GaussianMixture(2).fit(X_GOOD * 1e160)


# ------------------------------------------------ failed calls change nothing


def fitted_state(model):
    return copy.deepcopy({k: v for k, v in vars(model).items()})


def assert_state_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize(
    "failing_fit",
    [
        lambda m: m.fit(_nan),
        lambda m: m.fit(X_GOOD.reshape(3, 100, 2)),
        lambda m: m.fit(X_GOOD[:2]),
        lambda m: m.fit(X_GOOD, sample_weight=-np.ones(300)),
        lambda m: m.set_params(reg_covar=0.0).fit(np.repeat(X_GOOD[:2], 5, axis=0)),
        lambda m: m.set_params(n_components=0).fit(X_GOOD),
        lambda m: m.set_params(means_init=np.zeros((3, 5))).fit(X_GOOD),
    ],
    ids=["nan", "3d", "too_few", "weights", "collapse", "bad_param", "bad_means"],
)
def test_failed_fit_leaves_fitted_model_unchanged(request, failing_fit):
    model = GaussianMixture(3, random_state=0).fit(X_GOOD)
    before = fitted_state(model)
    params_before = model.get_params()
    threads_before = numba.get_num_threads()
    if request.node.callspec.id == "collapse":
        # Two distinct points for three clusters: the k-means init warns, as
        # scikit-learn's does, before the singular covariance stops the fit.
        with pytest.warns(ConvergenceWarning, match="distinct clusters"), \
                pytest.raises(ValueError):
            failing_fit(model)
    else:
        with pytest.raises(ValueError):
            failing_fit(model)
    after = fitted_state(model)
    # set_params itself is the user's change; everything the fit owns is kept.
    for key in params_before:
        before.pop(key), after.pop(key)
    assert_state_equal(before, after)
    assert numba.get_num_threads() == threads_before
    model.set_params(**params_before)
    np.testing.assert_array_equal(model.predict(X_GOOD), GaussianMixture(3, random_state=0).fit_predict(X_GOOD))


def test_failed_set_params_then_fit():
    model = GaussianMixture(3, random_state=0).fit(X_GOOD)
    before = fitted_state(model)
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(n_component=4)
    assert_state_equal(before, fitted_state(model))
    model.fit(X_GOOD)
    assert_state_equal(before, fitted_state(model))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_never_modifies_its_inputs(dtype):
    X = X_GOOD.astype(dtype)
    weights = np.random.default_rng(0).uniform(0.5, 2, size=300)
    means_init = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    copies = [X.copy(), weights.copy(), means_init.copy()]
    model = GaussianMixture(3, means_init=means_init, random_state=0)
    model.fit(X, sample_weight=weights)
    for original, kept in zip((X, weights, means_init), copies):
        np.testing.assert_array_equal(original, kept)
    assert model.means_init is means_init


# ------------------------------------------------------------ degenerate data


def _degenerate_cases():
    rng = np.random.default_rng(0)
    return {
        "duplicates": (np.repeat(rng.normal(size=(5, 2)), 20, axis=0), 3),
        "constant_feature": (np.column_stack([rng.normal(size=200), np.full(200, 3.0)]), 3),
        "one_feature": (rng.normal(size=(200, 1)), 2),
        "one_component": (rng.normal(size=(200, 2)), 1),
        "n_samples_equals_n_components": (rng.normal(size=(3, 2)), 3),
        "tiny_separated": (
            np.vstack([rng.normal(size=(50, 2)) * 1e-9 + c for c in ([0, 0], [1, 1], [2, 0])]), 3
        ),
        "far_outlier": (np.vstack([rng.normal(size=(200, 2)), [[1e3, 1e3]]]), 3),
    }


DEGENERATE = _degenerate_cases()


def assert_finite_model(model, X):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_degenerate_data_fits_with_reg_covar(case, covariance_type):
    X, n_components = DEGENERATE[case]
    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    assert_finite_model(model, X)
    variances = np.asarray(model.covariances_)
    if covariance_type in ("full", "tied"):
        variances = np.diagonal(variances, axis1=-2, axis2=-1)
    assert np.all(variances >= model.reg_covar * (1 - 1e-9))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_degenerate_data_without_reg_covar_fits_or_raises_sklearn_error(case, covariance_type):
    X, n_components = DEGENERATE[case]
    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0, reg_covar=0.0)
    try:
        model.fit(X)
    except ValueError as error:
        assert str(error) == ESTIMATE_PRECISION_ERROR_MESSAGE
    else:
        assert_finite_model(model, X)


def test_one_component_is_the_sample_mean_and_covariance():
    X = np.random.default_rng(4).normal(size=(500, 3)) @ np.array([[2, 0, 0], [1, 1, 0], [0, 0.5, 3.0]])
    model = GaussianMixture(1, reg_covar=0.0).fit(X)
    np.testing.assert_allclose(model.means_[0], X.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.covariances_[0], np.cov(X.T, bias=True), rtol=1e-10)
    assert model.n_iter_ <= 2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_component_reinit_recovers_the_lost_cluster(covariance_type):
    X = blobs(n_per=300)
    means_init = np.array([[0.0, 0.0], [5.0, 5.0], [500.0, 500.0]])
    kwargs = dict(n_components=3, covariance_type=covariance_type, means_init=means_init, random_state=0)
    kept = GaussianMixture(**kwargs).fit(X)
    assert kept.weights_[2] < 1e-10  # the far component lost everything
    reinit = GaussianMixture(**kwargs, empty_component="reinit").fit(X)
    assert np.all(reinit.weights_ > 0.3)
    assert reinit.lower_bound_ > kept.lower_bound_
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    nearest = np.linalg.norm(reinit.means_[:, None] - centres[None], axis=2).min(axis=0)
    assert np.all(nearest < 0.3)


# -------------------------------------------------- floating-point edge cases


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_points_far_in_the_tails(covariance_type):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(blobs())
    far = np.array([[1e3, 1e3], [-1e3, 2e3], [1e3 * math.sqrt(2), 0.0]])
    proba = model.predict_proba(far)
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    scores = model.score_samples(far)
    assert np.all(np.isfinite(scores)) and np.all(scores < -1e4)


@pytest.mark.parametrize("scale", [1e150, 1e-150])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_extreme_feature_scales_fit_the_scaled_model(scale, covariance_type):
    X = blobs(seed=2)
    kwargs = dict(n_components=3, covariance_type=covariance_type, reg_covar=0.0, tol=1e-10,
                  random_state=0, means_init=np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]]))
    unit = GaussianMixture(**kwargs).fit(X)
    kwargs["means_init"] = kwargs["means_init"] * scale
    scaled = GaussianMixture(**kwargs).fit(X * scale)
    np.testing.assert_allclose(scaled.means_ / scale, unit.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scaled.covariances_ / scale**2, unit.covariances_, rtol=1e-9)
    np.testing.assert_array_equal(scaled.predict(X * scale), unit.predict(X))


def test_sums_over_1e8_points_match_compensated_sums():
    """N_k, sum of weights and the log-likelihood over 100,000,000 points agree
    with math.fsum of the per-point values to 1e-12 relative."""
    n_samples = 100_000_000
    rng = np.random.default_rng(8)
    X = rng.standard_normal(size=(n_samples, 1))
    X[: n_samples // 3] += 3.0
    weights = np.array([0.4, 0.6])
    means = np.array([[0.0], [3.0]])
    chol = np.array([[[1.0]], [[0.8]]])
    nk, _, _, _, log_likelihood, total = kernels.estep_statistics(X, None, "full", weights, means, chol)
    exact_nk = [[], []]
    exact_ll = []
    step = 2_000_000
    for start in range(0, n_samples, step):
        resp, log_norm, _ = kernels.estimate(X[start:start + step], "full", weights, means, chol,
                                             resp=True, log_norm=True)
        exact_ll.append(math.fsum(log_norm.tolist()))
        for k in range(2):
            exact_nk[k].append(math.fsum(resp[:, k].tolist()))
    assert total == n_samples
    np.testing.assert_allclose(log_likelihood, math.fsum(exact_ll), rtol=1e-12)
    np.testing.assert_allclose(nk, [math.fsum(v) for v in exact_nk], rtol=1e-12)
