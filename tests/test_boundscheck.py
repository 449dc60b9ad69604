"""Every kernel under numba's bounds checking, in fresh processes.

NUMBA_BOUNDSCHECK=1 turns every array access of the jitted code into a checked
one that raises IndexError. It has to be set before numba compiles anything,
so the kernels run in subprocesses, each with NUMBA_CACHE_DIR pointing to a
new, empty directory: the bounds-checked machine code is neither loaded from
nor written into the normal cache. One process per dtype (float64, float32),
side by side, since compiling is most of the time. conftest.py starts them
when the session is collected and runs this test last, so that they compile
while the other tests run.

The script calls estep_statistics, resp_statistics, worst_points and estimate
(all outputs together and each alone) for every covariance type, with and
without sample weights, on edge shapes: one or two points, one feature, one
component, more components than points, partial last blocks (of one point,
and for the mid-size and smallest blocks, also of the longer blocks of full
passes over at most 3 features), and one, two and three lanes.
Then GaussianMixture fits with every init, fit_predict, predict,
predict_proba, score_samples and score.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

MARKER = "fastgmm-boundscheck-ok"

SCRIPT = textwrap.dedent(
    '''
    import json
    import os
    import sys
    import warnings

    import numba
    import numpy as np

    # Bounds checking is on, in the configuration and in generated code.
    assert numba.config.BOUNDSCHECK, numba.config.BOUNDSCHECK
    assert numba.config.CACHE_DIR == os.environ["NUMBA_CACHE_DIR"], numba.config.CACHE_DIR

    @numba.njit
    def probe(a, i):
        return a[i]

    try:
        probe(np.zeros(3), 3)
    except IndexError:
        pass
    else:
        sys.exit("an out-of-bounds read did not raise: bounds checking is off")

    from sklearn.exceptions import ConvergenceWarning

    from fastgmm import GaussianMixture, kernels
    from fastgmm.kernels._common import BLOCK, NARROW_BLOCK, lane_count
    from fastgmm.reference import compute_precision_cholesky

    warnings.simplefilter("ignore", ConvergenceWarning)
    COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
    dtype = np.dtype(sys.argv[1]).type
    rng = np.random.default_rng(0)
    calls = 0
    values = []

    def record(*outputs):
        global calls
        calls += 1
        for out in outputs:
            if out is not None:
                values.append(float(np.sum(np.abs(np.asarray(out, dtype=np.float64)))))

    def parameters(covariance_type, n_components, n_features):
        weights = rng.dirichlet(np.ones(n_components))
        means = rng.normal(size=(n_components, n_features))
        if covariance_type in ("full", "tied"):
            A = rng.normal(size=(n_components, n_features, n_features))
            cov = A @ np.swapaxes(A, 1, 2) / n_features + np.eye(n_features)
            cov = cov[0] if covariance_type == "tied" else cov
        elif covariance_type == "diag":
            cov = rng.uniform(0.5, 2.0, size=(n_components, n_features))
        else:
            cov = rng.uniform(0.5, 2.0, size=n_components)
        return weights, means, compute_precision_cholesky(cov, covariance_type)

    # (n_samples, n_features, n_components): one and two points, one feature,
    # one component, more components than points; a last block of one point,
    # and partial last blocks (also of a half block), with feature counts that
    # fill the 4 x 4 tiles (8) and that are padded to them (2 -> 4, 9 -> 12,
    # 17 -> 20, 50 -> 52); one, two and three lanes (4095, 4096, 6151 points).
    # Full passes over at most 3 features take longer blocks (NARROW_BLOCK,
    # halved for many components: 64 -> 512 points in float64).
    SHAPES = [
        (1, 1, 1), (2, 1, 1), (1, 3, 3), (2, 2, 2), (17, 1, 4),
        (BLOCK + 1, 2, 3), (2 * BLOCK + 5, 9, 2), (BLOCK + 3, 8, 3), (BLOCK + 7, 17, 2),
        (BLOCK + 4, 50, 2), (BLOCK // 2 + 5, 9, 2),
        (NARROW_BLOCK + 1, 2, 3), (NARROW_BLOCK // 2 + 5, 1, 2), (NARROW_BLOCK // 2 + 3, 3, 64),
        (4095, 3, 2), (4096, 2, 3), (6151, 3, 4),
    ]
    lanes_seen = set()
    for n_samples, n_features, n_components in SHAPES:
        lanes_seen.add(lane_count(n_samples, n_components, n_components * (1 + n_features)))
        X = rng.normal(size=(n_samples, n_features)).astype(dtype)
        weight_choices = [None, rng.uniform(0.0, 2.0, size=n_samples)]
        weight_choices[1][::3] = 0.0
        if not weight_choices[1].sum() > 0:
            weight_choices[1][-1] = 1.0
        for covariance_type in COVARIANCE_TYPES:
            weights, means, chol = parameters(covariance_type, n_components, n_features)
            for sample_weight in weight_choices:
                record(*kernels.estep_statistics(
                    X, sample_weight, covariance_type, weights, means, chol
                ))
                resp = rng.dirichlet(np.ones(n_components), size=n_samples).astype(dtype)
                shift = np.repeat(X[:1].astype(np.float64), n_components, axis=0)
                record(*kernels.resp_statistics(X, sample_weight, resp, shift, covariance_type))
                # The package asks for worst points only with two or more components.
                if n_components > 1:
                    for n_worst in (1, n_samples + 1):
                        record(*kernels.worst_points(
                            X, sample_weight, covariance_type, weights, means, chol, n_worst
                        ))
            everything = kernels.estimate(
                X, covariance_type, weights, means, chol,
                resp=True, log_norm=True, labels=True, out_dtype=dtype,
            )
            record(*everything)
            resp, log_norm, labels = everything
            assert np.all((labels >= 0) & (labels < n_components))
            np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-5)
            for i, flags in enumerate([(1, 0, 0), (0, 1, 0), (0, 0, 1)]):
                alone = kernels.estimate(
                    X, covariance_type, weights, means, chol, *map(bool, flags), out_dtype=dtype
                )
                np.testing.assert_array_equal(alone[i], everything[i])
    assert lanes_seen >= {1, 2, 3}, lanes_seen

    # Whole fits: every init, with and without weights, reviving emptied
    # components (worst_points inside the EM loop).
    INITS = ("kmeans", "k-means++", "random", "random_from_data")
    for i, covariance_type in enumerate(COVARIANCE_TYPES):
        centres = 6.0 * rng.normal(size=(3, 2))
        X = (centres[rng.integers(3, size=301)] + rng.normal(size=(301, 2))).astype(dtype)
        for sample_weight in (None, rng.uniform(0.5, 2.0, size=301)):
            model = GaussianMixture(
                3, covariance_type=covariance_type, init_params=INITS[i], max_iter=10,
                random_state=0, empty_component="reinit",
            )
            labels = model.fit_predict(X, sample_weight=sample_weight)
            assert np.array_equal(labels, model.predict(X))
            record(model.weights_, model.means_, model.covariances_, model.lower_bound_)
            record(model.predict_proba(X[:7]), model.score_samples(X[:1]), model.score(X))
        # Two points; one component, then two.
        for n_components in (1, 2):
            two = np.array([[0.0], [1.0]], dtype=dtype)
            model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
            record(model.fit(two).means_, model.predict_proba(two), model.predict(two))

    finite = bool(np.all(np.isfinite(values)))
    print(json.dumps({"calls": calls, "finite": finite, "boundscheck": numba.config.BOUNDSCHECK}))
    print("MARKER")
    '''
).replace("MARKER", MARKER)


DTYPES = ("float64", "float32")


def launch(directory):
    """Start the bounds-checked script in ``directory``, one process per dtype.

    conftest.py calls this at collection time, so that the two processes
    (about two minutes of compiling, one core each) run alongside the rest
    of the session; the test itself waits for them.

    Returns
    -------
    processes : dict of {dtype: subprocess.Popen}
    """
    directory = pathlib.Path(directory)
    script = directory / "boundscheck_kernels.py"
    script.write_text(SCRIPT)
    processes = {}
    for dtype in DTYPES:
        cache_dir = directory / f"numba-cache-{dtype}"
        cache_dir.mkdir()
        env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(cache_dir))
        with open(directory / f"{dtype}.out", "w") as out, \
                open(directory / f"{dtype}.err", "w") as err:
            processes[dtype] = subprocess.Popen(
                [sys.executable, str(script), dtype], cwd=directory, env=env, stdout=out,
                stderr=err,
            )
    return processes


def stop(processes):
    """Kill whichever of ``processes`` still run (an interrupted session)."""
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def test_every_kernel_passes_bounds_checking(boundscheck_run):
    directory, processes = boundscheck_run
    try:
        for process in processes.values():
            process.wait(timeout=900)
    finally:
        stop(processes)
    outputs = {
        dtype: ((directory / f"{dtype}.out").read_text(), (directory / f"{dtype}.err").read_text())
        for dtype in processes
    }
    for dtype, (stdout, stderr) in outputs.items():
        output = f"[{dtype}]\n{stdout}\n{stderr}"
        assert processes[dtype].returncode == 0, output
        lines = stdout.strip().splitlines()
        assert lines[-1] == MARKER, output
        summary = json.loads(lines[-2])
        assert summary["boundscheck"], output
        assert summary["finite"], output
        assert summary["calls"] > 300, summary
