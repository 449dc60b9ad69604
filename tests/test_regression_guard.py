"""Regression guard for the engine's operation counts (issue 3).

Speed is measured by the benchmarks, never asserted here. What is asserted is
what makes the speed: one pass over the data per EM iteration, no per-point
output computed during a fit, and no (n_samples, n_components) array or copy
of X allocated by a fit, whatever the init.
"""

import os
import subprocess
import sys
import tempfile
import tracemalloc

import numba
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture, kernels
from fastgmm._config import numba_threads
from fastgmm.kernels import _common

from .conftest import COVARIANCE_TYPES, make_mixture

INITS = ["kmeans", "k-means++", "random", "random_from_data"]


class _Counter:
    """Wraps a kernels function and counts its calls."""

    def __init__(self, function):
        self.function = function
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch):
    counters = {}
    for name in ("estep_statistics", "resp_statistics", "estimate", "worst_points"):
        counters[name] = _Counter(getattr(kernels, name))
        monkeypatch.setattr(kernels, name, counters[name])
    return counters


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_one_data_pass_per_iteration(counted, covariance_type, init_params):
    X = make_mixture(0, n_samples=3000, n_features=3)
    gmm = GaussianMixture(4, covariance_type=covariance_type, init_params=init_params,
                          max_iter=7, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):  # max_iter reached
        gmm.fit(X)
    assert gmm.n_iter_ == 7
    assert counted["estep_statistics"].calls == gmm.n_iter_
    # The init's M-step is one chunked pass; per-point outputs are never made.
    assert counted["resp_statistics"].calls == 1
    assert counted["estimate"].calls == 0
    assert counted["worst_points"].calls == 0


