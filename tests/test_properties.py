"""Property-based tests (hypothesis) of the kernels and of EM's invariants.

Every example is a small problem: 1..60 points, 1..5 features, 1..4 components,
float32 or float64, with or without sample weights (some of them zero),
feature scales from 1e-3 to 1e3 and offsets up to 1e4. Hypothesis draws only
the shape and a seed; ``np.random.default_rng(seed)`` makes the arrays, so the
search space stays small and a failure prints a short, replayable ``Draw``.

The default profile runs a few dozen examples per property and covariance
type; the ``slow`` variants (``pytest -m slow``) run the big profile.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture, kernels, reference
from fastgmm._config import numba_threads
from fastgmm.mstep import ESTIMATE_PRECISION_ERROR_MESSAGE, _estimate_gaussian_parameters
from fastgmm.stats import SuffStats

from .conftest import COVARIANCE_TYPES, random_parameters

# Derandomized, so CI replays the same examples every run; no example
# database, so nothing is written into the checkout.
settings.register_profile(
    "fastgmm-properties",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fastgmm-properties-slow",
    parent=settings.get_profile("fastgmm-properties"),
    max_examples=500,
)
FAST = settings.get_profile("fastgmm-properties")
SLOW = settings.get_profile("fastgmm-properties-slow")

# Relative tolerance of a result with respect to the magnitude of the quantity.
RTOL = {np.float64: 1e-9, np.float32: 1e-3}
# float64 machine epsilon: the kernels and the reference both compute in
# float64, so rounding of large intermediates is bounded in these units.
U64 = np.finfo(np.float64).eps


@pytest.fixture(scope="module", autouse=True)
def one_numba_thread():
    """Up to 60 points are one lane and one block, so one thread does all the
    work whatever the thread count; waking more only adds latency (ms per
    kernel call on a busy machine). test_threads.py covers the thread count."""
    with numba_threads(1):
        yield


@pytest.fixture(scope="module", autouse=True)
def warm_read_only_signatures():
    """Compile, before any example runs, the kernel signatures that conftest
    does not warm: with one component, prepare_tied's centre and the init's
    shift are read-only views, and numba specialises on that."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(8, 2)).astype(dtype)
        model = GaussianMixture(1, covariance_type="tied", init_params="random", max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X).predict_proba(X)


###############################################################################
# Problems


@dataclass(frozen=True)
class Draw:
    """One drawn problem; ``data()`` rebuilds its arrays from the seed."""

    seed: int
    n_samples: int
    n_features: int
    n_components: int
    dtype: type
    weighted: bool
    log_scale: int
    anisotropic: bool
    offset_exponent: object  # None or the power of ten of the offset
    dead_component: bool  # give the last component zero mixture weight (K >= 2)
    weight_sum: float = 1.0  # the one-hot inits start from weights summing to K / W

    def scales(self):
        """Per-feature scales s_j, in [1e-3, 1e3]."""
        rng = np.random.default_rng([self.seed, 1])
        exponents = np.full(self.n_features, float(self.log_scale))
        if self.anisotropic:
            exponents += rng.uniform(-1.0, 1.0, size=self.n_features)
        return 10.0 ** np.clip(exponents, -3.0, 3.0)

    def data(self):
        """X (in ``dtype``), sample weights (or None) and the true labels."""
        rng = np.random.default_rng([self.seed, 2])
        n, d, k = self.n_samples, self.n_features, self.n_components
        weights, means, covariances, _ = random_parameters(rng, "full", k, d)
        labels = rng.choice(k, size=n, p=weights)
        factors = np.linalg.cholesky(covariances)
        unit = means[labels] + np.einsum("nij,nj->ni", factors[labels], rng.normal(size=(n, d)))
        offset = np.zeros(d)
        if self.offset_exponent is not None:
            offset = rng.choice([-1.0, 1.0], size=d) * 10.0**self.offset_exponent * rng.uniform(
                0.5, 1.0, size=d
            )
        X = np.ascontiguousarray((unit * self.scales() + offset).astype(self.dtype))
        sample_weight = None
        if self.weighted:
            sample_weight = rng.uniform(0.0, 3.0, size=n)
            sample_weight[rng.uniform(size=n) < 0.25] = 0.0
            if not sample_weight.sum() > 0:
                sample_weight[rng.integers(n)] = 1.0
        return X, sample_weight, labels

    def reg_covar(self):
        """A small fraction of the largest variance. Bigger for float32: the
        fitted attributes are stored in float32, and rounding a precision
        factor of condition number c moves the log-likelihood by ~eps32 * c."""
        fraction = 1e-6 if self.dtype == np.float64 else 1e-4
        return fraction * float(self.scales().max()) ** 2

    def parameters(self, covariance_type):
        """Mixture parameters fitted to the data by one reference M-step on
        blurred true labels, so that responsibilities are neither all 0/1
        nor all equal. With ``dead_component``, the last weight is 0."""
        X, _, labels = self.data()
        rng = np.random.default_rng([self.seed, 3])
        k = self.n_components
        resp = 0.7 * np.eye(k)[labels] + 0.3 * rng.dirichlet(np.ones(k), size=self.n_samples)
        nk, means, covariances = reference.estimate_gaussian_parameters(
            X, resp, self.reg_covar(), covariance_type
        )
        weights = nk / nk.sum()
        if self.dead_component and k >= 2:
            weights[-1] = 0.0
            weights /= weights.sum()
        weights *= self.weight_sum
        chol = reference.compute_precision_cholesky(covariances, covariance_type)
        return weights, means, chol


