"""Measurements shared by the pytest-benchmark suite and the report.

Every timing excludes JIT compile time (kernels are warmed on a small slice
first). Speed is reported as medians over rounds, measured in one process so
that ratios between implementations are fair.
"""

import json
import os
import platform
import subprocess
import sys
import textwrap
import time
import warnings

import numba
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import fastgmm
from fastgmm import GaussianMixture, reference
from fastgmm._config import numba_threads
from fastgmm.mstep import _compute_precision_cholesky_from_precisions

IMPLEMENTATIONS = ("fastgmm", "reference", "sklearn")
BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _fit_fixed(implementation, X, workload, init, n_iter):
    """Run ``n_iter`` EM iterations from ``init`` with tol=0; return the lower bound."""
    kwargs = dict(covariance_type=workload.covariance_type, max_iter=n_iter, tol=0, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if implementation == "fastgmm":
            return GaussianMixture(workload.n_components, **kwargs).fit(X).lower_bound_
        if implementation == "sklearn":
            return SklearnGaussianMixture(workload.n_components, **kwargs).fit(X).lower_bound_
    chol = _compute_precision_cholesky_from_precisions(init["precisions_init"], workload.covariance_type)
    result = reference.fit(X, init["weights_init"], init["means_init"], chol,
                           workload.covariance_type, tol=0, max_iter=n_iter)
    return result["lower_bound"]


def lower_bounds(X, workload, init, n_iter=3):
    """Each implementation's lower bound after ``n_iter`` iterations from ``init``."""
    return {impl: _fit_fixed(impl, X, workload, init, n_iter) for impl in IMPLEMENTATIONS}


def warm_up(workload, X, init):
    """Compile (or load from cache) the kernels this workload needs."""
    _fit_fixed("fastgmm", X[:2000], workload, init, 1)


def seconds_per_iteration(implementation, X, workload, init, n_iter=3, rounds=3):
    """Median seconds per EM iteration, and the final lower bound.

    One round times a fit of ``n_iter + 1`` iterations and subtracts a fit of
    one iteration, so validation and setup cancel. (A fit of zero iterations
    would be the natural baseline, but scikit-learn fails on max_iter=0 with
    precisions_init: it never sets covariances_.)
    """
    times = []
    lower_bound = None
    for _ in range(rounds):
        start = time.perf_counter()
        lower_bound = _fit_fixed(implementation, X, workload, init, n_iter + 1)
        middle = time.perf_counter()
        _fit_fixed(implementation, X, workload, init, 1)
        end = time.perf_counter()
        times.append(((middle - start) - (end - middle)) / n_iter)
    return float(np.median(times)), float(lower_bound)


def interleaved_seconds_per_iteration(X, workload, init, implementations=IMPLEMENTATIONS,
                                      n_iter=3, rounds=3, baseline_rounds=None):
    """Seconds per EM iteration of several implementations, their rounds
    interleaved, and each one's ratio to fastgmm taken round by round.

    Each round times every implementation once, back to back
    (``seconds_per_iteration`` with one round). A ratio to fastgmm is the
    median over rounds of the two times of one round, so the drift of a
    shared machine over the minutes the baselines take moves both sides of
    each ratio alike.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    workload : Workload
    init : dict
        The given start (``weights_init``, ``means_init``, ``precisions_init``).
    implementations : sequence of str
        Among ``IMPLEMENTATIONS``; ratios are taken to "fastgmm" if present.
    n_iter : int
        Timed iterations per round.
    rounds : int
    baseline_rounds : int or None
        Rounds for the implementations other than fastgmm, at most
        ``rounds`` (the first rounds): the baselines take about a minute per
        iteration at N = 1e7. None gives them every round.

    Returns
    -------
    results : dict
        ``{implementation: dict(seconds=median, lower_bound=..., rounds=[...],
        ratio_to_fastgmm=median of per-round ratios or None)}``.
    """
    baseline_rounds = rounds if baseline_rounds is None else min(baseline_rounds, rounds)
    times = {impl: [] for impl in implementations}
    lower_bounds = {}
    for r in range(rounds):
        for impl in implementations:
            if impl != "fastgmm" and r >= baseline_rounds:
                continue
            seconds, lower_bounds[impl] = seconds_per_iteration(impl, X, workload, init,
                                                                n_iter=n_iter, rounds=1)
            times[impl].append(seconds)
    results = {}
    for impl in implementations:
        ratio = None
        if "fastgmm" in times:
            ours = times["fastgmm"]
            if min(ours) > 0:
                ratio = float(np.median([t / f for t, f in zip(times[impl], ours)]))
            else:  # a difference of two fits of a tiny problem can come out <= 0
                ratio = float(np.median(times[impl]) / np.median(ours))
        results[impl] = dict(seconds=float(np.median(times[impl])),
                             lower_bound=float(lower_bounds[impl]), rounds=times[impl],
                             ratio_to_fastgmm=ratio)
    return results


def paired_seconds_per_iteration(cases, n_iter=3, rounds=5):
    """Seconds per EM iteration of fastgmm for several cases, their rounds
    interleaved, and the median of the per-round ratios to the first case.

    On a shared machine the speed drifts by tens of percent within minutes;
    cases timed back to back in each round see the same drift, so the ratio
    of a round's times is steadier than the ratio of separate medians.

    Parameters
    ----------
    cases : list of (X, workload, init, n_threads)
        ``n_threads`` None keeps numba's thread count.
    n_iter, rounds : int

    Returns
    -------
    seconds : ndarray of shape (len(cases), rounds)
    ratios : ndarray of shape (len(cases),)
        Median over rounds of case 0's time over each case's time.
    """
    seconds = np.empty((len(cases), rounds))
    for r in range(rounds):
        for c, (X, workload, init, n_threads) in enumerate(cases):
            with numba_threads(n_threads):
                # An untimed fit first: the timed pair then starts with X as
                # warm in the caches as its second fit does. Otherwise the
                # first fit alone pays for reading back X after the previous
                # case evicted it (W7: N = 1e5 read 20-30% slower per point
                # after N = 1e7).
                _fit_fixed("fastgmm", X, workload, init, 1)
                seconds[c, r] = seconds_per_iteration("fastgmm", X, workload, init, n_iter=n_iter,
                                                      rounds=1)[0]
    return seconds, np.median(seconds[0] / seconds, axis=1)


def end_to_end(implementation, X, workload, rounds=1, random_state=0):
    """Median seconds of a default fit (kmeans init, default tol), and n_iter_.

    A default fit on the first rows comes first, untimed: it compiles (or
    loads) the k-means kernels, which the fixed-work timings never call, so
    that no compile time enters the figure, whatever the cache holds.
    """
    cls = GaussianMixture if implementation == "fastgmm" else SklearnGaussianMixture
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cls(workload.n_components, covariance_type=workload.covariance_type,
            random_state=random_state).fit(X[:max(2000, 4 * workload.n_components)])
        for _ in range(rounds):
            model = cls(workload.n_components, covariance_type=workload.covariance_type,
                        random_state=random_state)
            start = time.perf_counter()
            model.fit(X)
            times.append(time.perf_counter() - start)
    return float(np.median(times)), int(model.n_iter_), float(model.lower_bound_)


def dgemm_gflops(n=4096, rounds=3):
    """This machine's float64 matmul rate, the peak for the roofline."""
    a = np.random.default_rng(0).random((n, n))
    b = a.copy()
    a @ b
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / np.median(times) / 1e9


def exp_rate(n=1 << 24, rounds=3, block=4096):
    """Exponentials per second of fastgmm's vectorised exp on all numba
    threads: the floor for workloads where exp dominates (W1, W4), which
    need N * K of them per EM iteration. The exp a fit takes
    (``_normal_exp_in_dtype``: arguments from its floor, -40, up to 0), the
    fastest of the kernels' exps.

    Each thread exps its own ``block`` of values (32 KiB in and out, in
    cache) over and over, as the E-step does a block of log-densities: a
    stream of n values from memory would time the memory, not the exp
    (16 bytes per exp at 1 Gexp/s is 16 GB/s).

    Parameters
    ----------
    n : int
        Exponentials per round, over all threads.
    rounds : int
    block : int
        Values per thread.

    Returns
    -------
    rate : float
        Median over the rounds.
    """
    from numba import njit, prange

    from fastgmm.kernels._common import _normal_exp_in_dtype

    @njit(parallel=True, fastmath={"contract"})
    def exps(values, out, repeats):
        for thread in prange(values.shape[0]):
            thread_values, thread_out = values[thread], out[thread]
            for _ in range(repeats):
                for i in range(thread_values.shape[0]):
                    thread_out[i] = _normal_exp_in_dtype(thread_values[i])

    n_threads = numba.get_num_threads()
    values = -np.random.default_rng(0).random((n_threads, block)) * 30.0
    out = np.empty_like(values)
    repeats = max(1, n // (n_threads * block))
    exps(values, out, 1)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        exps(values, out, repeats)
        times.append(time.perf_counter() - start)
    return repeats * values.size / float(np.median(times))


def _host_cpu_name():
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_name()


def machine_info():
    """CPU, threads, BLAS build and versions, for every table of results."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
        f"{info.get('num_threads')} threads)"
        for info in threadpool_info() if info.get("user_api") == "blas"
    ]
    from fastgmm.kernels._common import _has_wide_vectors

    return {
        "cpu": cpu,
        # What numba compiles for: the kernels' loops differ with AVX-512.
        "cpu_target": numba.core.config.CPU_NAME or _host_cpu_name(),
        "avx512": _has_wide_vectors(),
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "blas": "; ".join(blas),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": sklearn.__version__,
        "fastgmm": fastgmm.__version__,
        "blas_env_unset": all(v not in os.environ for v in BLAS_VARIABLES),
    }


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, time, warnings
    import numpy as np, psutil
    sys.path.insert(0, {root!r})
    from bench.workloads import Workload, make_data
    from fastgmm import GaussianMixture
    workload = Workload(**{workload!r})
    X, init = make_data(workload)
    warnings.simplefilter("ignore")
    kwargs = dict(covariance_type=workload.covariance_type, max_iter={n_iter}, tol=0,
                  init_params={init_params!r}, random_state=0)
    GaussianMixture(workload.n_components, **kwargs).fit(X[:3000])
    process = psutil.Process()
    peak, done = [0], threading.Event()
    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.001)
    baseline = process.memory_info().rss
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    GaussianMixture(workload.n_components, **kwargs).fit(X)
    done.set(); thread.join()
    print(json.dumps(dict(data=int(X.nbytes), growth=int(max(peak[0], baseline) - baseline))))
    """
)


def peak_memory(workload, init_params="random_from_data", n_iter=2):
    """Peak RSS of a fit above the RSS with the data loaded, in a subprocess.

    Returns
    -------
    result : dict
        ``data`` (bytes of X) and ``growth`` (bytes).
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fields = dict(name=workload.name, n_samples=workload.n_samples, n_features=workload.n_features,
                  n_components=workload.n_components, covariance_type=workload.covariance_type,
                  dtype=workload.dtype)
    code = _MEMORY_SCRIPT.format(root=root, workload=fields, n_iter=n_iter, init_params=init_params)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


_COMPILE_SCRIPT = textwrap.dedent(
    """
    import time
    start = time.perf_counter()
    import warnings, numpy as np
    from fastgmm import GaussianMixture
    imported = time.perf_counter()
    # 5 features: 'full' then compiles the E-step of every 4 <= d < 16 (d <= 3 has its own).
    X = np.random.default_rng(0).normal(size=(500, 5))
    warnings.simplefilter("ignore")
    def fit():
        t = time.perf_counter()
        GaussianMixture(2, covariance_type={covariance_type!r}, max_iter=2, random_state=0).fit(X)
        GaussianMixture(2, covariance_type={covariance_type!r}).fit(X).predict(X)
        return time.perf_counter() - t
    first = fit()
    second = fit()
    print(first - second, imported - start)
    """
)


def compile_seconds(covariance_type="full", cache_dir=None):
    """Seconds the first fit in a fresh process spends beyond the second one.

    Parameters
    ----------
    cache_dir : str or None
        NUMBA_CACHE_DIR for the subprocess: a new empty folder gives the cold
        compile, a folder filled by an earlier call the warm-cache overhead.

    Returns
    -------
    overhead : float
        Seconds of compile (or cache load) in the first fit.
    import_seconds : float
    """
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    code = _COMPILE_SCRIPT.format(covariance_type=covariance_type)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    overhead, import_seconds = map(float, out.stdout.split())
    return overhead, import_seconds
