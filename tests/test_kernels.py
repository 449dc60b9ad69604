"""Every kernel against fastgmm.reference and scipy.stats on random parameters."""

import math

import numpy as np
import pytest
from numba import njit, types
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from fastgmm import GaussianMixture, kernels, reference
from fastgmm.kernels import _common, full
from fastgmm.kernels._common import BLOCK_STRIDE, _centre_rows
from fastgmm.kernels.full import _quadratic_form
from fastgmm.mstep import _estimate_gaussian_parameters
from fastgmm.stats import SuffStats

from .conftest import COVARIANCE_TYPES, full_covariances, make_mixture, random_parameters

RTOL = {np.float64: 1e-10, np.float32: 1e-4}


def make_problem(seed, covariance_type, dtype, weighted, n_samples=1500, n_components=4, n_features=5):
    rng = np.random.default_rng(seed)
    weights, means, covariances, chol = random_parameters(rng, covariance_type, n_components, n_features)
    X = (rng.normal(scale=3.0, size=(n_samples, n_features))).astype(dtype)
    sample_weight = rng.uniform(0.0, 3.0, size=n_samples) if weighted else None
    return X, sample_weight, weights, means, covariances, chol


# 8 features fill the 4 x 4 tiles; 5 and 17 are zero-padded to 8 and 20.
FEATURE_COUNTS = [5, 8, 17]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features", FEATURE_COUNTS)
def test_estep_statistics_match_reference(covariance_type, dtype, weighted, n_features):
    X, w, weights, means, _, chol = make_problem(1, covariance_type, dtype, weighted,
                                                 n_features=n_features)
    stats = SuffStats.from_kernel(
        covariance_type, kernels.estep_statistics(X, w, covariance_type, weights, means, chol)
    )
    log_prob_norm, log_resp = reference.e_step(X, weights, means, chol, covariance_type)
    unit = np.ones(X.shape[0]) if w is None else w
    rtol = RTOL[dtype]
    np.testing.assert_allclose(stats.log_likelihood, np.sum(unit * log_prob_norm), rtol=rtol)
    np.testing.assert_allclose(stats.weight, unit.sum(), rtol=1e-12)

    eps = np.finfo(dtype).eps
    nk, new_means, covariances = _estimate_gaussian_parameters(stats, 1e-6, eps)
    ref_nk, ref_means, ref_cov = reference.estimate_gaussian_parameters(
        X, np.exp(log_resp), 1e-6, covariance_type, w, eps
    )
    np.testing.assert_allclose(nk, ref_nk, rtol=rtol)
    np.testing.assert_allclose(new_means, ref_means, rtol=rtol, atol=rtol * np.abs(ref_means).max())
    np.testing.assert_allclose(covariances, ref_cov, rtol=rtol, atol=rtol * np.abs(ref_cov).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_estimate_matches_scipy(covariance_type, dtype):
    X, _, weights, means, covariances, chol = make_problem(2, covariance_type, dtype, False, n_samples=700)
    n_components, n_features = means.shape
    stack = full_covariances(covariance_type, covariances, n_components, n_features)
    X64 = X.astype(np.float64)
    weighted_log_prob = np.column_stack([
        np.log(weights[k]) + multivariate_normal(means[k], stack[k]).logpdf(X64)
        for k in range(n_components)
    ])
    expected_norm = logsumexp(weighted_log_prob, axis=1)
    expected_resp = np.exp(weighted_log_prob - expected_norm[:, None])

    resp, log_norm, labels = kernels.estimate(
        X, covariance_type, weights, means, chol, resp=True, log_norm=True, labels=True, out_dtype=dtype
    )
    rtol = RTOL[dtype]
    assert resp.dtype == dtype and log_norm.dtype == dtype
    np.testing.assert_allclose(log_norm, expected_norm, rtol=rtol)
    np.testing.assert_allclose(resp, expected_resp, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=rtol)
    # Labels are the argmax; allow disagreement only on numerical near-ties.
    expected_labels = weighted_log_prob.argmax(axis=1)
    top2 = np.sort(weighted_log_prob, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-6
    np.testing.assert_array_equal(labels[clear], expected_labels[clear])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimate_outputs_are_independent(covariance_type):
    """Asking for one output gives the same values as asking for all."""
    X, _, weights, means, _, chol = make_problem(3, covariance_type, np.float64, False, n_samples=300)
    all_three = kernels.estimate(X, covariance_type, weights, means, chol, True, True, True)
    for i, flags in enumerate([(True, False, False), (False, True, False), (False, False, True)]):
        alone = kernels.estimate(X, covariance_type, weights, means, chol, *flags)
        np.testing.assert_array_equal(alone[i], all_three[i])
        assert all(out is None for j, out in enumerate(alone) if j != i)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features", FEATURE_COUNTS)
def test_resp_statistics_match_reference(covariance_type, dtype, weighted, n_features):
    X, w, _, means, _, _ = make_problem(4, covariance_type, dtype, weighted, n_samples=900,
                                        n_features=n_features)
    rng = np.random.default_rng(5)
    resp = rng.uniform(size=(X.shape[0], means.shape[0])).astype(dtype)
    resp /= resp.sum(axis=1, keepdims=True)
    shift = np.broadcast_to(X[0].astype(np.float64), means.shape)
    stats = SuffStats.from_kernel(
        covariance_type, kernels.resp_statistics(X, w, resp, shift, covariance_type)
    )
    eps = np.finfo(dtype).eps
    nk, new_means, covariances = _estimate_gaussian_parameters(stats, 1e-6, eps)
    ref_nk, ref_means, ref_cov = reference.estimate_gaussian_parameters(
        X, resp, 1e-6, covariance_type, w, eps
    )
    rtol = RTOL[dtype]
    np.testing.assert_allclose(nk, ref_nk, rtol=rtol)
    np.testing.assert_allclose(new_means, ref_means, rtol=rtol, atol=rtol * np.abs(ref_means).max())
    np.testing.assert_allclose(covariances, ref_cov, rtol=rtol, atol=rtol * np.abs(ref_cov).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_of_parts_add_up(covariance_type):
    """Statistics of two halves add to the statistics of the whole, eq. (9)."""
    X, w, weights, means, _, chol = make_problem(6, covariance_type, np.float64, True, n_samples=5000)
    whole = SuffStats.from_kernel(
        covariance_type, kernels.estep_statistics(X, w, covariance_type, weights, means, chol)
    )
    halves = [
        SuffStats.from_kernel(
            covariance_type,
            kernels.estep_statistics(X[s], w[s], covariance_type, weights, means, chol),
        )
        for s in (slice(0, 1700), slice(1700, None))
    ]
    merged = halves[0] + halves[1]
    for name in ("nk", "s1", "s2"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(merged.log_likelihood, whole.log_likelihood, rtol=1e-12)


def _check_sparse_statistics(covariance_type, dtype, n_components, n_samples=3000):
    # Clusters 60 apart: in every block each component has nonzero
    # responsibility for about 1 / n_components of the points.
    rng = np.random.default_rng(12)
    n_features = 5
    centres = 60.0 * rng.standard_normal((n_components, n_features))
    X = (centres[rng.integers(n_components, size=n_samples)]
         + rng.standard_normal((n_samples, n_features))).astype(dtype)
    weights = np.full(n_components, 1.0 / n_components)
    means = centres + 0.3 * rng.standard_normal(centres.shape)
    _, _, covariances, _ = random_parameters(rng, covariance_type, n_components, n_features)
    chol = reference.compute_precision_cholesky(covariances, covariance_type)
    w = rng.uniform(0.0, 3.0, size=X.shape[0])
    log_prob_norm, log_resp = reference.e_step(X, weights, means, chol, covariance_type)
    resp = np.exp(log_resp)
    assert 0.5 / n_components < np.mean(resp > 0.0) < 0.5  # mostly exact zeros
    stats = SuffStats.from_kernel(
        covariance_type, kernels.estep_statistics(X, w, covariance_type, weights, means, chol)
    )
    rtol = RTOL[dtype]
    np.testing.assert_allclose(stats.log_likelihood, np.sum(w * log_prob_norm), rtol=rtol)
    eps = np.finfo(dtype).eps
    fast = _estimate_gaussian_parameters(stats, 1e-6, eps)
    slow = reference.estimate_gaussian_parameters(X, resp, 1e-6, covariance_type, w, eps)
    for ours, theirs in zip(fast, slow):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_components", [6, 32])
def test_sparse_responsibilities_match_reference(covariance_type, dtype, n_components):
    """Mostly zero responsibilities. The full statistics gather each
    component's points into its pending columns (kernels.full): with 6
    components, about 43 per block fill them (256 columns) and they are
    summed when full; with 32, only at the end of the lane."""
    _check_sparse_statistics(covariance_type, dtype, n_components)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_components", [6, 32])
def test_full_statistics_with_few_pending_columns(monkeypatch, dtype, n_components):
    """The fewest pending columns (16) and two lanes. With 6 components,
    more points than 16 per block go to the tiles at once; with 32, about 8
    per block fill the columns every other block. Each lane sums what is
    left pending at its end."""
    monkeypatch.setattr(kernels, "PENDING_BYTES", 1)
    assert kernels._pending_columns(_common.FULL, n_components, (n_components, 8, 8), dtype,
                                    _common.BLOCK) == 16
    _check_sparse_statistics("full", dtype, n_components, n_samples=5000)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_float32_work_centres_data_far_from_zero(covariance_type):
    """float32 data 3e4 from 0 with float64 means, as in a fit's E-step: the
    kernels form x - mu in float64 and round it once, so log p(x) stays
    within float32 rounding of the float64 result, far closer than with the
    means rounded to float32 (whose error is ulp(3e4) / 2)."""
    rng = np.random.default_rng(21)
    n_components, n_features, offset = 3, 6, 3e4
    weights, means, covariances, chol = random_parameters(rng, covariance_type, n_components,
                                                          n_features)
    means = means + offset
    X = (means[rng.integers(n_components, size=2000)]
         + rng.standard_normal((2000, n_features))).astype(np.float32)
    X64 = X.astype(np.float64)
    prepared = kernels._prepare(covariance_type, weights, means, chol, np.float32)
    assert prepared[0].dtype == np.float32  # float32 work
    log_norm = np.empty(X.shape[0], dtype=np.float32)
    kernels._run_pass(X, None, covariance_type, prepared, statistics=False, out_log_norm=log_norm)
    exact = reference.e_step(X64, weights, means, chol, covariance_type)[0]
    rounded_means = means.astype(np.float32).astype(np.float64)
    naive = reference.e_step(X64, weights, rounded_means, chol, covariance_type)[0]
    error = np.abs(log_norm - exact).max()
    assert error < 0.05 * np.abs(naive - exact).max()
    np.testing.assert_allclose(log_norm, exact, rtol=2e-6)


@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("dtype, offset", [(np.float64, 0.0), (np.float32, 0.0),
                                           (np.float32, 3e4)])
def test_narrow_full_statistics_match_reference(n_features, dtype, offset):
    """Full statistics for d <= 3 (FULL_NARROW: N_k, S1 and S2 in one sweep,
    ``full._accumulate_narrow_block``), with sample weights, zeros included,
    against sums of the float64 reference's responsibilities, each within
    its dtype's rounding of its scale: N_k; sqrt(N_k S2_ii) >= sum w r
    |x_i - mu_i|; S2's largest diagonal entry.

    At 3e4 from 0 in float32, x - mu must be (x - head) - tail with the
    tail kept: folded into one subtraction (reassociated), each point's
    difference would be off by up to ulp(3e4) / 2 ~ 1e-3, a thousand times
    the tolerance of S1.
    """
    rng = np.random.default_rng(40 + n_features)
    n_samples, n_components = 1500, 3
    weights, means, _, chol = random_parameters(rng, "full", n_components, n_features)
    means = means + offset
    X = (means[rng.integers(n_components, size=n_samples)]
         + rng.standard_normal((n_samples, n_features))).astype(dtype)
    w = rng.uniform(0.0, 3.0, size=n_samples)
    w[::7] = 0.0
    assert kernels.full_code(n_features) == _common.FULL_NARROW
    nk, s1, s2, shift, log_likelihood, _ = kernels.estep_statistics(
        X, w, "full", weights, means, chol)
    X64 = X.astype(np.float64)
    log_norm, log_resp = reference.e_step(X64, weights, means, chol, "full")
    r = w[:, None] * np.exp(log_resp)
    # float32 work: r carries float32 rounding of log rho, about 1e-7 of
    # |log rho| (a few units here), so a few times 1e-6 relative.
    rtol = 1e-11 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(nk, r.sum(axis=0), rtol=rtol)
    assert abs(log_likelihood - np.sum(w * log_norm)) <= rtol * np.sum(w * np.abs(log_norm))
    for k in range(n_components):
        diff = X64 - shift[k]
        want_s1 = r[:, k] @ diff
        want_s2 = (r[:, k, None] * diff).T @ diff
        diagonal = np.diag(want_s2)
        assert np.all(np.abs(s1[k] - want_s1) <= rtol * np.sqrt(nk[k] * diagonal))
        upper = np.triu_indices(n_features)
        assert np.all(np.abs(s2[k][upper] - want_s2[upper]) <= rtol * diagonal.max())


@njit(cache=True)
def _both_quadratic_forms(x_t, centre, u, const, n_block, diff, y, in_tiles, stored):
    """The full E-step's log rho for one component with x - mu formed in the
    tiles (into ``in_tiles``) and stored first (into ``stored``)."""
    _quadratic_form(x_t, centre, u, const, n_block, y, in_tiles)
    _centre_rows(x_t, n_block, centre, diff)
    _quadratic_form(diff, None, u, const, n_block, y, stored)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [5, 16])
def test_full_quadratic_form_same_bits_with_centres_stored_or_in_tiles(dtype, n_features):
    """The full E-step subtracts the centre in its tiles with AVX-512 and
    stores x - mu first without (``CENTRE_IN_TILES``): both give log rho bit
    for bit, against the float64 reference to float rounding. Both forms are
    compiled here, whatever this machine's vector width."""
    rng = np.random.default_rng(3)
    weights, means, covariances, chol = random_parameters(rng, "full", 1, n_features)
    means = means + 40.0  # so that the float32 tail of each mean is not zero
    n_block = 200  # a short block: the tiles also run over stale columns
    X = means[0] + rng.standard_normal((n_block, n_features))
    prec, aux, const, _ = kernels._prepare("full", weights, means, chol, dtype)
    padded = prec.shape[1]
    x_t = np.zeros((padded, BLOCK_STRIDE), dtype=dtype)
    x_t[:n_features, :n_block] = X.T.astype(dtype)
    diff = np.zeros((padded, BLOCK_STRIDE), dtype=dtype)
    y = np.zeros((padded + 1, BLOCK_STRIDE), dtype=dtype)
    in_tiles = np.zeros(BLOCK_STRIDE, dtype=dtype)
    stored = np.zeros(BLOCK_STRIDE, dtype=dtype)
    _both_quadratic_forms(x_t, aux[0], prec[0], const[0], n_block, diff, y, in_tiles, stored)
    np.testing.assert_array_equal(in_tiles[:n_block], stored[:n_block])
    X_used = x_t[:n_features, :n_block].T.astype(np.float64)
    expected = reference.e_step(X_used, weights, means, chol, "full")[0]  # K = 1: log rho = log p
    np.testing.assert_allclose(stored[:n_block], expected, rtol=2e-5 if dtype == np.float32 else 1e-12)


UNIT_COVARIANCES = {
    "full": np.stack([np.eye(2)] * 2), "tied": np.eye(2), "diag": np.ones((2, 2)), "spherical": np.ones(2),
}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_negligible_responsibilities_change_no_statistic(covariance_type):
    """A fit's statistics and log-likelihood leave out responsibilities
    below exp(-40) of a point's largest (kernels.negligible_log_ratio);
    predict_proba keeps them all, and score_samples every exp above exp(-460).

    Two unit Gaussians 30 apart: r_1 / r_0 = exp(30 x - 450), so the points
    with x in [-9, 13.6] have responsibilities from 4e-18 down to subnormal
    and zero.
    """
    rng = np.random.default_rng(11)
    X = np.column_stack([rng.uniform(-9.0, 39.0, 4000), rng.normal(size=4000)])
    weights, means = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [30.0, 0.0]])
    chol = reference.compute_precision_cholesky(UNIT_COVARIANCES[covariance_type], covariance_type)
    resp, log_norm, _ = kernels.estimate(X, covariance_type, weights, means, chol, resp=True, log_norm=True)
    tiny = resp[:, 1][resp[:, 1] > 0.0]
    assert (tiny < np.exp(kernels.negligible_log_ratio(np.float64))).sum() > 100
    assert (tiny < np.finfo(np.float64).tiny).sum() > 10  # subnormal ones kept
    band = (X[:, 0] > -8.0) & (X[:, 0] < 0.0)
    np.testing.assert_allclose(resp[band, 1] / resp[band, 0], np.exp(30.0 * X[band, 0] - 450.0),
                               rtol=1e-9)
    # score_samples' log p(x) keeps its bits without predict_proba's pass.
    fit_log_norm = kernels.estimate(X, covariance_type, weights, means, chol, log_norm=True)[1]
    np.testing.assert_array_equal(fit_log_norm, log_norm)
    stats = SuffStats.from_kernel(
        covariance_type, kernels.estep_statistics(X, None, covariance_type, weights, means, chol)
    )
    np.testing.assert_allclose(stats.log_likelihood, log_norm.sum(), rtol=1e-13)
    eps = np.finfo(np.float64).eps
    fast = _estimate_gaussian_parameters(stats, 1e-6, eps)
    slow = reference.estimate_gaussian_parameters(X, resp, 1e-6, covariance_type, None, eps)
    for ours, theirs in zip(fast, slow):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_work_leaves_out_only_exps_that_change_nothing(covariance_type):
    """float32 work: a fit's statistics and log-likelihood leave out
    responsibilities below exp(-20); predict_proba keeps them all, subnormal
    ones included, and score_samples every exp above exp(-87) (EXP_FLOOR_32,
    about float32's smallest normal number), so log p(x) keeps its bits.

    The points of test_negligible_responsibilities_change_no_statistic:
    r_1 / r_0 = exp(30 x - 450), float32-subnormal for x in [11.6, 12.1].
    """
    rng = np.random.default_rng(11)
    X = np.column_stack([rng.uniform(-9.0, 39.0, 4000), rng.normal(size=4000)])
    weights, means = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [30.0, 0.0]])
    chol = reference.compute_precision_cholesky(UNIT_COVARIANCES[covariance_type], covariance_type)
    X32, weights32, means32, chol32 = (a.astype(np.float32) for a in (X, weights, means, chol))
    resp, log_norm, _ = kernels.estimate(X32, covariance_type, weights32, means32, chol32,
                                         resp=True, log_norm=True, out_dtype=np.float32)
    assert resp.dtype == np.float32
    tiny = resp[:, 1][resp[:, 1] > 0.0]
    assert (tiny < np.finfo(np.float32).tiny).sum() > 10  # subnormal ones kept
    band = (X[:, 0] > 12.2) & (X[:, 0] < 14.5)  # ratios e^-84 .. e^-15
    np.testing.assert_allclose(resp[band, 1] / resp[band, 0],
                               np.exp(30.0 * X32[band, 0].astype(np.float64) - 450.0), rtol=2e-4)
    fit_log_norm = kernels.estimate(X32, covariance_type, weights32, means32, chol32,
                                    log_norm=True, out_dtype=np.float32)[1]
    np.testing.assert_array_equal(fit_log_norm, log_norm)
    # The statistics against the float64 reference on the same points.
    stats = SuffStats.from_kernel(
        covariance_type, kernels.estep_statistics(X32, None, covariance_type, weights32, means32, chol32)
    )
    exact = reference.e_step(X32.astype(np.float64), weights, means, chol, covariance_type)
    np.testing.assert_allclose(stats.log_likelihood, exact[0].sum(), rtol=1e-6)
    eps = np.finfo(np.float64).eps
    fast = _estimate_gaussian_parameters(stats, 1e-6, eps)
    slow = reference.estimate_gaussian_parameters(X32.astype(np.float64), np.exp(exact[1]), 1e-6,
                                                  covariance_type, None, eps)
    for ours, theirs in zip(fast, slow):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@njit(cache=True)
