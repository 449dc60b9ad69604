"""A fit allocates nothing that grows with N (measured in a subprocess)."""

import json
import subprocess
import sys
import textwrap


_SCRIPT = textwrap.dedent(
    """
    import json, threading, time
    import numpy as np, psutil, warnings
    from fastgmm import GaussianMixture

    process = psutil.Process()
    n_samples, n_features, n_components = {n_samples}, 16, 16
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5, size=(n_components, n_features))
    X = centres[rng.integers(0, n_components, n_samples)]
    X += rng.standard_normal(size=X.shape)
    warnings.simplefilter("ignore")
    # Compile (or load from cache) on small data first: compile memory is not the fit's.
    GaussianMixture(n_components, init_params="random_from_data", max_iter=2, random_state=0).fit(X[:5000])

    peak = [0]
    done = threading.Event()
    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)
    baseline = process.memory_info().rss
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    GaussianMixture(n_components, init_params="random_from_data", max_iter={max_iter}, tol=0,
                    random_state=0).fit(X)
    done.set()
    watcher.join()
    print(json.dumps(dict(data=X.nbytes, baseline=baseline, peak=max(peak[0], baseline))))
    """
)


def measure(n_samples, max_iter):
    code = _SCRIPT.format(n_samples=n_samples, max_iter=max_iter)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fit_peak_memory_is_below_10_percent_of_data():
    """2,000,000 x 16 float64, K=16 full, random_from_data: peak RSS over the
    loaded data stays under 10% of the data's size."""
    result = measure(2_000_000, max_iter=2)
    growth = result["peak"] - result["baseline"]
    assert growth < 0.10 * result["data"], result
