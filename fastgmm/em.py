"""The EM loop over a source of sufficient statistics.

Control flow copies scikit-learn's ``BaseMixture.fit_predict``: the lower bound
of an iteration is the mean log-likelihood before its M-step, convergence is
|change| < tol, the best of ``n_init`` keeps the first init on ties, and the
ConvergenceWarning text is the same.
"""

import warnings
from dataclasses import dataclass, field
from functools import partial
from time import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .kernels import reused_buffers
from .mstep import m_step

CONVERGENCE_WARNING = (
    "Best performing initialization did not converge. "
    "Try different init parameters, or increase max_iter, "
    "tol, or check for degenerate data."
)


@dataclass
class EMResult:
    """Outcome of ``run_em``: the best init's parameters and its history."""

    params: object
    n_iter: int
    lower_bound: float
    lower_bounds: list = field(default_factory=list)
    converged: bool = False


class VerboseReporter:
    """scikit-learn's verbose messages (verbose=1 or 2), printed to stdout."""

    def __init__(self, verbose, verbose_interval):
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self._init_start = self._iter_start = time()

    def init_begin(self, init):
        if self.verbose >= 1:
            print("Initialization %d" % init)
            self._init_start = self._iter_start = time()

    def iteration_end(self, n_iter, change):
        if n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print("  Iteration %d" % n_iter)
        elif self.verbose >= 2:
            now = time()
            print(
                "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                % (n_iter, now - self._iter_start, change)
            )
            self._iter_start = now

    def init_end(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            elapsed = time() - self._init_start
            print(
                f"Initialization {message}. time lapse {elapsed:.5f}s\t lower bound"
                f" {lower_bound:.5f}."
            )


# A component whose summed responsibility falls below this fraction of an
# average point's weight counts as empty (empty_component="reinit").
EMPTY_FRACTION = 1e-3


def run_em(source, covariance_type, initialize, *, n_init, max_iter, tol, reg_covar,
           warm_params=None, warm_lower_bound=None, reporter=None, empty_component="keep"):
    """Fit by EM, keeping the best of ``n_init`` initialisations.

    Parameters
    ----------
    source : ArraySource or another source
        Gives ``statistics(covariance_type, params)`` per iteration.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    initialize : callable
        ``initialize()`` returns fresh ``GMMParams``; called once per init.
    n_init, max_iter : int
    tol, reg_covar : float
    warm_params : GMMParams or None
        Start here instead of initialising (warm start); forces one init.
    warm_lower_bound : float or None
        The lower bound the warm start resumes from.
    reporter : VerboseReporter or None
    empty_component : {'keep', 'reinit'}
        'reinit' moves a component that lost all its responsibility onto the
        worst-fitted point (one extra pass, only in iterations where it
        happens).

    Returns
    -------
    EMResult
    """
    eps = np.finfo(source.dtype).eps
    min_nk = EMPTY_FRACTION * source.total_weight / source.n_samples
    do_init = warm_params is None
    n_init = n_init if do_init else 1
    best = EMResult(params=None, n_iter=0, lower_bound=-np.inf)
    # One set of pass buffers serves every iteration (kernels.reused_buffers).
    with reused_buffers():
        for init in range(n_init):
            if reporter is not None:
                reporter.init_begin(init)
            params = initialize() if do_init else warm_params
            lower_bound = -np.inf if do_init else warm_lower_bound
            if max_iter == 0:
                best.params, best.n_iter = params, 0
                continue
            lower_bounds = []
            converged = False
            for n_iter in range(1, max_iter + 1):
                previous = lower_bound
                stats = source.statistics(covariance_type, params)
                worst_points = None
                if empty_component == "reinit":
                    worst_points = partial(source.worst_points, covariance_type, params)
                params = m_step(stats, reg_covar, eps, source.dtype, min_nk, worst_points)
                lower_bound = stats.mean_log_likelihood
                lower_bounds.append(lower_bound)
                change = lower_bound - previous
                if reporter is not None:
                    reporter.iteration_end(n_iter, change)
                if abs(change) < tol:
                    converged = True
                    break
            if reporter is not None:
                reporter.init_end(lower_bound, converged)
            if lower_bound > best.lower_bound or best.lower_bound == -np.inf:
                best = EMResult(params, n_iter, lower_bound, lower_bounds, converged)
    if not best.converged and max_iter > 0:
        warnings.warn(CONVERGENCE_WARNING, ConvergenceWarning)
    return best