def _normalise(log_rho, n_block, w_block, log_floor):
    """_normalise_block on a copy, with its own scratch."""
    work = log_rho.copy()
    log_norm = np.zeros(w_block.shape[0])
    rows = np.zeros((3, log_rho.shape[1]), dtype=log_rho.dtype)
    listed = np.zeros(w_block.shape[0], dtype=np.int64)
    total = _common._normalise_block(work, n_block, w_block, log_norm, rows, log_floor, listed)
    return work, log_norm, total


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("floor", ["negligible", "exact", "all"])
def test_normalise_block_takes_sparse_rows_exps_bit_for_bit(dtype, floor):
    """Rows whose entries are mostly below the floor take their exps packed
    (``_normalise_block``): every bit is that of the same block taken one
    point at a time, where no row has a whole vector, and matches numpy's
    exp and log."""
    rng = np.random.default_rng(5)
    n_components, n_block = 9, 250  # not a whole number of vectors
    log_floor = {"negligible": kernels.negligible_log_ratio(dtype),
                 "exact": kernels.exact_log_ratio(dtype), "all": -np.inf}[floor]
    log_rho = np.full((n_components, n_block + 6), np.nan, dtype=dtype)
    # Dense rows, sparse rows (a few entries near the top, the rest far
    # below the floor or between it and the top), and an empty row.
    log_rho[:3, :n_block] = rng.normal(scale=3.0, size=(3, n_block))
    for k in range(3, 8):
        row = rng.uniform(-700.0, -30.0, n_block) if k % 2 else np.full(n_block, -1e4)
        near = rng.choice(n_block, size=k + 2, replace=False)
        row[near] = rng.normal(size=near.size)
        log_rho[k, :n_block] = row
    log_rho[8, :n_block] = -np.inf
    w_block = rng.uniform(0.5, 2.0, n_block)
    resp, log_norm, total = _normalise(log_rho, n_block, w_block, log_floor)
    for b in range(n_block):
        column = np.ascontiguousarray(log_rho[:, b:b + 1])
        one_resp, one_norm, one_total = _normalise(column, 1, w_block[b:b + 1], log_floor)
        np.testing.assert_array_equal(resp[:, b], one_resp[:, 0])
        assert log_norm[b] == one_norm[0]
        assert one_total == w_block[b] * one_norm[0]
    np.testing.assert_allclose(total, np.dot(w_block, log_norm), rtol=1e-14)
    # numpy: exps of the entries at or above the floor, in float64.
    exact = log_rho[:, :n_block].astype(np.float64)
    shifted = exact - exact.max(axis=0)
    exps = np.where(shifted >= log_floor, np.exp(shifted), 0.0)
    np.testing.assert_allclose(log_norm, exact.max(axis=0) + np.log(exps.sum(axis=0)),
                               rtol=1e-6 if dtype == np.float32 else 1e-15)
    # float32 rounds the smallest responsibilities to its subnormal grid.
    np.testing.assert_allclose(resp[:, :n_block], w_block * exps / exps.sum(axis=0),
                               rtol=1e-5 if dtype == np.float32 else 4e-16,
                               atol=2 * np.finfo(dtype).smallest_subnormal)
    assert np.all(resp[8, :n_block] == 0.0)


