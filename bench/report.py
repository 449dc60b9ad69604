"""Run the benchmark grid and write docs/benchmarks.md with tables and plots.

    python -m bench.report            # full grid (about 30 minutes on 2 cores)
    python -m bench.report --quick    # W1, W2, W5, W6 (W2), W7 to 1e6
    python -m bench.report --smoke    # tiny sizes, a check that it all runs

The scikit-learn and NumPy baselines use OpenBLAS. OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE slow it down on this machine, so the report re-runs itself
with both unset (for every implementation; fastgmm's kernels do not call BLAS)
and says so in its output.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time
from dataclasses import asdict, replace

import numpy as np

from . import measure
from .workloads import WORKLOADS, make_data

ROOT = pathlib.Path(__file__).resolve().parent.parent


_BIG_BASELINE_SAMPLES = 2_000_000


def _select(mode):
    if mode == "full":
        return list(WORKLOADS)
    quick = [w for w in WORKLOADS if w.name in ("W1", "W2", "W5")
             or (w.name == "W6" and w.n_features == 16)
             or (w.name == "W7" and w.n_samples <= 1_000_000)]
    if mode == "quick":
        return quick
    smoke, seen = [], set()
    for w in quick:
        s = replace(w, n_samples=min(w.n_samples // 100, 20_000))
        if s not in seen:
            seen.add(s)
            smoke.append(s)
    return smoke


def run(mode, log=print):
    """Measure everything; return a JSON-able dict of results."""
    rounds = 1 if mode == "smoke" else 3
    results = dict(mode=mode, machine=measure.machine_info(), dgemm_gflops=measure.dgemm_gflops(
        n=512 if mode == "smoke" else 4096), workloads=[], end_to_end=[], threads=[], memory=[],
        compile=[], command=" ".join(["python -m bench.report"] + sys.argv[1:]))
    log(f"machine: {results['machine']}")
    log(f"dgemm peak: {results['dgemm_gflops']:.1f} GFLOP/s")
    exp_values = 1 << 16 if mode == "smoke" else 1 << 24
    results["exp_per_second"] = measure.exp_rate(n=exp_values)
    log(f"vectorised exp, in cache: {results['exp_per_second'] / 1e9:.2f} Gexp/s")
    for workload in _select(mode):
        X, init = make_data(workload)
        measure.warm_up(workload, X, init)
        row = dict(workload=asdict(workload), label=workload.label,
                   flops=workload.flops_per_iteration())
        # The baselines take about a minute per iteration at N = 1e7: one
        # timed iteration there, in one round for the baselines (fastgmm
        # keeps its rounds); all three run the same iterations.
        big = workload.n_samples > _BIG_BASELINE_SAMPLES
        timed = measure.interleaved_seconds_per_iteration(
            X, workload, init, n_iter=1 if big else 3, rounds=rounds,
            baseline_rounds=1 if big else None)
        for impl in measure.IMPLEMENTATIONS:
            t = timed[impl]
            row[impl] = dict(seconds=t["seconds"], lower_bound=t["lower_bound"],
                             rounds=t["rounds"], ratio_to_fastgmm=t["ratio_to_fastgmm"])
            log(f"{workload.label:55s} {impl:9s} {t['seconds'] * 1e3:10.1f} ms/iter  "
                f"{t['ratio_to_fastgmm']:6.1f}x fastgmm by rounds  lb={t['lower_bound']:.10f}")
        row["gflops"] = row["flops"] / row["fastgmm"]["seconds"] / 1e9
        row["fraction_of_peak"] = row["gflops"] / results["dgemm_gflops"]
        reference = row["reference"]["lower_bound"]
        row["max_relative_disagreement"] = max(
            abs(row[i]["lower_bound"] - reference) / abs(reference) for i in ("fastgmm", "sklearn"))
        # The same criteria as bench/test_bench.py::test_implementations_agree.
        float32 = workload.dtype == "float32"
        limits = {"fastgmm": 1e-5 if float32 else 1e-6, "sklearn": 1e-3 if float32 else 1e-6}
        row["disagrees"] = [i for i, limit in limits.items()
                            if abs(row[i]["lower_bound"] - reference) > limit * abs(reference)]
        if row["disagrees"]:
            log(f"FAIL {workload.label}: {row['disagrees']} disagree with the reference")
        if float32:
            row["paired_float64"] = _paired_float64(workload, X, init, rounds, log)
        if workload.name in EXP_FLOOR_WORKLOADS:
            row["paired_exp_floor"] = _paired_exp_floor(workload, X, init, rounds, exp_values,
                                                        log)
        results["workloads"].append(row)
        if workload.name == "W2" and workload.covariance_type == "full" and workload.dtype == "float64" \
                and workload.n_samples == max(w.n_samples for w in _select(mode) if w.name == "W2"):
            _threads_and_end_to_end(results, workload, X, init, rounds, log)
        del X
    scaling = [w for w in _select(mode) if w.name == "W7"]
    if len(scaling) > 1:
        results["scaling_paired"] = _paired_scaling(scaling, rounds, log)
    for workload in _select(mode):
        if workload.name == "W7" or (mode == "smoke" and workload.name == "W2"):
            for init_params in ("kmeans", "k-means++", "random", "random_from_data"):
                memory = measure.peak_memory(workload, init_params=init_params)
                results["memory"].append(dict(label=workload.label, n_samples=workload.n_samples,
                                              init_params=init_params, **memory))
                log(f"memory {workload.label} {init_params}: +{memory['growth'] / 2**20:.1f} MiB "
                    f"over {memory['data'] / 2**20:.1f} MiB of data")
    compile_types = ("full",) if mode == "smoke" else ("full", "tied", "diag", "spherical")
    # Several rounds: on a shared host one cold compile varies by +-20%.
    compile_rounds = 1 if mode == "smoke" else 3
    for covariance_type in compile_types:
        cold, warm = [], []
        for _ in range(compile_rounds):
            # A new empty numba cache per round and type: each cold figure
            # is one type alone.
            with tempfile.TemporaryDirectory() as cache:
                cold.append(measure.compile_seconds(covariance_type, cache_dir=cache))
                warm.append(measure.compile_seconds(covariance_type, cache_dir=cache))
        cold_seconds = [c[0] for c in cold]
        results["compile"].append(dict(
            covariance_type=covariance_type, cold_seconds=float(np.median(cold_seconds)),
            cold_range=[min(cold_seconds), max(cold_seconds)],
            warm_seconds=float(np.median([w[0] for w in warm])),
            import_seconds=float(np.median([w[1] for w in warm]))))
        log(f"compile ({covariance_type}): cold cache {', '.join(f'{c:.2f}' for c in cold_seconds)} s, "
            f"warm cache {results['compile'][-1]['warm_seconds']:.2f} s")
    return results


def _paired_rounds(rounds):
    # Paired ratios need a few pairs to take a median of.
    return 1 if rounds == 1 else 7


# Workloads whose exps dominate, timed against the exp floor.
EXP_FLOOR_WORKLOADS = ("W1", "W4")


def _paired_exp_floor(workload, X, init, rounds, exp_values, log):
    """An iteration against its N*K exps, the exp's rate timed right before
    it in each round: the rate taken once at the report's start meets the
    iterations minutes later, after the host's speed has drifted."""
    n_exps = workload.n_samples * workload.n_components
    rates, seconds = [], []
    for _ in range(_paired_rounds(rounds)):
        rates.append(measure.exp_rate(n=exp_values, rounds=1))
        seconds.append(measure.seconds_per_iteration("fastgmm", X, workload, init, rounds=1)[0])
    ratios = np.array(seconds) * np.array(rates) / n_exps
    log(f"{workload.label}: {np.median(ratios):.2f}x its exp floor, paired over {len(ratios)} rounds")
    return dict(ratio=float(np.median(ratios)), rounds=len(ratios),
                exp_per_second=float(np.median(rates)), seconds=float(np.median(seconds)))


