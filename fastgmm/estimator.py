"""``GaussianMixture``: scikit-learn's API wired to fastgmm's EM engine.

The class holds no math: validation here, initialisation in ``init``, the loop
in ``em``, statistics in ``kernels`` and the M-step in ``mstep``.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._validation import check_means, check_precisions, check_weights
from .em import VerboseReporter, run_em
from .init import initial_parameters
from .mstep import GMMParams, _compute_precisions
from .sources import ArraySource


def _check_magnitude(X):
    """Refuse data whose squared spread would overflow float64 in the sums."""
    largest = max(abs(float(X.max())), abs(float(X.min())))
    limit = 0.5 * math.sqrt(np.finfo(np.float64).max / (16 * X.shape[0]))
    if largest > limit:
        raise ValueError(
            f"X contains values as large as {largest:.3g} in magnitude; with "
            f"{X.shape[0]} samples, sums of squared deviations would overflow float64 "
            f"(limit {limit:.3g}). Rescale the data, for example with "
            "sklearn.preprocessing.StandardScaler."
        )


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by single-pass Numba EM.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters (in the same order, with the same defaults), attributes, methods,
    warnings and errors, and the same model for the same ``random_state``.
    Beyond scikit-learn: ``fit`` and ``fit_predict`` accept ``sample_weight``,
    and the keyword ``empty_component`` can revive emptied components.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        The type of covariance parameters to use.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initialisations; the best result is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the initial responsibilities are produced.
    weights_init : array-like of shape (n_components,), default=None
        User-provided initial weights.
    means_init : array-like of shape (n_components, n_features), default=None
        User-provided initial means.
    precisions_init : array-like, default=None
        User-provided initial precisions: (n_components,) for 'spherical',
        (n_features, n_features) for 'tied', (n_components, n_features) for
        'diag', (n_components, n_features, n_features) for 'full'.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and ``sample``.
    warm_start : bool, default=False
        Resume from the previous fit's parameters (``n_init`` is then ignored).
    verbose : int, default=0
        Print progress: 1 for iterations, 2 also for timings and the lower bound.
    verbose_interval : int, default=10
        Iterations between messages.
    empty_component : {'keep', 'reinit'}, default='keep'
        What to do with a component that loses all its responsibility (its
        summed responsibility falls below 1/1000 of an average point's
        weight). 'keep' does what scikit-learn does: the component stays,
        with a vanishing weight and a covariance of ``reg_covar``. 'reinit'
        (fastgmm only) moves it onto the worst-fitted point, with the pooled
        covariance and the average weight of the other components, so that it
        can take part again.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "empty_component": [StrOptions({"keep", "reinit"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        empty_component="keep",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.empty_component = empty_component

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; integer weights give the same model as
            repeated rows.

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, sample_weight, want_labels=False)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Estimate the model parameters, then return the labels of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._fit(X, sample_weight, want_labels=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, sample_weight, want_labels):
        saved_state = dict(self.__dict__)
        try:
            return self._fit_unguarded(X, sample_weight, want_labels)
        except BaseException:
            # A failed fit leaves a fitted estimator exactly as it was.
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise

    def _fit_unguarded(self, X, sample_weight, want_labels):
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2, order="C")
        if X.shape[0] < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {X.shape[0]}"
            )
        _check_magnitude(X)
        if sample_weight is not None:
            # Also refuses NaN, inf, a wrong shape and all-zero weights.
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            n_positive = int(np.count_nonzero(sample_weight))
            if n_positive < self.n_components:
                raise ValueError(
                    "Expected at least n_components samples with a positive "
                    f"sample_weight but got n_components = {self.n_components}, "
                    f"{n_positive} positive weights. Give more samples a positive "
                    "weight or lower n_components."
                )
        n_features = X.shape[1]
        weights_init = means_init = precisions_init = None
        if self.weights_init is not None:
            weights_init = check_weights(self.weights_init, self.n_components)
        if self.means_init is not None:
            means_init = check_means(self.means_init, self.n_components, n_features)
        if self.precisions_init is not None:
            precisions_init = check_precisions(
                self.precisions_init, self.covariance_type, self.n_components, n_features
            )

        source = ArraySource(X, sample_weight)
        random_state = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "converged_")

        def initialize():
            return initial_parameters(
                source, self.covariance_type, self.n_components, self.init_params,
                random_state, self.reg_covar, weights_init, means_init, precisions_init,
            )

        reporter = VerboseReporter(self.verbose, self.verbose_interval) if self.verbose else None
        result = run_em(
            source, self.covariance_type, initialize,
            n_init=self.n_init, max_iter=self.max_iter, tol=self.tol, reg_covar=self.reg_covar,
            warm_params=self._params_float64() if warm else None,
            warm_lower_bound=self.lower_bound_ if warm else None,
            reporter=reporter, empty_component=self.empty_component,
        )
        self._set_parameters(result.params, X.dtype)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = result.lower_bounds
        if want_labels:
            # The final E-step uses the stored attributes, so fit_predict(X)
            # always equals fit(X).predict(X).
            return self._estimate(X, labels=True)[2]
        return None

    def _set_parameters(self, params, dtype):
        self.weights_ = params.weights.astype(dtype)
        self.means_ = params.means.astype(dtype)
        self.covariances_ = None if params.covariances is None else params.covariances.astype(dtype)
        self.precisions_cholesky_ = params.precisions_cholesky.astype(dtype)
        self.precisions_ = _compute_precisions(self.precisions_cholesky_, self.covariance_type)

    def _params_float64(self):
        return GMMParams(
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            None if self.covariances_ is None else np.asarray(self.covariances_, dtype=np.float64),
            np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    # ------------------------------------------------------------ inference

    def _estimate(self, X, resp=False, log_norm=False, labels=False):
        # As scikit-learn: float32 data with a float64 model gives float64.
        return ArraySource(X).estimate(
            self.covariance_type, self._params_float64(), resp=resp, log_norm=log_norm,
            labels=labels, out_dtype=np.result_type(X.dtype, self.means_.dtype),
        )

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32], order="C")

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._validate_for_inference(X)
        return self._estimate(X, labels=True)[2]

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        X = self._validate_for_inference(X)
        return self._estimate(X, resp=True)[0]

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X = self._validate_for_inference(X)
        return self._estimate(X, log_norm=True)[1]

    def score(self, X, y=None):
        """Mean log-likelihood of the samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture, as scikit-learn does.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component labels.
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % (self.n_components)
            )
        _, n_features = self.means_.shape
        rng = check_random_state(self.random_state)
        n_samples_comp = rng.multinomial(n_samples, self.weights_)
        if self.covariance_type == "full":
            X = np.vstack([
                rng.multivariate_normal(mean, covariance, int(count))
                for mean, covariance, count in zip(self.means_, self.covariances_, n_samples_comp)
            ])
        elif self.covariance_type == "tied":
            X = np.vstack([
                rng.multivariate_normal(mean, self.covariances_, int(count))
                for mean, count in zip(self.means_, n_samples_comp)
            ])
        else:
            X = np.vstack([
                mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(covariance)
                for mean, covariance, count in zip(self.means_, self.covariances_, n_samples_comp)
            ])
        y = np.concatenate([np.full(count, k, dtype=np.int64) for k, count in enumerate(n_samples_comp)])
        return np.asarray(X, dtype=np.float64), y

    # ----------------------------------------------------- model selection

    def _n_parameters(self):
        """Number of free parameters of the model."""
        _, n_features = self.means_.shape
        if self.covariance_type == "full":
            cov_params = self.n_components * n_features * (n_features + 1) / 2.0
        elif self.covariance_type == "diag":
            cov_params = self.n_components * n_features
        elif self.covariance_type == "tied":
            cov_params = n_features * (n_features + 1) / 2.0
        else:
            cov_params = self.n_components
        mean_params = n_features * self.n_components
        return int(cov_params + mean_params + self.n_components - 1)

    def bic(self, X):
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n_samples = np.asarray(X).shape[0] if not hasattr(X, "shape") else X.shape[0]
        return -2 * self.score(X) * n_samples + self._n_parameters() * math.log(n_samples)

    def aic(self, X):
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        n_samples = np.asarray(X).shape[0] if not hasattr(X, "shape") else X.shape[0]
        return -2 * self.score(X) * n_samples + 2 * self._n_parameters()