@njit(cache=True)
def _gather(x_t, n_block, centre, r, n_columns, offset):
    """_gather_support into fresh columns filled with NaN, with its own scratch."""
    columns = np.full((centre.shape[0], n_columns), np.nan, dtype=r.dtype)
    r_columns = np.full(n_columns, np.nan, dtype=r.dtype)
    index = np.zeros(r.shape[0], dtype=np.int64)
    n_used = _common._gather_support(x_t, n_block, centre, r, index, columns, r_columns, offset)
    return n_used, columns, r_columns


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_block", [256, 250, 3])
def test_gather_support_matches_numpy(dtype, n_block):
    """``_gather_support`` appends the points with nonzero r (NaN included,
    as ``!=`` counts it), in order, centred in float64 and rounded once to
    the compute dtype, after ``offset`` columns, and writes nothing else:
    every run mask of 4 points occurs, and the tail past the last whole run."""
    rng = np.random.default_rng(8)
    n_features, offset = 5, 7
    r = np.zeros(BLOCK_STRIDE, dtype=dtype)
    # Runs of 4 through all 16 masks, then random sparse points.
    masks = np.arange(64) % 16
    used = ((masks[:, None] >> np.arange(4)) & 1).astype(bool).ravel()
    used[::37] = rng.random(used[::37].size) < 0.5
    r[:256][used] = rng.uniform(0.1, 1.0, used.sum())
    r[100] = np.nan
    r[n_block:] = 1.0  # past the block: never read
    x_t = (rng.normal(size=(n_features, BLOCK_STRIDE)) * 1e3).astype(dtype)
    centre = rng.normal(size=n_features) * 1e3
    n_columns = offset + BLOCK_STRIDE
    n_used, columns, r_columns = _gather(x_t, n_block, centre, r, n_columns, offset)
    points = np.flatnonzero(r[:n_block] != 0.0)
    assert n_used == points.size
    np.testing.assert_array_equal(r_columns[offset:offset + n_used], r[points])
    expected = (x_t[:, points].astype(np.float64) - centre[:, None]).astype(dtype)
    np.testing.assert_array_equal(columns[:, offset:offset + n_used], expected)
    assert np.isnan(columns[:, :offset]).all() and np.isnan(r_columns[:offset]).all()
    assert np.isnan(columns[:, offset + n_used:]).all()
    assert np.isnan(r_columns[offset + n_used:]).all()