def _paired_float64(workload, X, init, rounds, log):
    """float64 against float32 on the same problem, rounds interleaved."""
    twin = replace(workload, dtype="float64")
    X64, init64 = make_data(twin)
    seconds, ratios = measure.paired_seconds_per_iteration(
        [(X64, twin, init64, None), (X, workload, init, None)], rounds=_paired_rounds(rounds))
    log(f"{workload.label}: float64 {np.median(seconds[0]) * 1e3:.1f} ms, float32 "
        f"{np.median(seconds[1]) * 1e3:.1f} ms per iteration, paired ratio {ratios[1]:.2f}x")
    return dict(float64_seconds=float(np.median(seconds[0])),
                float32_seconds=float(np.median(seconds[1])),
                ratio=float(ratios[1]), rounds=int(seconds.shape[1]))


def _paired_scaling(workloads, rounds, log):
    """Time per point of each W7 size, rounds interleaved across the sizes."""
    cases = [(*make_data(w), w) for w in workloads]
    for X, init, w in cases:
        measure.warm_up(w, X, init)
    # Three timed iterations at every size, as the table times up to N = 2e6:
    # one iteration at N = 1e5 is a difference of two fits of 15-30 ms, and
    # it read 10-20% slower per point than three (141-156 against 133-141 ns,
    # 7 rounds each), which alone made the spread look like 30%.
    seconds, ratios = measure.paired_seconds_per_iteration(
        [(X, w, init, None) for X, init, w in cases], n_iter=3, rounds=_paired_rounds(rounds))
    n = np.array([w.n_samples for w in workloads], dtype=float)
    # ratios[i] = median over rounds of t_0 / t_i; per point relative to size 0:
    per_point = (1.0 / ratios) * n[0] / n
    spread = float(per_point.max() / per_point.min() - 1)
    log("W7 paired time per point relative to N={:,}: {} (spread {:.0f}%)".format(
        workloads[0].n_samples, ", ".join(f"{p:.3f}" for p in per_point), 100 * spread))
    return dict(n_samples=[int(v) for v in n],
                seconds=[float(v) for v in np.median(seconds, axis=1)],
                relative_per_point=[float(v) for v in per_point], spread=spread,
                rounds=int(seconds.shape[1]))