def test_n_init_passes_add_up(counted):
    X = make_mixture(1, n_samples=2000, n_features=2)
    gmm = GaussianMixture(3, n_init=3, max_iter=4, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        gmm.fit(X)
    assert counted["estep_statistics"].calls == 3 * 4
    assert counted["resp_statistics"].calls == 3


def test_predict_is_one_estimate_pass(counted):
    X = make_mixture(2, n_samples=2000, n_features=2)
    gmm = GaussianMixture(3, tol=1e-2, random_state=0).fit(X)
    before = counted["estep_statistics"].calls
    gmm.predict(X)
    gmm.predict_proba(X)
    gmm.score_samples(X)
    assert counted["estimate"].calls == 3
    assert counted["estep_statistics"].calls == before


@pytest.mark.parametrize("init_params", INITS)
def test_fit_allocates_no_n_by_k_array_and_no_copy_of_x(init_params):
    # Python-side allocations (numpy's, which tracemalloc sees) must stay far
    # below one (n_samples, n_components) float64 array and below one copy of
    # X. numba's kernels allocate only O(lanes * K * d) of their own. The
    # kernels' buffers do not grow with n_samples: the lanes' accumulators
    # (64 lanes, 2.1 MiB here) and each worker's scratch (the full
    # statistics' pending columns, 0.24 MiB here), so the test pins the
    # workers and takes enough points that any array with n_samples rows and
    # two or more float64 columns exceeds the bound.
    n_samples, n_features, n_components = 400_000, 16, 16
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    X = centres[rng.integers(n_components, size=n_samples)]
    X += rng.normal(size=X.shape)
    small = X[:2000].copy()
    with pytest.warns(ConvergenceWarning):  # compile outside the measurement
        GaussianMixture(n_components, init_params=init_params, max_iter=2, tol=0,
                        random_state=0).fit(small)
    gmm = GaussianMixture(n_components, init_params=init_params, max_iter=3, tol=0,
                          random_state=0)
    with numba_threads(min(2, numba.config.NUMBA_NUM_THREADS)):
        tracemalloc.start()
        try:
            with pytest.warns(ConvergenceWarning):
                gmm.fit(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    n_by_k = n_samples * n_components * 8
    assert peak < min(n_by_k, X.nbytes) / 8, f"peak {peak / 2**20:.1f} MiB"


_CACHE_SCRIPT = """
import warnings
import numpy as np
from fastgmm import GaussianMixture
from fastgmm.kernels import _common, _engine, kmeans
rng = np.random.default_rng(0)
X = rng.normal(size=(5000, 3))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for cov in ("full", "tied", "diag", "spherical"):
        GaussianMixture(2, covariance_type=cov, random_state=0, max_iter=2).fit(X).predict(X)
cannot = [str(w.message) for w in caught if "Cannot cache" in str(w.message)]
drivers = (_common._run_workers, _engine._walk_lanes, kmeans._walk_kmeans_lanes)
print(len(cannot), *(len(d.stats.cache_hits) + len(d.stats.cache_misses) for d in drivers))
for message in cannot:
    print(message)
"""


def test_parallel_drivers_are_cacheable():
    # A kernel numba cannot cache (it refers to a dynamic global, such as
    # numba.get_num_threads() inside a kernel) recompiles in every process:
    # about 15 s per covariance type. Timings would show it only as noise.
    out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    n_cannot, *lookups = map(int, out[0].split())
    assert n_cannot == 0, out[1:]
    # The parallel drivers and their walkers were all looked up in the cache.
    assert len(lookups) == 3 and min(lookups) > 0, lookups


_LITERAL_SCRIPT = """
import warnings
import numpy as np
from numba import types
from numba.core.registry import CPUDispatcher
from fastgmm import GaussianMixture
from fastgmm.kernels import _common, _engine, diag, full, kmeans, spherical, tied
X = np.random.default_rng(0).normal(size=(600, 5))
warnings.simplefilter("ignore")
GaussianMixture(3, covariance_type="full", random_state=0).fit(X).predict(X)
for module in (_common, _engine, diag, full, kmeans, spherical, tied):
    for name, value in vars(module).items():
        if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
            plain = [tuple(map(types.unliteral, signature)) for signature in value.overloads]
            if len(set(plain)) < len(plain):
                print(name, *value.overloads)
"""


def test_no_kernel_compiles_twice_for_a_literal():
    # numba types a constant argument as a literal and compiles a
    # specialisation for it: _gather_support, called with a literal offset 0
    # in one place and a variable one in another, compiled twice, 0.5 s of a
    # cold first fit. Compiled in a fresh cache, so that every callee is
    # compiled (a walker loaded from the cache loads its callees' code with it).
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", _LITERAL_SCRIPT], capture_output=True,
                             text=True, check=True,
                             env=dict(os.environ, NUMBA_CACHE_DIR=cache)).stdout
    assert out == "", out


def test_parallel_loops_only_call_their_walkers():
    # numba compiles, in each of the four libraries it builds for a prange
    # loop, everything the loop calls. So the parallel driver's loop only
    # calls its walker through the walker's address (_common._call_walker):
    # with the EM walker inlined there, a cold first fit took 19 s, not 12.
    import ast
    import inspect
    import pathlib

    from fastgmm.kernels import _common

    kernel_dir = pathlib.Path(_common.__file__).parent
    sources = "".join(path.read_text() for path in kernel_dir.glob("*.py"))
    assert sources.count("prange(") == 1  # the one parallel driver, _run_workers
    tree = ast.parse(inspect.getsource(_common._run_workers.py_func).lstrip())
    loops = [node for node in ast.walk(tree) if isinstance(node, ast.For)
             and isinstance(node.iter, ast.Call) and node.iter.func.id == "prange"]
    assert len(loops) == 1
    called = {ast.unparse(node.func) for statement in loops[0].body
              for node in ast.walk(statement) if isinstance(node, ast.Call)}
    assert called == {"_call_walker", "np.int64"}, called


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_driver_runs_every_walker(dtype):
    # The walkers all have one machine signature, (pointer, worker), so one
    # compile of the parallel driver serves the EM and k-means passes of
    # every covariance type and dtype. Each walker reads the tuple that
    # run_walkers stored, so each tuple type stored must have a walker
    # compiled for it, and no walker may be compiled for a tuple never
    # stored: a difference would be undefined behaviour.
    from numba import types

    from fastgmm.kernels import _common, _engine, kmeans

    X = make_mixture(5, n_samples=600).astype(dtype)
    weights = np.linspace(0.5, 1.5, len(X))
    for cov in COVARIANCE_TYPES:
        gmm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X, sample_weight=weights)
        gmm.predict_proba(X), gmm.score_samples(X), gmm.predict(X)
    assert list(_common._run_workers.overloads) == [(types.int64,) * 3]
    stored = {layout.arguments for _, layout in _common._COMPILED_WALKERS.values()}
    walked = {signature[0].arguments
              for walker in (_engine._walk_lanes, kmeans._walk_kmeans_lanes)
              for signature in walker.overloads}
    assert stored == walked and len(stored) > 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type, n_features", [("full", 2), ("full", 5), ("diag", 3)])
def test_walker_buffers_start_on_cache_lines(monkeypatch, dtype, covariance_type, n_features):
    """Every lane accumulator and worker buffer of a fit's passes starts on a
    cache line, and so does each worker's share and each row of the block
    buffers: no vector load of them straddles two lines (with AVX-512, an
    unaligned load always does). Full fits over at most 3 features take
    the long blocks."""
    seen = []

    def spy(*args):
        lanes, scratch, initial = pass_arrays(*args)
        seen.append((lanes, scratch))
        return lanes, scratch, initial

    pass_arrays = kernels._pass_arrays
    monkeypatch.setattr(kernels, "_pass_arrays", spy)
    X = make_mixture(3, n_samples=5000, n_features=n_features).astype(dtype)
    with pytest.warns(ConvergenceWarning):  # max_iter reached
        GaussianMixture(3, covariance_type=covariance_type, max_iter=2, tol=0,
                        random_state=0).fit(X)
    assert seen
    line = _common.CACHE_LINE
    for lanes, scratch in seen:
        for array in lanes + scratch:
            assert array.flags.c_contiguous
            assert array.size == 0 or array.ctypes.data % line == 0
        # The block buffers and the pending columns (all but their counts).
        for array in scratch[:-1]:
            assert array.size == 0 or all(stride % line == 0 for stride in array.strides[:-1])
        block = scratch[4].shape[1]  # w_block
        narrow = covariance_type == "full" and n_features <= 3
        assert block == (_common.NARROW_BLOCK if narrow else _common.BLOCK)
        for buffer in (scratch[0], scratch[3]):  # x_t, log_rho
            assert buffer.shape[-1] >= block