def test_zero_weight_component_gives_zero_responsibility():
    X, _, weights, means, _, chol = make_problem(7, "full", np.float64, False, n_samples=200)
    weights = weights.copy()
    weights[1] = 0.0
    weights /= weights.sum()
    resp, log_norm, _ = kernels.estimate(X, "full", weights, means, chol, resp=True, log_norm=True)
    assert np.all(resp[:, 1] == 0.0)
    assert np.all(np.isfinite(log_norm))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)


def _assert_narrow_statistics_to_rounding(forced, expected, X, sample_weight, weights, means,
                                          chol):
    """``expected``, a fit's FULL_NARROW statistics, against ``forced``, the
    same pass's by another full driver code, each within a few roundings of
    its scale in X's dtype.

    FULL_NARROW sums N_k, S1 and S2 in one sweep per component, where the
    other codes sum them in passes of their own, so LLVM keeps other partial
    sums (how many depends on the machine's registers): the same terms,
    added in another order. A fit's FULL_NARROW pass also takes its exps
    unshifted (full._fit_narrow_block), so each r differs by a few roundings
    in the compute dtype, and each log p(x) by a few roundings of
    max(|log p(x)|, 1), the exps' and the log's. Within a few roundings of
    each sum's scale: N_k (a float64 sum); sqrt(N_k S2_ii) >= sum r
    |x_i - c_i|; S2's largest diagonal entry; sum w max(|log p(x)|, 1). 16:
    up to 16 partial sums per block (vector lanes times LLVM's interleave),
    each differing by about a rounding; the worst case of 6.6 in
    docs/derivation.md (a block's B terms) is far looser than what other
    orders give.
    """
    n_features = X.shape[1]
    eps = 16 * np.finfo(X.dtype).eps
    nk, s1, s2 = expected[:3]
    diagonal = np.diagonal(s2, axis1=1, axis2=2)[:, :n_features]
    np.testing.assert_allclose(forced[0], nk, rtol=eps, atol=0)
    assert np.all(np.abs(forced[1] - s1) <= eps * np.sqrt(nk[:, None] * diagonal))
    assert np.all(np.abs(forced[2] - s2) <= eps * diagonal.max(axis=1)[:, None, None])
    log_norm = kernels.estimate(X, "full", weights, means, chol, log_norm=True)[1]
    unit = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    scale = np.sum(unit * np.maximum(np.abs(log_norm), 1.0))
    assert abs(forced[4] - expected[4]) <= 4 * np.finfo(X.dtype).eps * scale