def _threads_and_end_to_end(results, workload, X, init, rounds, log):
    seconds, ratios = measure.paired_seconds_per_iteration(
        [(X, workload, init, 1), (X, workload, init, 2)], rounds=_paired_rounds(rounds))
    for threads, times, ratio in zip((1, 2), seconds, ratios):
        results["threads"].append(dict(label=workload.label, threads=threads,
                                       seconds=float(np.median(times)), paired_ratio=float(ratio),
                                       rounds=int(seconds.shape[1])))
        log(f"{workload.label} fastgmm with {threads} thread(s): {np.median(times) * 1e3:.1f} "
            f"ms/iter, paired ratio to 1 thread {ratio:.2f}x")
    for impl in ("fastgmm", "sklearn"):
        seconds, n_iter, lower_bound = measure.end_to_end(impl, X, workload)
        results["end_to_end"].append(dict(label=workload.label, implementation=impl,
                                          seconds=seconds, n_iter=n_iter, lower_bound=lower_bound))
        log(f"{workload.label} default fit {impl}: {seconds:.2f} s, {n_iter} iterations")


# ---------------------------------------------------------------- rendering


def _short_label(w):
    """Two short lines for a plot axis: name, then what sets it apart."""
    n = w["n_samples"]
    size = f"N={n / 1e6:g}M" if n >= 1_000_000 else f"N={n / 1e3:g}k"
    return f"{w['name']} {w['covariance_type']}\n{size} d={w['n_features']} K={w['n_components']}" + (
        " f32" if w["dtype"] == "float32" else "")