@st.composite
def draws(draw, min_samples=1, float32_offset_ratio=None):
    """Problems; ``float32_offset_ratio`` caps |offset| / (smallest scale) for
    float32, whose spacing near the offset must stay far below the scale."""
    n_components = draw(st.integers(1, 4))
    n_features = draw(st.integers(1, 5))
    n_samples = draw(st.integers(max(n_components, min_samples), 60))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    log_scale = draw(st.integers(-3, 3))
    anisotropic = draw(st.booleans())
    offsets = [None, 0, 2, 4]
    if dtype == np.float32 and float32_offset_ratio is not None:
        smallest = max(log_scale - (1 if anisotropic else 0), -3)
        largest = smallest + math.log10(float32_offset_ratio)
        offsets = [e for e in offsets if e is None or e <= largest]
    return Draw(
        seed=draw(st.integers(0, 2**32 - 1)),
        n_samples=n_samples,
        n_features=n_features,
        n_components=n_components,
        dtype=dtype,
        weighted=draw(st.booleans()),
        log_scale=log_scale,
        anisotropic=anisotropic,
        offset_exponent=draw(st.sampled_from(offsets)),
        dead_component=draw(st.booleans()),
    )


###############################################################################
# (a) The statistics kernel against the reference


def shifted_convention(ref_nk, ref_means, ref_cov, shift, eps, covariance_type):
    """The reference's parameters in fastgmm's convention, docs/derivation.md §4.3.

    Both divide by N_k + 10 eps, but the reference's 10 eps pulls the mean
    towards the origin and fastgmm's towards the centre c_k of the sums:
    mu = mu_ref + e_k and Sigma = Sigma_ref - e_k e_k^T + f_k a_k a_k^T with
    f_k = 10 eps / Nbar_k, e_k = f_k c_k, a_k = mu_ref_k - c_k (exact
    algebra; the gap is large only for near-empty components or float32 data
    far from the origin).

    Returns
    -------
    means, covariances : the expected fastgmm values
    magnitude : ndarray of shape (K, d, d)
        Size of the cancelling terms, to bound their float64 rounding.
    """
    f = 10 * eps / ref_nk
    e = f[:, None] * shift
    a = ref_means - shift
    gap = e[:, :, None] * e[:, None, :] - f[:, None, None] * a[:, :, None] * a[:, None, :]
    magnitude = np.abs(e[:, :, None] * e[:, None, :]) + f[:, None, None] * np.abs(
        a[:, :, None] * a[:, None, :]
    )
    if covariance_type == "full":
        covariances = ref_cov - gap
    elif covariance_type == "tied":
        covariances = ref_cov - np.tensordot(ref_nk, gap, axes=1) / ref_nk.sum()
        magnitude = np.broadcast_to(
            np.tensordot(ref_nk, magnitude, axes=1) / ref_nk.sum(), magnitude.shape
        )
    elif covariance_type == "diag":
        covariances = ref_cov - np.diagonal(gap, axis1=1, axis2=2)
    else:
        covariances = ref_cov - np.diagonal(gap, axis1=1, axis2=2).mean(axis=1)
    return ref_means + e, covariances, magnitude