@pytest.mark.parametrize("n_features, code, dtype", [
    (16, "FULL", np.float64),
    (16, "FULL_PRECENTRED", np.float64),
    (16, "FULL_PRECENTRED", np.float32),
    (1, "FULL", np.float64),
    (2, "FULL", np.float64),
    (2, "FULL", np.float32),
    (3, "FULL", np.float64),
    (2, "FULL_PRECENTRED", np.float64),
])
def test_full_driver_codes_give_the_same_statistics(monkeypatch, n_features, code, dtype):
    """A fit runs one of the full E-step's driver codes (``full.full_code``,
    by the machine and d: FULL_NARROW for d <= 3); forced to another, a pass
    gives the same statistics bit for bit (FULL_NARROW's sums and
    log-likelihood to rounding), and the reference's to rounding."""
    rng = np.random.default_rng(5)
    weights, means, _, chol = random_parameters(rng, "full", 3, n_features)
    X = (means[rng.integers(3, size=700)] + rng.standard_normal((700, n_features))).astype(dtype)
    # Both passes in the blocks of the fit's own code (FULL_NARROW's are
    # longer, ``block_size``): the log-likelihood is summed block by block.
    block = _common.block_size(kernels.full_code(n_features), 3, np.dtype(dtype).itemsize)
    monkeypatch.setattr(kernels, "block_size", lambda *args: block)
    expected = kernels.estep_statistics(X, None, "full", weights, means, chol)
    monkeypatch.setattr(kernels, "full_code", lambda n_features: getattr(_common, code))
    forced = kernels.estep_statistics(X, None, "full", weights, means, chol)
    if n_features <= 3:  # expected from FULL_NARROW
        _assert_narrow_statistics_to_rounding(forced, expected, X, None, weights, means, chol)
    exact = [3, 5] if n_features <= 3 else range(len(expected))
    for i in exact:
        np.testing.assert_array_equal(forced[i], expected[i])
    log_norm, log_resp = reference.e_step(X.astype(np.float64), weights, means, chol, "full")
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(forced[0], np.exp(log_resp).sum(axis=0), rtol=rtol)
    np.testing.assert_allclose(forced[4], log_norm.sum(), rtol=rtol)
    # S2_k about the means, upper triangle.
    for k in range(3):
        diff = X.astype(np.float64) - means[k]
        s2 = (np.exp(log_resp[:, k])[:, None] * diff).T @ diff
        upper = np.triu_indices(n_features)
        np.testing.assert_allclose(forced[2][k][upper], s2[upper], rtol=100 * rtol,
                                   atol=100 * rtol * np.max(np.diag(s2)))