def _save(plt, fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return name


def _plots(results, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["workloads"]
    names = [_short_label(r["workload"]) for r in rows]
    files = {}

    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(rows)), 4.2))
    sk = [_speedup(r, "sklearn") for r in rows]
    ref = [_speedup(r, "reference") for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, sk, 0.4, label="vs scikit-learn")
    ax.bar(x + 0.2, ref, 0.4, label="vs NumPy reference")
    ax.set_xticks(x, names, fontsize=7)
    ax.set_ylabel("speedup per EM iteration (x)")
    ax.set_title("fastgmm speedup per EM iteration (higher is better)")
    ax.axhline(1, color="black", lw=0.8)
    ax.legend()
    files["speedup"] = _save(plt, fig, out_dir, "benchmarks_speedup.png")

    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(rows)), 4.2))
    ax.bar(x, [r["gflops"] for r in rows], 0.6, label="fastgmm")
    ax.axhline(results["dgemm_gflops"], color="red", ls="--", label="dgemm peak (same run)")
    ax.set_xticks(x, names, fontsize=7)
    ax.set_ylabel("GFLOP/s")
    ax.set_title("Achieved GFLOP/s per EM iteration against the float64 dgemm peak")
    ax.legend()
    files["gflops"] = _save(plt, fig, out_dir, "benchmarks_gflops.png")

    scaling = [r for r in rows if r["workload"]["name"] == "W7"]
    if scaling:
        fig, (ax, per_point) = plt.subplots(1, 2, figsize=(11, 4))
        n = [r["workload"]["n_samples"] for r in scaling]
        for impl in measure.IMPLEMENTATIONS:
            ax.loglog(n, [r[impl]["seconds"] for r in scaling], "o-", label=impl)
        ax.set_xlabel("n_samples")
        ax.set_ylabel("seconds per EM iteration")
        ax.set_title("Time per iteration against N (W7: d=16, K=16, full)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        per_point.semilogx(n, [r["fastgmm"]["seconds"] / m * 1e9 for r, m in zip(scaling, n)],
                           "o-", label="table medians (sizes timed minutes apart)")
        paired = results.get("scaling_paired")
        if paired:
            paired_ns = [s / m * 1e9 for s, m in zip(paired["seconds"], paired["n_samples"])]
            per_point.semilogx(paired["n_samples"], paired_ns, "s-",
                               label=f"interleaved rounds ({paired['rounds']}), medians")
            # The criterion: within 15% of each other.
            low = min(paired_ns)
            per_point.axhspan(low, 1.15 * low, color="green", alpha=0.12,
                              label="15% above the fastest (interleaved)")
        per_point.set_ylim(bottom=0)
        per_point.set_xlabel("n_samples")
        per_point.set_ylabel("fastgmm ns per point per iteration")
        per_point.set_title("fastgmm time per point against N (W7)")
        per_point.legend(fontsize=8, loc="lower left")
        per_point.grid(True, which="both", alpha=0.3)
        files["scaling"] = _save(plt, fig, out_dir, "benchmarks_scaling.png")

    if results["memory"]:
        fig, ax = plt.subplots(figsize=(6, 4))
        for init_params in sorted({m["init_params"] for m in results["memory"]}):
            pts = sorted((m["n_samples"], m["growth"] / 2**20, m["data"] / 2**20)
                         for m in results["memory"] if m["init_params"] == init_params)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"fit, init={init_params}")
        pts = sorted({(m["n_samples"], m["data"] / 2**20) for m in results["memory"]})
        ax.plot([p[0] for p in pts], [0.05 * p[1] for p in pts], "k--", label="5% of the data")
        ax.set_xscale("log")
        ax.set_xlabel("n_samples")
        ax.set_ylabel("peak RSS over loaded data (MiB)")
        ax.set_title("Peak memory of a fit (d=16, K=16, full)")
        ax.legend()
        files["memory"] = _save(plt, fig, out_dir, "benchmarks_memory.png")
    return files


def _speedup(row, implementation):
    """fastgmm's speedup over ``implementation`` on a table row: the median
    of per-round ratios, or the ratio of medians in JSON written before the
    rounds were interleaved."""
    ratio = row[implementation].get("ratio_to_fastgmm")
    if ratio is None:
        ratio = row[implementation]["seconds"] / row["fastgmm"]["seconds"]
    return ratio


def _derived_lines(results):
    """Figures computed from the table: float32 against float64, time
    against the exp floor, and time per point against N."""
    rows = results["workloads"]
    lines = []
    for r in rows:
        w = r["workload"]
        if w["dtype"] != "float32":
            continue
        twin = next((o for o in rows if o["workload"]["dtype"] == "float64"
                     and all(o["workload"][k] == w[k] for k in
                             ("n_samples", "n_features", "n_components", "covariance_type"))), None)
        if twin is not None:
            lb32, lb64 = r["fastgmm"]["lower_bound"], twin["fastgmm"]["lower_bound"]
            speedup = twin["fastgmm"]["seconds"] / r["fastgmm"]["seconds"]
            line = f"- float32 {r['label']}: {speedup:.2f}x faster than float64 by the table's rows"
            paired = r.get("paired_float64")
            if paired:
                line += (f"; {paired['ratio']:.2f}x as the median ratio of {paired['rounds']} "
                         f"interleaved rounds (float64 {paired['float64_seconds'] * 1e3:.1f} ms, "
                         f"float32 {paired['float32_seconds'] * 1e3:.1f} ms)")
            lines.append(line + f"; lower bounds differ by {abs(lb32 - lb64) / abs(lb64):.1e} "
                         "relative.")
    rate = results.get("exp_per_second")
    if rate:
        for r in rows:
            w = r["workload"]
            if w["name"] in EXP_FLOOR_WORKLOADS:
                floor = w["n_samples"] * w["n_components"] / rate
                line = (f"- {r['label']}: {r['fastgmm']['seconds'] * 1e3:.1f} ms per iteration "
                        f"against {floor * 1e3:.1f} ms for its N*K exponentials alone at "
                        f"{rate / 1e9:.2f} Gexp/s, the kernels' exp in cache on every thread "
                        f"({r['fastgmm']['seconds'] / floor:.1f}x the floor)")
                paired = r.get("paired_exp_floor")
                if paired:
                    line += (f"; {paired['ratio']:.2f}x as the median ratio of {paired['rounds']} "
                             f"rounds that time the exp right before the iteration (median "
                             f"{paired['exp_per_second'] / 1e9:.2f} Gexp/s, "
                             f"{paired['seconds'] * 1e3:.1f} ms)")
                lines.append(line + ".")
    scaling = sorted((r["workload"]["n_samples"], r["fastgmm"]["seconds"] / r["workload"]["n_samples"])
                     for r in rows if r["workload"]["name"] == "W7")
    if len(scaling) > 1:
        per_point = [s for _, s in scaling]
        lines.append(f"- W7 time per point from N={scaling[0][0]:,} to N={scaling[-1][0]:,}: "
                     + ", ".join(f"{s * 1e9:.0f} ns" for s in per_point)
                     + f" (spread {100 * (max(per_point) / min(per_point) - 1):.0f}%).")
    paired = results.get("scaling_paired")
    if paired:
        lines.append("- W7 time per point with the sizes' rounds interleaved "
                     f"({paired['rounds']} rounds, three iterations each, median of per-round "
                     f"ratios), relative to N={paired['n_samples'][0]:,}: "
                     + ", ".join(f"{p:.3f}" for p in paired["relative_per_point"])
                     + f" (spread {100 * paired['spread']:.0f}%; medians "
                     + ", ".join(f"{s / n * 1e9:.0f} ns" for s, n in
                                 zip(paired["seconds"], paired["n_samples"])) + " per point).")
    return ["", "Derived figures:", ""] + lines if lines else []