def second_moment_bound(X, centres):
    """max_n |x_ni - c_ki| |x_nj - c_kj|, shape (K, d, d)."""
    spread = np.abs(X[None, :, :] - centres[:, None, :]).max(axis=1)
    return spread[:, :, None] * spread[:, None, :]


def as_layout(matrices, covariance_type):
    """A (K, d, d) stack of bounds in the covariance type's layout."""
    if covariance_type == "full":
        return matrices
    if covariance_type == "tied":
        return matrices.max(axis=0)
    diagonal = np.diagonal(matrices, axis1=1, axis2=2)
    return diagonal if covariance_type == "diag" else diagonal.max(axis=1)


def check_statistics_match_reference(covariance_type, case):
    """estep_statistics -> SuffStats -> M-step equals reference.e_step +
    reference.estimate_gaussian_parameters, with the same weights and eps."""
    X, sample_weight, _ = case.data()
    weights, means, chol = case.parameters(covariance_type)
    rtol = RTOL[case.dtype]
    eps = np.finfo(case.dtype).eps
    reg_covar = case.reg_covar()
    s = case.scales()
    X64 = X.astype(np.float64)

    stats = SuffStats.from_kernel(
        covariance_type,
        kernels.estep_statistics(X, sample_weight, covariance_type, weights, means, chol),
    )
    log_prob_norm, log_resp = reference.e_step(X, weights, means, chol, covariance_type)
    unit = np.ones(case.n_samples) if sample_weight is None else sample_weight
    total = unit.sum()
    np.testing.assert_allclose(stats.weight, total, rtol=1e-13)
    kept = unit > 0  # zero-weight points are left out of the sum, even if log p = -inf
    ref_ll = np.sum(unit[kept] * log_prob_norm[kept])
    ll_atol = rtol * (np.sum(unit * np.abs(log_prob_norm)) + total)
    assert abs(stats.log_likelihood - ref_ll) <= ll_atol

    nk, got_means, got_cov = _estimate_gaussian_parameters(stats, reg_covar, eps)
    ref_nk, ref_means, ref_cov = reference.estimate_gaussian_parameters(
        X, np.exp(log_resp), reg_covar, covariance_type, sample_weight, eps
    )
    np.testing.assert_allclose(nk, ref_nk, rtol=rtol, atol=rtol * total)
    if case.dead_component and case.n_components >= 2:
        assert stats.nk[-1] == 0.0

    want_means, want_cov, gap_size = shifted_convention(
        ref_nk, ref_means, ref_cov, stats.shift, eps, covariance_type
    )
    # Means: in units of the feature's scale, plus the float64 rounding of
    # numbers as large as the data (offset data: 1e4 is known to ~1e-12 only).
    mean_atol = rtol * s + 16 * U64 * (np.abs(X64).max(axis=0) + np.abs(stats.shift))
    assert np.all(np.abs(got_means - want_means) <= mean_atol), (got_means, want_means)
    # Covariances: entry (i, j) in units of s_i s_j, plus rounding: of the
    # second moments about the centres the parameters imply (the means; tied:
    # their weighted average) and about the reference's means, of the gap
    # terms, and of the reference's mean (eps64 |x|) times its pull f_k |x|
    # towards the origin.
    unit_cov = as_layout(np.broadcast_to(s[:, None] * s[None, :], gap_size.shape), covariance_type)
    centres = means
    if covariance_type == "tied":
        centres = np.broadcast_to(weights @ means / weights.sum(), means.shape)
    largest = np.abs(X64).max(axis=0)
    pull = (10 * eps / ref_nk)[:, None, None] * (largest[:, None] * largest[None, :])
    rounding = as_layout(
        second_moment_bound(X64, centres) + second_moment_bound(X64, ref_means) + gap_size + pull,
        covariance_type,
    )
    cov_atol = rtol * unit_cov + 64 * U64 * rounding
    assert np.all(np.abs(got_cov - want_cov) <= cov_atol), (got_cov, want_cov)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@FAST
@given(case=draws())
def test_statistics_match_reference(covariance_type, case):
    check_statistics_match_reference(covariance_type, case)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@SLOW
@given(case=draws())
def test_statistics_match_reference_slow(covariance_type, case):
    check_statistics_match_reference(covariance_type, case)


###############################################################################
# (b) Responsibilities are a probability distribution over components


