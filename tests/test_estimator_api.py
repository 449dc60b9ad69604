"""fastgmm.GaussianMixture as a scikit-learn estimator.

scikit-learn is the oracle: its estimator checks, its own GaussianMixture's
constructor signature, error messages, Pipeline and GridSearchCV results, and
``patch_sklearn`` swapping the class in ``sklearn.mixture``.
"""

import inspect
import re
import warnings

import numpy as np
import pytest
import sklearn.mixture
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import fastgmm
from fastgmm import GaussianMixture
from fastgmm.patch import is_patched

N_COMPONENTS = 3


def make_mixture(seed, n_samples=300, n_features=3, n_clusters=N_COMPONENTS):
    """Overlapping Gaussian clusters on features of very different scales."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_clusters, n_features))
    labels = rng.integers(n_clusters, size=n_samples)
    X = centers[labels] + rng.normal(size=(n_samples, n_features))
    return X * np.array([1.0, 100.0, 0.01])[:n_features] + np.array([5.0, -300.0, 0.2])[:n_features]


@pytest.fixture(scope="module")
def X():
    return make_mixture(0)


@pytest.fixture
def restore_sklearn():
    """Whatever a test does, leave sklearn.mixture with its own class."""
    original = sklearn.mixture.GaussianMixture
    assert original is SkGaussianMixture
    try:
        yield original
    finally:
        fastgmm.unpatch_sklearn()
        sklearn.mixture.GaussianMixture = original


# ---------------------------------------------------------------- checks


def test_check_estimator_passes():
    # scikit-learn's PER_ESTIMATOR_XFAIL_CHECKS for its own GaussianMixture
    # only lists check_array_api_mixed_inputs, which is not run without
    # SCIPY_ARRAY_API; nothing is expected to fail here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(GaussianMixture(), on_fail=None, on_skip=None)
    failed = [
        f"{result['check_name']}: {result['exception']!r}"
        for result in results
        if result["status"] == "failed"
    ]
    assert not failed, "\n".join(failed)
    passed = [result["check_name"] for result in results if result["status"] == "passed"]
    # The sample-weight checks run because fit accepts sample_weight.
    for name in ("check_sample_weight_equivalence_on_dense_data",
                 "check_all_zero_sample_weights_error", "check_fit_idempotent",
                 "check_methods_subset_invariance", "check_estimators_pickle"):
        assert name in passed
    # Anything skipped was skipped by scikit-learn for a missing optional
    # dependency (pandas, array-API setup), never by us.
    for result in results:
        if result["status"] == "skipped":
            assert re.search(r"pandas|array_api|SCIPY_ARRAY_API", str(result["exception"]))


def test_constructor_has_sklearn_parameters_and_defaults():
    # Every scikit-learn parameter, in the same order, of the same kind, with
    # the same default.
    ours = inspect.signature(GaussianMixture.__init__).parameters
    theirs = inspect.signature(SkGaussianMixture.__init__).parameters
    assert [name for name in ours if name in theirs] == list(theirs)
    for name in theirs:
        assert ours[name].kind == theirs[name].kind, name
        assert ours[name].default == theirs[name].default, name
    defaults = GaussianMixture().get_params()
    sklearn_defaults = SkGaussianMixture().get_params()
    assert {key: defaults[key] for key in sklearn_defaults} == sklearn_defaults
    constraints = GaussianMixture._parameter_constraints
    assert constraints.keys() >= SkGaussianMixture._parameter_constraints.keys()


def test_only_extra_parameter_is_empty_component():
    # The one deliberate addition to scikit-learn's signature, last and keyword-only.
    ours = list(inspect.signature(GaussianMixture.__init__).parameters)
    theirs = list(inspect.signature(SkGaussianMixture.__init__).parameters)
    assert ours == theirs + ["empty_component"]
    assert GaussianMixture().get_params()["empty_component"] == "keep"


def test_clone_get_params_set_params_round_trip(X):
    params = dict(
        n_components=2, covariance_type="diag", tol=1e-5, reg_covar=1e-4, max_iter=50,
        n_init=2, init_params="k-means++", weights_init=np.array([0.3, 0.7]),
        means_init=X[:2].copy(), precisions_init=None, random_state=7, warm_start=True,
        verbose=0, verbose_interval=5,
    )
    model = GaussianMixture(**params)
    got = model.get_params()
    assert got.keys() >= params.keys()
    for key, value in params.items():
        assert got[key] is value, key  # stored unchanged, not copied or converted

    cloned = clone(model)
    assert cloned is not model
    assert type(cloned) is GaussianMixture
    for key, value in cloned.get_params().items():
        np.testing.assert_array_equal(value, got[key], err_msg=key)

    assert model.set_params(n_components=3, covariance_type="tied", weights_init=None) is model
    assert model.n_components == 3 and model.covariance_type == "tied"
    assert model.get_params()["weights_init"] is None

    # A fitted model's clone is unfitted and fits to the same model.
    fitted = GaussianMixture(n_components=2, random_state=0).fit(X)
    refit = clone(fitted)
    assert not hasattr(refit, "means_")
    refit.fit(X)
    np.testing.assert_array_equal(refit.means_, fitted.means_)


def test_fit_does_not_modify_parameters(X):
    weights_init = np.array([0.2, 0.3, 0.5])
    model = GaussianMixture(n_components=3, weights_init=weights_init, random_state=np.int64(0))
    before = {key: value for key, value in model.get_params().items()}
    model.fit(X)
    after = model.get_params()
    for key in before:
        assert after[key] is before[key], key
    np.testing.assert_array_equal(weights_init, [0.2, 0.3, 0.5])


# --------------------------------------------------------- error parity


def _sklearn_error(make, X):
    with pytest.raises(Exception) as info:
        make(SkGaussianMixture).fit(X)
    return info.type, str(info.value)


def _sorted_sets(message):
    """Messages list StrOptions as a set literal, in hash order: sort them."""
    def sort(match):
        return "{" + ", ".join(sorted(match.group(1).split(", "))) + "}"

    return re.sub(r"\{([^{}]*)\}", sort, message)


@pytest.mark.parametrize(
    "make",
    [
        lambda cls: cls(n_components=0),
        lambda cls: cls(covariance_type="banana"),
        lambda cls: cls(init_params="banana"),
        lambda cls: cls(tol=-1.0),
        lambda cls: cls(max_iter=-1),
        lambda cls: cls(n_init=0),
        lambda cls: cls(n_components=400),
        lambda cls: cls(n_components=2, weights_init=[0.5, 0.6]),
        lambda cls: cls(n_components=2, weights_init=[0.2, 0.3, 0.5]),
        lambda cls: cls(n_components=2, weights_init=[-0.5, 1.5]),
        lambda cls: cls(n_components=2, means_init=np.zeros((2, 5))),
        lambda cls: cls(n_components=2, covariance_type="spherical", precisions_init=[1.0, -1.0]),
        lambda cls: cls(n_components=2, covariance_type="diag", precisions_init=np.ones((2, 2))),
        lambda cls: cls(n_components=1, precisions_init=-np.eye(3)[None]),
        lambda cls: cls(n_components=1, covariance_type="tied", precisions_init=np.ones((3, 3))),
    ],
    ids=[
        "n_components", "covariance_type", "init_params", "tol", "max_iter", "n_init",
        "too-many-components", "weights-not-normalised", "weights-shape", "weights-range",
        "means-shape", "spherical-precision", "diag-precision-shape", "full-precision",
        "tied-precision",
    ],
)
def test_errors_match_sklearn(X, make):
    error_type, message = _sklearn_error(make, X)
    with pytest.raises(error_type) as info:
        make(GaussianMixture).fit(X)
    assert info.type is error_type
    assert _sorted_sets(str(info.value)) == _sorted_sets(message)


def test_inference_errors_match_sklearn(X):
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(NotFittedError):
            getattr(GaussianMixture(), method)(X)
    with pytest.raises(NotFittedError):
        GaussianMixture().sample(3)
    fast = GaussianMixture(n_components=2, random_state=0).fit(X)
    sk = SkGaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError) as expected:
        sk.predict(X[:, :2])
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        fast.predict(X[:, :2])


# ------------------------------------------------------ meta-estimators


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_pipeline_with_standard_scaler_matches_sklearn(X, covariance_type):
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0,
                  tol=1e-6, max_iter=1000)
    ours = make_pipeline(StandardScaler(), GaussianMixture(**kwargs)).fit(X)
    theirs = make_pipeline(StandardScaler(), SkGaussianMixture(**kwargs)).fit(X)
    X_new = make_mixture(1, n_samples=100)
    np.testing.assert_array_equal(ours.predict(X_new), theirs.predict(X_new))
    np.testing.assert_allclose(ours.score_samples(X_new), theirs.score_samples(X_new),
                               rtol=1e-10, atol=0)
    np.testing.assert_allclose(ours.predict_proba(X_new), theirs.predict_proba(X_new),
                               rtol=1e-8, atol=1e-12)
    assert ours.score(X_new) == pytest.approx(theirs.score(X_new), rel=1e-10, abs=0)
    np.testing.assert_array_equal(ours.fit_predict(X), theirs.fit_predict(X))


def test_grid_search_matches_sklearn(X):
    # n_components=1 is left out: its full and tied models are the same
    # model, so their scores tie and their ranks depend on rounding.
    grid = dict(n_components=[2, 3, 4], covariance_type=["full", "tied", "diag", "spherical"])
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    kwargs = dict(random_state=0)
    ours = GridSearchCV(GaussianMixture(**kwargs), grid, cv=cv).fit(X)
    theirs = GridSearchCV(SkGaussianMixture(**kwargs), grid, cv=cv).fit(X)
    scores = np.sort(theirs.cv_results_["mean_test_score"])
    assert np.min(np.diff(scores)) > 1e-9, "tied scores: ranks would depend on rounding"
    assert ours.best_params_ == theirs.best_params_
    assert [p for p in ours.cv_results_["params"]] == [p for p in theirs.cv_results_["params"]]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key],
                                   rtol=1e-10, atol=0, err_msg=key)
    np.testing.assert_array_equal(ours.cv_results_["rank_test_score"],
                                  theirs.cv_results_["rank_test_score"])
    assert isinstance(ours.best_estimator_, GaussianMixture)
    assert ours.best_estimator_.converged_
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10, abs=0)


# ------------------------------------------------------------- patching


def test_patch_and_unpatch_calls(restore_sklearn):
    assert not is_patched()
    fastgmm.patch_sklearn()
    from sklearn.mixture import GaussianMixture as Patched

    assert Patched is fastgmm.GaussianMixture
    assert sklearn.mixture.GaussianMixture is fastgmm.GaussianMixture
    assert is_patched()
    fastgmm.unpatch_sklearn()
    from sklearn.mixture import GaussianMixture as Restored

    assert Restored is restore_sklearn
    assert not is_patched()
    # Unpatching twice is harmless.
    fastgmm.unpatch_sklearn()
    assert sklearn.mixture.GaussianMixture is restore_sklearn


def test_patch_as_context_manager(X, restore_sklearn):
    with fastgmm.patch_sklearn():
        from sklearn.mixture import GaussianMixture as Patched

        assert Patched is fastgmm.GaussianMixture
        labels = Patched(n_components=2, random_state=0).fit_predict(X)
    from sklearn.mixture import GaussianMixture as Restored

    assert Restored is restore_sklearn
    np.testing.assert_array_equal(
        labels, Restored(n_components=2, random_state=0).fit_predict(X)
    )


def test_context_manager_unpatches_on_error(restore_sklearn):
    with pytest.raises(RuntimeError, match="boom"):
        with fastgmm.patch_sklearn():
            assert sklearn.mixture.GaussianMixture is fastgmm.GaussianMixture
            raise RuntimeError("boom")
    assert sklearn.mixture.GaussianMixture is restore_sklearn
