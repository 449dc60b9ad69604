"""Results do not depend on the thread count: bitwise, across processes."""

import hashlib
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest

from fastgmm import GaussianMixture
from fastgmm._config import numba_threads
from fastgmm.kernels._common import _claim

_SCRIPT = textwrap.dedent(
    """
    import hashlib, numpy as np, numba
    from fastgmm import GaussianMixture, kernels
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(20000, 4)) + 4 * rng.normal(size=4) for _ in range(5)])
    w = rng.uniform(0.5, 2.0, size=X.shape[0])
    digest = hashlib.sha256()
    for cov in ("full", "tied", "diag", "spherical"):
        gm = GaussianMixture(5, covariance_type=cov, random_state=0, max_iter=20, tol=0)
        gm.fit(X, sample_weight=w)
        stats = kernels.estep_statistics(
            X, w, cov, gm.weights_, gm.means_, gm.precisions_cholesky_)
        for arr in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_,
                    np.array(gm.lower_bounds_), stats[0], stats[1], stats[2],
                    np.array([stats[4]])):
            digest.update(np.ascontiguousarray(arr).tobytes())
    print(numba.get_num_threads(), digest.hexdigest())
    """
)


def _run_with_threads(n_threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(n_threads))
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    threads, digest = out.stdout.split()
    return int(threads), digest


def test_bitwise_identical_with_1_and_2_threads():
    one = _run_with_threads(1)
    two = _run_with_threads(2)
    assert one[0] == 1 and two[0] == 2
    assert one[1] == two[1]


def _fit_digest(X, seed):
    gm = GaussianMixture(3, random_state=seed, max_iter=15, tol=0).fit(X)
    return hashlib.sha256(gm.means_.tobytes() + gm.covariances_.tobytes()).hexdigest()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_match_sequential_fits():
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(size=(3000, 3)) + 5 * rng.normal(size=3) for _ in range(3)])
    sequential = [_fit_digest(X, seed) for seed in range(4)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        concurrent = list(pool.map(lambda seed: _fit_digest(X, seed), range(4)))
    assert concurrent == sequential


def test_thread_context_restores_count_even_on_error():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with numba_threads(1):
            assert numba.get_num_threads() == 1
            raise RuntimeError("boom")
    assert numba.get_num_threads() == before


@numba.njit(parallel=True)
def _claimed_lanes(n_lanes, n_workers):
    """Which worker walked each lane, and how often each lane was walked."""
    walker = np.full(n_lanes, -1, np.int64)
    walks = np.zeros(n_lanes, np.int64)
    next_lane = np.zeros(1, np.int64)
    for worker in numba.prange(n_workers):
        while True:
            lane = _claim(next_lane)
            if lane >= n_lanes:
                break
            walker[lane] = worker
            walks[lane] += 1
    # The array, not next_lane[0]: numba does not see _claim's write, and a
    # load in this function after the loop may be folded to the zero stored.
    return walker, walks, next_lane


@pytest.mark.parametrize("n_threads", [1, 2])
def test_claimed_lanes_are_each_walked_once(n_threads):
    # The drivers hand out lanes with _claim: a lane walked twice or never
    # would double or drop its points' statistics.
    with numba_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS)):
        walker, walks, counter = _claimed_lanes(1000, 2)
    assert (walks == 1).all()
    assert set(walker) <= {0, 1}
    assert counter[0] == 1000 + 2  # each worker's last claim finds none left