def check_responsibilities_sum_to_one(covariance_type, case):
    """kernels.estimate(resp=True): rows in [0, 1] summing to 1, as the reference."""
    X, _, _ = case.data()
    weights, means, chol = case.parameters(covariance_type)
    resp, log_norm, labels = kernels.estimate(
        X, covariance_type, weights, means, chol,
        resp=True, log_norm=False, labels=False, out_dtype=case.dtype,
    )
    assert log_norm is None and labels is None
    assert resp.shape == (case.n_samples, case.n_components) and resp.dtype == case.dtype
    assert np.all(np.isfinite(resp))
    assert np.all((resp >= 0) & (resp <= 1))
    # Each entry is rounded once to the output dtype; float64 sums add K ulps.
    sums = resp.astype(np.float64).sum(axis=1)
    assert np.max(np.abs(sums - 1.0)) <= 4 * case.n_components * np.finfo(case.dtype).eps
    if case.dead_component and case.n_components >= 2:
        assert np.all(resp[:, -1] == 0)
    _, log_resp = reference.e_step(X, weights, means, chol, covariance_type)
    np.testing.assert_allclose(resp, np.exp(log_resp), rtol=0, atol=RTOL[case.dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@FAST
@given(case=draws())
def test_responsibilities_sum_to_one(covariance_type, case):
    check_responsibilities_sum_to_one(covariance_type, case)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@SLOW
@given(case=draws())
def test_responsibilities_sum_to_one_slow(covariance_type, case):
    check_responsibilities_sum_to_one(covariance_type, case)


###############################################################################
# (c) EM never lowers the mean log-likelihood, (d) predict = argmax predict_proba


INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def fit_or_assume(model, X, sample_weight):
    """Fit, or discard the example if its covariance is ill-defined.

    Only scikit-learn's "ill-defined empirical covariance" error is
    tolerated: collapsed draws, float32 data that cannot resolve its scale,
    and the tied one-hot inits, whose covariance is taken about the origin
    as scikit-learn does (docs/derivation.md §5.3). Any other exception
    fails the test.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, sample_weight=sample_weight)
    except ValueError as error:
        if not str(error).startswith(ESTIMATE_PRECISION_ERROR_MESSAGE):
            raise
        assume(False)
    return model


def assume_enough_weighted_points(sample_weight, n_components):
    """The estimator refuses fewer positive weights than components (see
    test_init_with_fewer_weighted_points_than_components); such draws are
    left out of the fit properties."""
    if sample_weight is not None:
        assume(np.count_nonzero(sample_weight) >= n_components)


@dataclass(frozen=True)
class Snapshot:
    """A fitted model's parameters in float64: weights (K,), means (K, d),
    and precisions as (K, d, d) matrices whatever the covariance type."""

    weights: np.ndarray
    means: np.ndarray
    precisions: np.ndarray

    @classmethod
    def of(cls, model):
        n_components, n_features = model.means_.shape
        precisions = np.asarray(model.precisions_, dtype=np.float64)
        if model.covariance_type == "tied":
            precisions = np.broadcast_to(precisions, (n_components, n_features, n_features))
        elif model.covariance_type == "diag":
            precisions = precisions[:, :, None] * np.eye(n_features)
        elif model.covariance_type == "spherical":
            precisions = precisions[:, None, None] * np.eye(n_features)
        return cls(
            np.asarray(model.weights_, dtype=np.float64),
            np.asarray(model.means_, dtype=np.float64),
            precisions,
        )


def allowed_change(covariance_type, before, after, reg_covar, eps, total_weight):
    """Lower bound on LL(after) - LL(before) when ``after`` is the M-step that
    follows the E-step of ``before`` (mean log-likelihood units, <= 0).

    EM's guarantee LL(after) >= LL(before) holds for an exact maximiser of Q.
    Two documented departures loosen it:

    1. reg_covar = lam > 0. The M-step maximises Q minus the penalty
       lam/2 sum_k N_k tr(Lambda_k) (its covariance S_k/N_k + lam I is that
       maximiser), so EM only guarantees LL(after) - LL(before) >=
       lam/2 sum_k pi_k(after) (tr Lambda_k(after) - tr Lambda_k(before)).
    2. N_k + 10 eps (docs/derivation.md §4.3). With f_k = 10 eps / N_k and
       delta_k = mu_k(after) - c_k the step from the centre of the sums (the
       old mean; for tied, one centre for all), the mean moves by -f_k delta_k
       and the covariance by f_k (delta_k delta_k^T - S_k/N_k) (tied: one
       shared covariance that gains 10 eps / W sum_k delta_k delta_k^T). Near
       the maximiser that costs at most about pi_k (f_k (m_k + d))^2, with
       m_k = delta_k^T Lambda_k delta_k. Nothing in float64; visible in
       float32 for a tied model whose components sit many spreads apart.
    """
    n_features = after.means.shape[1]
    traces = np.trace(after.precisions, axis1=1, axis2=2)
    traces_before = np.trace(before.precisions, axis1=1, axis2=2)
    if covariance_type == "tied":
        penalty = 0.5 * reg_covar * (traces[0] - traces_before[0])
        # The kernel's centre: weights @ means, not divided by weights.sum()
        # (see test_statistics_with_weights_not_summing_to_one).
        centres = np.broadcast_to(before.weights @ before.means, after.means.shape)
    else:
        penalty = 0.5 * reg_covar * after.weights @ (traces - traces_before)
        centres = before.means
    delta = after.means - centres
    m = np.einsum("ki,kij,kj->k", delta, after.precisions, delta)
    f = np.minimum(10 * eps / np.maximum(after.weights * total_weight, 10 * eps), 1.0)
    shrink = after.weights @ (f * (m + n_features)) ** 2
    if covariance_type == "tied":
        shrink += (10 * eps / total_weight * np.sum(m + n_features)) ** 2
    return min(penalty, 0.0) - shrink


def check_likelihood_is_monotone(covariance_type, case, init_params):
    """lower_bound_ after each one-iteration warm-started fit never falls by
    more than ``allowed_change`` allows, plus rounding."""
    X, sample_weight, _ = case.data()
    assume_enough_weighted_points(sample_weight, case.n_components)
    reg_covar = case.reg_covar()
    model = GaussianMixture(
        n_components=case.n_components,
        covariance_type=covariance_type,
        reg_covar=reg_covar,
        init_params=init_params,
        max_iter=0,  # the first fit only initialises: theta_0
        tol=0.0,
        warm_start=True,
        random_state=case.seed % 2**31,
    )
    fit_or_assume(model, X, sample_weight)
    snapshots = [Snapshot.of(model)]
    model.set_params(max_iter=1)
    lower_bounds = []
    for _ in range(8):
        # lower_bound_ is LL(theta_{t-1}), and the model now holds theta_t.
        fit_or_assume(model, X, sample_weight)
        lower_bounds.append(model.lower_bound_)
        snapshots.append(Snapshot.of(model))
    lower_bounds = np.array(lower_bounds)
    assert np.all(np.isfinite(lower_bounds))
    total_weight = case.n_samples if sample_weight is None else sample_weight.sum()
    eps = np.finfo(case.dtype).eps
    # lower_bounds[t] - lower_bounds[t - 1] = LL(theta_t) - LL(theta_{t-1}).
    allowed = np.array([
        allowed_change(
            covariance_type, snapshots[t - 1], snapshots[t], reg_covar, eps, total_weight
        )
        for t in range(1, 8)
    ])
    rounding = RTOL_LOWER_BOUND[case.dtype] * (1.0 + np.abs(lower_bounds[1:]))
    assert np.all(np.diff(lower_bounds) >= allowed - rounding), (lower_bounds, allowed)


# float32 data far from the origin in units of its scale is out of reach:
# float32 cannot store the means finer than eps32 * |offset|.
FIT_DRAWS = draws(min_samples=2, float32_offset_ratio=1e3)
# float64: rounding only. float32: the warm start resumes from the fitted
# attributes, stored as float32, so each step starts from rounded parameters.
RTOL_LOWER_BOUND = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@FAST
@given(case=FIT_DRAWS, init_params=st.sampled_from(INIT_PARAMS))
def test_likelihood_is_monotone(covariance_type, case, init_params):
    check_likelihood_is_monotone(covariance_type, case, init_params)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@SLOW
@given(case=FIT_DRAWS, init_params=st.sampled_from(INIT_PARAMS))
def test_likelihood_is_monotone_slow(covariance_type, case, init_params):
    check_likelihood_is_monotone(covariance_type, case, init_params)


def check_predict_is_argmax_of_predict_proba(covariance_type, case, init_params, tie):
    """predict names the most probable component of predict_proba, except
    where the two best probabilities tie (then it names one of them)."""
    X, sample_weight, _ = case.data()
    assume_enough_weighted_points(sample_weight, case.n_components)
    model = GaussianMixture(
        n_components=case.n_components,
        covariance_type=covariance_type,
        reg_covar=case.reg_covar(),
        init_params=init_params,
        max_iter=5,
        random_state=case.seed % 2**31,
    )
    fit_or_assume(model, X, sample_weight)
    if tie and case.n_components >= 2:
        # Component 1 becomes an exact copy of component 0: exact ties.
        names = ["weights_", "means_"]
        if covariance_type != "tied":  # tied shares one covariance already
            names += ["covariances_", "precisions_cholesky_", "precisions_"]
        for name in names:
            getattr(model, name)[1] = getattr(model, name)[0]
    # The training points, and new points scattered well beyond them.
    rng = np.random.default_rng([case.seed, 4])
    spread = X.astype(np.float64).std(axis=0) + case.scales()
    centre = X.astype(np.float64).mean(axis=0)
    Y = centre + spread * rng.normal(scale=5.0, size=(50, case.n_features))
    for points in (X, Y.astype(case.dtype)):
        labels = model.predict(points)
        proba = model.predict_proba(points)
        assert labels.shape == (points.shape[0],)
        assert np.all((labels >= 0) & (labels < case.n_components))
        top2 = np.sort(proba.astype(np.float64), axis=1)[:, -2:]
        if case.n_components == 1:
            assert np.all(labels == 0)
            continue
        tied = top2[:, 1] - top2[:, 0] <= 1e-12 * top2[:, 1]
        differ = labels != proba.argmax(axis=1)
        assert not np.any(differ & ~tied), (labels[differ], proba[differ])
        # On a tie, predict still names one of the tied best components.
        chosen = np.take_along_axis(proba, labels[:, None], axis=1)[:, 0].astype(np.float64)
        assert np.all(chosen >= top2[:, 1] * (1 - 1e-12))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@FAST
@given(case=draws(min_samples=2), init_params=st.sampled_from(INIT_PARAMS), tie=st.booleans())
def test_predict_is_argmax_of_predict_proba(covariance_type, case, init_params, tie):
    check_predict_is_argmax_of_predict_proba(covariance_type, case, init_params, tie)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@SLOW
@given(case=draws(min_samples=2), init_params=st.sampled_from(INIT_PARAMS), tie=st.booleans())
def test_predict_is_argmax_of_predict_proba_slow(covariance_type, case, init_params, tie):
    check_predict_is_argmax_of_predict_proba(covariance_type, case, init_params, tie)


###############################################################################
# Found by the properties: fewer weighted points than components


@pytest.mark.parametrize("init_params", INIT_PARAMS)
def test_init_with_fewer_weighted_points_than_components(init_params):
    """Two points of positive weight, three components: a clear error about
    sample_weight, or a valid initial mixture (weights summing to at most 1)
    from which EM does not lower the likelihood. It used to be numpy's
    "Fewer non-zero entries in p than size" (random_from_data) and initial
    weights summing to 1.5 (k-means++, which got a row chosen twice)."""
    X = np.array([[0.0], [1.0], [2.0]])
    sample_weight = np.array([1.0, 1.0, 0.0])
    model = GaussianMixture(3, init_params=init_params, max_iter=0, warm_start=True, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, sample_weight=sample_weight)
            assert model.weights_.sum() <= 1 + 1e-12
            model.set_params(max_iter=1)
            lower_bounds = [
                model.fit(X, sample_weight=sample_weight).lower_bound_ for _ in range(3)
            ]
    except ValueError as error:
        assert "sample_weight" in str(error)
        return
    assert np.all(np.diff(lower_bounds) >= -1e-12 * (1 + np.abs(lower_bounds[1:])))


# Regression: prepare_tied once centred the sums on weights @ means without
# dividing by weights.sum(); after one-hot inits (weights summing to K / W) the
# centre sat near the origin and far-from-origin data lost its precision.
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_with_weights_not_summing_to_one(covariance_type):
    """The first E-step after a one-hot init has weights summing to K / W:
    the statistics must stay as accurate as with normalised weights."""
    case = Draw(
        seed=7, n_samples=60, n_features=2, n_components=3, dtype=np.float64,
        weighted=False, log_scale=-1, anisotropic=False, offset_exponent=4,
        dead_component=False, weight_sum=3 / 60,
    )
    check_statistics_match_reference(covariance_type, case)

