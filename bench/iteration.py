"""Time per EM iteration of one workload, for the three implementations in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.iteration W2
    python -m bench.iteration --n-samples 200000 --n-features 64 --n-components 32

Prints medians over rounds (fixed work: tol=0, 3 iterations from the same start,
setup subtracted, compile excluded), the median of per-round ratios to fastgmm
(the implementations run back to back in each round), and the lower bounds
reached.
"""

import argparse

from . import measure
from .workloads import WORKLOADS, Workload, make_data


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.iteration", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="W2", help="workload name (first match)")
    parser.add_argument("--n-samples", type=int)
    parser.add_argument("--n-features", type=int)
    parser.add_argument("--n-components", type=int)
    parser.add_argument("--covariance-type")
    parser.add_argument("--dtype", choices=["float64", "float32"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--implementations", nargs="+", default=list(measure.IMPLEMENTATIONS),
                        choices=measure.IMPLEMENTATIONS)
    args = parser.parse_args(argv)
    workload = next(w for w in WORKLOADS if w.name == args.name)
    overrides = {k: v for k, v in dict(n_samples=args.n_samples, n_features=args.n_features,
                                       n_components=args.n_components,
                                       covariance_type=args.covariance_type, dtype=args.dtype).items()
                 if v is not None}
    workload = Workload(**{**workload.__dict__, **overrides})
    info = measure.machine_info()
    print(f"{workload.label}; {info['numba_threads']} numba threads; {info['cpu']}; BLAS {info['blas']}; "
          f"OPENBLAS_* {'unset' if info['blas_env_unset'] else 'SET'}")
    X, init = make_data(workload)
    measure.warm_up(workload, X, init)
    results = measure.interleaved_seconds_per_iteration(X, workload, init, args.implementations,
                                                        rounds=args.rounds)
    for impl, r in results.items():
        ratio = "" if r["ratio_to_fastgmm"] is None else (
            f"{r['ratio_to_fastgmm']:6.1f}x fastgmm's time (median of per-round ratios)  ")
        print(f"  {impl:10s} {r['seconds'] * 1e3:10.1f} ms/iter  {ratio}"
              f"lower bound {r['lower_bound']:.12f}")
    return results


if __name__ == "__main__":
    main()