# ``tiny``: data scaled so that log rho tops UNSHIFTED_HIGHEST near the
# means, d log(1 / scale) = 750 (float64) or 95 (float32). Only with 3
# features is scale^2, the scale of S2's terms, still a normal number.
@pytest.mark.parametrize("n_features, dtype, tiny", [
    (1, np.float64, False), (2, np.float64, False), (3, np.float64, False),
    (1, np.float32, False), (2, np.float32, False), (3, np.float32, False),
    (3, np.float64, True), (3, np.float32, True),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_narrow_fit_redoes_points_outside_the_unshifted_range(
        monkeypatch, n_features, dtype, tiny, weighted):
    """A fit's FULL_NARROW pass (``full._fit_narrow_block``) takes its exps
    unshifted and redoes by the shifted normalisation every point whose sum
    of exps leaves ``UNSHIFTED_SUMS``: here outliers 1000 standard
    deviations out in the first block (every exp 0), a component of zero
    weight (log rho -inf), and with ``tiny`` data so narrow that log rho
    near the means tops ``UNSHIFTED_HIGHEST`` (its exps would overflow).
    Its statistics against the shifted pass of another driver code (FULL),
    to rounding, and float64's against the reference's responsibilities.
    """
    rng = np.random.default_rng(60 + n_features)
    n_samples, n_components = 1500, 3
    weights, means, _, chol = random_parameters(rng, "full", n_components, n_features)
    weights = np.array([weights[0], 0.0, weights[2]]) / (weights[0] + weights[2])
    X = means[rng.integers(n_components, size=n_samples)] + rng.standard_normal(
        (n_samples, n_features))
    X[:700:23] += 1e3
    scale = np.exp(-(750.0 if dtype == np.float64 else 95.0) / n_features) if tiny else 1.0
    X, means, chol = (X * scale).astype(dtype), means * scale, chol / scale
    sample_weight = None
    if weighted:
        sample_weight = rng.uniform(0.0, 3.0, size=n_samples)
        sample_weight[::7] = 0.0
    assert kernels.full_code(n_features) == _common.FULL_NARROW
    block = _common.block_size(_common.FULL_NARROW, n_components, np.dtype(dtype).itemsize)
    monkeypatch.setattr(kernels, "block_size", lambda *args: block)
    expected = kernels.estep_statistics(X, sample_weight, "full", weights, means, chol)
    assert np.all(np.isfinite(expected[0])) and np.all(np.isfinite(expected[2]))
    assert expected[0][1] == 0.0 and np.all(expected[1][1] == 0.0)
    if tiny:  # the exps near the means would be above UNSHIFTED_HIGHEST
        log_norm = kernels.estimate(X, "full", weights, means, chol, log_norm=True)[1]
        highest = _common.UNSHIFTED_HIGHEST if dtype == np.float64 else _common.UNSHIFTED_HIGHEST_32
        assert np.median(log_norm) > highest
    monkeypatch.setattr(kernels, "full_code", lambda n_features: _common.FULL)
    forced = kernels.estep_statistics(X, sample_weight, "full", weights, means, chol)
    _assert_narrow_statistics_to_rounding(forced, expected, X, sample_weight, weights, means,
                                          chol)
    if dtype == np.float64:
        log_norm, log_resp = reference.e_step(X, weights, means, chol, "full")
        unit = np.ones(n_samples) if sample_weight is None else sample_weight
        r = unit[:, None] * np.exp(log_resp)
        np.testing.assert_allclose(expected[0], r.sum(axis=0), rtol=1e-11)
        np.testing.assert_allclose(expected[4], np.sum(unit * log_norm), rtol=1e-12)


@njit(cache=True)
def _logs_of(sums, n_block):
    return _common._sum_of_logs(sums, n_block)


@pytest.mark.parametrize("dtype, low, high", [(np.float64, -600.0, 690.0),
                                              (np.float32, -50.0, 80.0)])
@pytest.mark.parametrize("n_block", [1, 511, 512, 513, 1024])
def test_sum_of_logs_by_mantissa_products_matches_numpy(dtype, low, high, n_block):
    """``_sum_of_logs`` over sums of exps anywhere in ``UNSHIFTED_SUMS``:
    the sum of their logs against math.fsum of numpy's, within a few
    roundings of sum |log|."""
    rng = np.random.default_rng(n_block)
    sums = np.exp(rng.uniform(low, high, size=1024)).astype(dtype)
    sums[:8] = np.array([np.exp(low), np.exp(high), 1.0, 2.0, 0.5, 1.5, 3.0, 1.0 - 1e-7],
                        dtype=dtype)
    before = sums.copy()
    total = _logs_of(sums, n_block)
    logs = np.log(sums[:n_block].astype(np.float64))
    assert abs(total - math.fsum(logs)) <= 4 * np.finfo(np.float64).eps * np.abs(logs).sum()
    np.testing.assert_array_equal(sums, before)


@njit(cache=True)
def _moments_scaled_by(x_t, centre, r, n_features, n_block, zero, scale, reciprocal):
    s1 = np.zeros(n_features)
    s2 = np.zeros((4, 4))
    if reciprocal:
        total = full._add_narrow_moments(x_t, centre, r, n_features, n_block, zero, s1, s2,
                                         (scale,))
    else:
        total = full._add_narrow_moments(x_t, centre, r, n_features, n_block, zero, s1, s2,
                                         scale)
    return total, s1, s2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_first_component_takes_the_reciprocals_of_the_sums(dtype, n_features):
    # The fused fit's first component scales r by 1 / sums and leaves the
    # reciprocals in sums for the others: the same bits as scaling by the
    # reciprocals taken beforehand (1 / sums in float64, rounded to dtype).
    rng = np.random.default_rng(n_features)
    n_block = 1000
    x_t = np.zeros((4, 1024), dtype=dtype)
    x_t[:n_features, :n_block] = rng.normal(size=(n_features, n_block))
    centre = rng.normal(size=n_features)
    r = rng.uniform(0.0, 1.0, 1024).astype(dtype)
    sums = np.exp(rng.uniform(-50.0, 80.0, 1024)).astype(dtype)
    reciprocals = (1.0 / sums.astype(np.float64)).astype(dtype)
    zero = dtype(0)
    work = sums.copy()
    got = _moments_scaled_by(x_t, centre, r, n_features, n_block, zero, work, True)
    expected = _moments_scaled_by(x_t, centre, r, n_features, n_block, zero, reciprocals, False)
    np.testing.assert_array_equal(work[:n_block], reciprocals[:n_block])
    np.testing.assert_array_equal(work[n_block:], sums[n_block:])
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # And against numpy: the sums of r / sums (t) (t t^T) about the centre.
    t = x_t[:n_features, :n_block].astype(np.float64) - centre[:, None]
    scaled = (r[:n_block].astype(np.float64) * reciprocals[:n_block])
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got[0], scaled.sum(), rtol=rtol)
    np.testing.assert_allclose(got[1], t @ scaled, rtol=rtol, atol=rtol * np.abs(t).sum())


@njit
def _larger_and_smaller(a, b):
    return _common._larger(a, b), _common._smaller(a, b)


@pytest.mark.parametrize("a, b", [
    (1.5, 2.5), (2.5, 1.5), (-0.0, 0.0), (0.0, -0.0), (np.nan, 1.0), (1.0, np.nan),
    (-np.inf, 3.0), (np.float32(1.0), np.float32(-2.0)), (np.int64(-3), np.int64(7)),
    (np.int64(7), np.int64(7)),
])
def test_larger_and_smaller_are_pythons_max_and_min(a, b):
    # The kernels' one-select max and min keep the builtins' choice of
    # argument, NaN and signed zeros included.
    larger, smaller = _larger_and_smaller(a, b)
    for got, expected in ((larger, max(a, b)), (smaller, min(a, b))):
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.signbit(got) == np.signbit(expected)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sum_lanes_adds_lanes_in_order_as_numpy(covariance_type):
    # numpy's sum over a leading axis adds the rows in order: the same bits.
    rng = np.random.default_rng(11)
    n_lanes, n_components, n_features = 7, 3, 2
    shape = kernels._kernel_moment_shape(covariance_type, n_components, n_features)
    lanes = [rng.normal(size=s) * 10.0 ** rng.uniform(-8, 8, size=s) for s in
             [(n_lanes, n_components), (n_lanes, n_components, n_features), (n_lanes,) + shape,
              (n_lanes,), (n_lanes,)]]
    nk, s1, s2, log_likelihood, weight = kernels._reduce_lanes(lanes)  # _common.sum_lanes
    np.testing.assert_array_equal(nk, lanes[0].sum(axis=0))
    np.testing.assert_array_equal(s1, lanes[1].sum(axis=0))
    trimmed = lanes[2].sum(axis=0)[:, :n_features, :n_features]
    np.testing.assert_array_equal(s2, trimmed)
    assert s2.shape == kernels.second_moment_shape(covariance_type, n_components, n_features)
    for total, values in ((log_likelihood, lanes[3]), (weight, lanes[4])):
        assert abs(total - math.fsum(values)) <= n_lanes * np.finfo(np.float64).eps * np.abs(values).sum()


def test_prepare_full_matches_the_numpy_formulas():
    rng = np.random.default_rng(12)
    weights, means, _, chol = random_parameters(rng, "full", 4, 5)
    weights[2] = 0.0  # a component of zero weight: log 0 = -inf, no warning
    prec, centres, const, shift = kernels.prepare_full(weights, means, chol)
    padded = _common.padded_features(5)
    assert prec.shape == (4, padded, padded) and centres.shape == (4, padded)
    np.testing.assert_array_equal(prec[:, :5, :5], chol)
    np.testing.assert_array_equal(prec[:, 5:], 0.0)
    np.testing.assert_array_equal(prec[:, :, 5:], 0.0)
    np.testing.assert_array_equal(centres[:, :5], means)
    np.testing.assert_array_equal(centres[:, 5:], 0.0)
    np.testing.assert_array_equal(shift, means)
    with np.errstate(divide="ignore"):
        expected = (np.log(weights) + np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
                    - 2.5 * np.log(2 * np.pi))
    assert const[2] == -np.inf
    np.testing.assert_allclose(const, expected, rtol=4 * np.finfo(np.float64).eps)


@njit
def _all_within_of(values, low, high):
    return _common._all_within(values, values.shape[0], low, high)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_within_compares_as_floats(dtype):
    low, high = dtype(1e-20), dtype(1e20)
    cases = [[1.0, 2.0], [low, high], [np.nextafter(low, 0), 1.0], [1.0, np.nextafter(high, np.inf)],
             [0.0, 1.0], [-0.0, 1.0], [-1.0, 1.0], [np.inf, 1.0], [1.0, np.nan], [-np.nan, 1.0],
             [-np.inf, 1.0], [1e-30, 1e30]]
    rng = np.random.default_rng(0)
    for case in cases:
        values = np.array(case + list(rng.uniform(1.0, 2.0, 61)), dtype=dtype)
        values = rng.permutation(values)
        expected = bool(np.all((values >= low) & (values <= high)))
        assert _all_within_of(values, low, high) == expected, case


def test_reused_buffers_give_the_same_pass_as_fresh_ones():
    # Inside the block the buffers of a pass are kept and set again to their
    # first values; results must be those of fresh buffers, bit for bit,
    # however shapes and jobs change between passes.
    rng = np.random.default_rng(13)
    weights, means, _, chol = random_parameters(rng, "full", 3, 2)
    X = means[rng.integers(3, size=5000)] + rng.standard_normal((5000, 2))
    passes = [
        lambda: kernels.estep_statistics(X, None, "full", weights, means, chol),
        lambda: kernels.estep_statistics(X[:3000], None, "full", weights, means, chol),
        lambda: kernels.worst_points(X, None, "full", weights, means, chol, 5),
        lambda: kernels.estimate(X, "full", weights, means, chol, resp=True, labels=True),
        lambda: kernels.estep_statistics(X, np.linspace(0.0, 2.0, 5000), "full", weights, means,
                                         chol),
    ]
    fresh = [f() for f in passes]
    with kernels.reused_buffers():
        # Each pass after itself (reused) and after others (new buffers).
        for i in [0, 0, 1, 1, 2, 3, 3, 4, 0, 4, 2, 0]:
            for got, want in zip(passes[i](), fresh[i]):
                np.testing.assert_array_equal(got, want)
        assert len(kernels._REUSE.kept) == 1  # only the last pass
    assert kernels._REUSE.kept is None


def _unowned(context, builder, numba_type, value):
    # The tuple's arrays with null meminfo and parent, as ArgumentsLayout packs them.
    from numba.core import cgutils
    from numba.core.types import Array, BaseTuple

    if isinstance(numba_type, Array):
        array = context.make_array(numba_type)(context, builder, value)
        array.meminfo = cgutils.get_null_value(array.meminfo.type)
        array.parent = cgutils.get_null_value(array.parent.type)
        return array._getvalue()
    if isinstance(numba_type, BaseTuple):
        for i, item_type in enumerate(numba_type):
            item = _unowned(context, builder, item_type, builder.extract_value(value, i))
            value = builder.insert_value(value, item, i)
    return value


def _numba_stored_bytes(args):
    """numba's own unboxing and store of the tuple ``args``: the oracle of
    ``ArgumentsLayout.pack``."""
    from llvmlite import ir
    from numba.extending import intrinsic

    @intrinsic
    def store(typingctx, args, buffer):
        def codegen(context, builder, sig, llargs):
            tuple_type = context.get_value_type(args)
            array = context.make_array(buffer)(context, builder, llargs[1])
            builder.store(_unowned(context, builder, args, llargs[0]),
                          builder.bitcast(array.data, tuple_type.as_pointer()))
            return ir.Constant(ir.IntType(64), context.get_abi_sizeof(tuple_type))

        return types.int64(args, buffer), codegen

    @njit
    def stored(args, buffer):
        return store(args, buffer)

    buffer = np.zeros(1 << 16, dtype=np.uint8)
    n_bytes = stored(args, buffer)
    return buffer[:n_bytes]


def test_arguments_layout_packs_tuples_as_numba_stores_them(monkeypatch):
    # Every walker argument tuple of fits (k-means init, float32, weights)
    # and predictions: the packed bytes are numba's own, field for field.
    seen = {}
    compiled_walker = _common._compiled_walker

    def recording(walker, args):
        address, layout = compiled_walker(walker, args)
        seen.setdefault(layout.arguments, (layout, args))
        return address, layout

    monkeypatch.setattr(_common, "_compiled_walker", recording)
    X = make_mixture(2, n_samples=300)
    for covariance_type, dtype, weights in [("full", np.float64, None), ("tied", np.float64, None),
                                            ("diag", np.float32, None),
                                            ("spherical", np.float64, np.linspace(0.5, 2, 300))]:
        gmm = GaussianMixture(2, covariance_type=covariance_type, random_state=0, max_iter=3)
        gmm.fit(X.astype(dtype), sample_weight=weights).predict_proba(X.astype(dtype))
    assert len(seen) >= 6
    for layout, args in seen.values():
        np.testing.assert_array_equal(layout.pack(args), _numba_stored_bytes(args))