def render(results, out_dir):
    """Write benchmarks.md (and the PNG plots) into ``out_dir``."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _plots(results, out_dir)
    m = results["machine"]
    lines = [
        "# fastgmm benchmarks",
        "",
        f"Produced by `{results['command']}` ({results['mode']} grid). Machine: {m['cpu']}"
        + (f" (numba target {m['cpu_target']}, {'AVX-512' if m['avx512'] else 'no AVX-512'})"
           if "cpu_target" in m else "") + ", "
        f"{m['cores']} cores, {m['numba_threads']} numba threads; BLAS {m['blas']}; Python "
        f"{m['python']}, numpy {m['numpy']}, numba {m['numba']}, scikit-learn {m['scikit-learn']}, "
        f"fastgmm {m['fastgmm']}. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE "
        f"{'unset for all implementations' if m['blas_env_unset'] else 'SET (baselines slowed)'}. "
        f"Float64 dgemm peak measured in the same run: {results['dgemm_gflops']:.1f} GFLOP/s.",
        "",
        "Time per EM iteration: fixed work (tol=0, 3 iterations from the same given start, "
        "setup subtracted), median of rounds, JIT compile excluded; the NumPy reference and "
        f"scikit-learn above N = {_BIG_BASELINE_SAMPLES:,} get one round, and every "
        "implementation there times one iteration. "
        + ("Each round times the three implementations back to back, and the columns vs "
           "reference and vs scikit-learn are the median of the rounds' ratios "
           "(bench.measure.interleaved_seconds_per_iteration). "
           if all("ratio_to_fastgmm" in r["fastgmm"] for r in results["workloads"]) else "")
        + "The lower bound columns "
        "check that the three implementations computed the same thing. "
        "GFLOP/s divides the nominal flops of an iteration (N K (2d^2 + 3d) for full, "
        "bench/workloads.py) by its time. The statistics skip points whose responsibility "
        "is zero, so an iteration can do less work than that, and float32 rows are "
        "compared with the float64 dgemm: either can read above 100%. "
        "The thread and float32 ratios are also given as the median of per-round ratios "
        "over interleaved rounds (bench.measure.paired_seconds_per_iteration): on a shared "
        "machine the speed drifts by tens of percent within minutes, and both cases of a "
        "round see the same drift.",
        "",
        "| workload | fastgmm ms | reference ms | scikit-learn ms | vs reference | vs scikit-learn "
        "| GFLOP/s | % of dgemm | max rel. lower-bound difference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["workloads"]:
        f, ref, sk = (r[i]["seconds"] for i in measure.IMPLEMENTATIONS)
        lines.append(
            f"| {r['label']} | {f * 1e3:.1f} | {ref * 1e3:.1f} | {sk * 1e3:.1f} | "
            f"{_speedup(r, 'reference'):.1f}x | {_speedup(r, 'sklearn'):.1f}x | "
            f"{r['gflops']:.1f} | {100 * r['fraction_of_peak']:.0f}% | "
            f"{r['max_relative_disagreement']:.1e}"
            f"{' FAIL: ' + ', '.join(r['disagrees']) if r.get('disagrees') else ''} |")
    lines += _derived_lines(results)
    if results["threads"]:
        t = {row["threads"]: row for row in results["threads"]}
        line = (f"Threads ({results['threads'][0]['label']}): 1 thread {t[1]['seconds'] * 1e3:.1f} ms, "
                f"2 threads {t[2]['seconds'] * 1e3:.1f} ms per iteration, "
                f"{t[1]['seconds'] / t[2]['seconds']:.2f}x")
        if "paired_ratio" in t[2]:  # older JSON has separate medians only
            line += (f"; {t[2]['paired_ratio']:.2f}x as the median ratio of {t[2]['rounds']} "
                     "interleaved rounds")
        lines += ["", line + "."]
    if results["end_to_end"]:
        e = {row["implementation"]: row for row in results["end_to_end"]}
        lines += ["", f"Default fit end to end ({e['fastgmm']['label']}, kmeans init, default tol): "
                  f"fastgmm {e['fastgmm']['seconds']:.2f} s ({e['fastgmm']['n_iter']} iterations), "
                  f"scikit-learn {e['sklearn']['seconds']:.2f} s ({e['sklearn']['n_iter']} iterations), "
                  f"{e['sklearn']['seconds'] / e['fastgmm']['seconds']:.1f}x."]
    if results["memory"]:
        lines += ["", "Peak memory of a fit above the RSS with the data loaded (subprocess, psutil):",
                  "", "| workload | init | data MiB | growth MiB | growth / data |", "|---|---|---|---|---|"]
        for row in results["memory"]:
            lines.append(f"| {row['label']} | {row['init_params']} | {row['data'] / 2**20:.1f} | "
                         f"{row['growth'] / 2**20:.1f} | {100 * row['growth'] / row['data']:.1f}% |")
    lines += ["", "Compile: seconds the first fit and predict in a fresh process spend beyond "
              "the second (kmeans init, so the k-means kernels are included), with a new empty "
              "numba cache (cold) and with the cache it filled (warm); medians over the rounds, "
              "each with a new cache, and the range of the cold rounds:", "",
              "| covariance type | cold cache s | cold range s | warm cache s | import s |",
              "|---|---|---|---|---|"]
    compiles = results["compile"]
    for c in [compiles] if isinstance(compiles, dict) else compiles:  # older JSON: one dict
        low, high = c.get("cold_range", [c["cold_seconds"]] * 2)
        lines.append(f"| {c['covariance_type']} | {c['cold_seconds']:.2f} | {low:.2f}-{high:.2f} | "
                     f"{c['warm_seconds']:.2f} | {c['import_seconds']:.2f} |")
    lines.append("")
    for key, title in (("speedup", "Speedup"), ("gflops", "GFLOP/s against the dgemm peak"),
                       ("scaling", "Time per iteration against N"), ("memory", "Peak memory against N")):
        if key in files:
            lines += [f"![{title}]({files[key]})", ""]
    (out_dir / "benchmarks.md").write_text("\n".join(lines))
    (out_dir / "benchmarks.json").write_text(json.dumps(results, indent=1))
    return out_dir / "benchmarks.md"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_const", dest="mode", const="quick")
    group.add_argument("--smoke", action="store_const", dest="mode", const="smoke")
    parser.add_argument("--output", default=str(ROOT / "docs"))
    parser.add_argument("--render-only", metavar="JSON",
                        help="re-render the page and plots from a saved benchmarks.json")
    args = parser.parse_args(argv)
    if args.render_only:
        path = render(json.loads(pathlib.Path(args.render_only).read_text()), args.output)
        print(f"wrote {path}")
        return path
    mode = args.mode or "full"
    if any(v in os.environ for v in measure.BLAS_VARIABLES) and argv is None:
        print(f"re-running with {' and '.join(measure.BLAS_VARIABLES)} unset (baselines' OpenBLAS)")
        env = {k: v for k, v in os.environ.items() if k not in measure.BLAS_VARIABLES}
        os.execve(sys.executable, [sys.executable, "-m", "bench.report"] + sys.argv[1:], env)
    start = time.perf_counter()
    results = run(mode)
    path = render(results, args.output)
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
    return path


if __name__ == "__main__":
    main()
