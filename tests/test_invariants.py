"""EM invariants, checked directly as scikit-learn's test_monotonic_likelihood does.

* the mean log-likelihood never decreases from one EM step to the next;
* responsibilities sum to one and predict is their argmax;
* fit_predict(X) equals fit(X).predict(X) for any random_state, max_iter, tol;
* score is the mean of score_samples, and score_samples is the mixture
  log-density of ``scipy.stats.multivariate_normal`` (the independent oracle).
"""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture

from .conftest import full_covariances, make_mixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
N_COMPONENTS = 4


@pytest.fixture(scope="module")
def X():
    return make_mixture(0)


@pytest.fixture(scope="module")
def X_test():
    return make_mixture(1, n_samples=250)


def model_covariances(model):
    """Each component's (d, d) covariance, whatever the covariance type."""
    return full_covariances(model.covariance_type, model.covariances_, *model.means_.shape)


def scipy_log_density(model, X):
    """log sum_k w_k N(x | mu_k, Sigma_k), component densities from scipy."""
    component_logpdf = np.column_stack([
        multivariate_normal(mean=mean, cov=cov).logpdf(X)
        for mean, cov in zip(model.means_, model_covariances(model))
    ])
    return logsumexp(component_logpdf + np.log(model.weights_), axis=1)


# ------------------------------------------------------------ monotonicity


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_likelihood_never_decreases(X, covariance_type, init_params):
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, init_params=init_params,
        warm_start=True, max_iter=1, tol=0.0, random_state=5, reg_covar=0.0,
    )
    lower_bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(60):
            model.fit(X)
            lower_bounds.append(model.lower_bound_)
    lower_bounds = np.array(lower_bounds)
    steps = np.diff(lower_bounds)
    assert np.all(steps >= -1e-12), (steps.min(), np.argmin(steps))
    # The fit did move: the invariant is not checked on a fixed point only.
    assert lower_bounds[-1] - lower_bounds[0] > 1e-3
    # Each warm-started fit records exactly its one step.
    assert model.lower_bounds_ == [model.lower_bound_]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bounds_history_never_decreases(X, covariance_type):
    # The same invariant within one fit, on lower_bounds_.
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, init_params="random",
        random_state=1, tol=1e-10, max_iter=500,
    ).fit(X)
    history = np.array(model.lower_bounds_)
    assert len(history) == model.n_iter_ > 5
    assert np.all(np.diff(history) >= -1e-12)
    assert history[-1] == model.lower_bound_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_is_mean_log_likelihood_of_previous_step(X, covariance_type):
    # scikit-learn's lower bound of an iteration is the mean log-likelihood of
    # the parameters it started from: after one warm step, it equals the score
    # of the model before that step.
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, warm_start=True,
        max_iter=1, random_state=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
        for _ in range(5):
            before = scipy_log_density(model, X).mean()
            model.fit(X)
            assert model.lower_bound_ == pytest.approx(before, rel=1e-10, abs=0)


# ------------------------------------------------------ responsibilities


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_responsibilities_sum_to_one_and_predict_is_argmax(X, X_test, covariance_type, dtype):
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0
    ).fit(X.astype(dtype))
    atol = 1e-12 if dtype == np.float64 else 10 * float(np.finfo(np.float32).eps)
    for data in (X.astype(dtype), X_test.astype(dtype)):
        resp = model.predict_proba(data)
        assert resp.shape == (data.shape[0], N_COMPONENTS)
        assert resp.dtype == dtype
        assert np.all(resp >= 0) and np.all(resp <= 1)
        np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=atol)
        labels = model.predict(data)
        # Ties in float32 are possible in principle; none occur here.
        np.testing.assert_array_equal(labels, np.argmax(resp, axis=1))


# ------------------------------------------------------ fit_predict


@pytest.mark.parametrize(
    "max_iter, tol",
    [(1, 1e-3), (1, 1e10), (2, 1e-3), (5, 0.0), (100, 1e-3), (100, 1e10), (300, 1e-8)],
)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(X, covariance_type, max_iter, tol):
    # Each init twice, each time with its own random_state (0..7).
    for random_state, init_params in enumerate(INIT_PARAMS + INIT_PARAMS[::-1]):
        kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type,
                      init_params=init_params, random_state=random_state,
                      max_iter=max_iter, tol=tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            labels = GaussianMixture(**kwargs).fit_predict(X)
            fitted = GaussianMixture(**kwargs).fit(X)
        np.testing.assert_array_equal(labels, fitted.predict(X))


def test_fit_predict_equals_fit_then_predict_with_n_init_and_warm_start(X):
    kwargs = dict(n_components=N_COMPONENTS, n_init=3, random_state=4, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = GaussianMixture(**kwargs).fit_predict(X)
        fitted = GaussianMixture(**kwargs).fit(X)
        np.testing.assert_array_equal(labels, fitted.predict(X))
        warm = GaussianMixture(warm_start=True, **kwargs)
        warm.fit(X)
        np.testing.assert_array_equal(warm.fit_predict(X), warm.predict(X))


# ------------------------------------------------------ densities


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_equals_scipy_mixture_density(X, X_test, covariance_type, dtype):
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0, tol=1e-6,
        max_iter=1000,
    ).fit(X.astype(dtype))
    # float64 parameters and data: 1e-10; float32: the outputs are float32.
    rtol = 1e-10 if dtype == np.float64 else 10 * float(np.finfo(np.float32).eps)
    for data in (X.astype(dtype), X_test.astype(dtype)):
        expected = scipy_log_density(model, data.astype(np.float64))
        log_density = model.score_samples(data)
        assert log_density.dtype == dtype
        np.testing.assert_allclose(log_density, expected, rtol=rtol, atol=0)
        assert model.score(data) == pytest.approx(np.mean(log_density), rel=1e-12, abs=0)
        assert model.score(data) == pytest.approx(expected.mean(), rel=rtol, abs=0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predict_proba_equals_scipy_posterior(X_test, X, covariance_type):
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0
    ).fit(X)
    component_logpdf = np.column_stack([
        multivariate_normal(mean=mean, cov=cov).logpdf(X_test)
        for mean, cov in zip(model.means_, model_covariances(model))
    ]) + np.log(model.weights_)
    log_resp = component_logpdf - logsumexp(component_logpdf, axis=1, keepdims=True)
    resp = model.predict_proba(X_test)
    # Absolute on probabilities: relative error of exp(log r) is the absolute
    # error of log r, which grows with |log r|.
    np.testing.assert_allclose(resp, np.exp(log_resp), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_is_mean_of_score_samples_on_far_points(X, covariance_type):
    # Points far from every component: log-densities of order -1e6 must not
    # underflow to -inf, and the responsibilities still sum to one.
    model = GaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0
    ).fit(X)
    far = np.random.default_rng(3).normal(scale=1e3, size=(50, X.shape[1]))
    log_density = model.score_samples(far)
    assert np.all(np.isfinite(log_density))
    np.testing.assert_allclose(log_density, scipy_log_density(model, far), rtol=1e-10, atol=0)
    assert model.score(far) == pytest.approx(log_density.mean(), rel=1e-12, abs=0)
    np.testing.assert_allclose(model.predict_proba(far).sum(axis=1), 1.0, rtol=0, atol=1e-12)
