"""Sources: where the EM driver gets its sufficient statistics from.

A source knows where the data lives and how to run the kernels over it; the
driver only sees ``SuffStats``. For now the in-memory array is the only
source; memmaps, chunk streams and Dask plug in behind the same methods.
"""

import numpy as np

from . import kernels
from .stats import SuffStats

# Rows per call when responsibilities are generated chunk by chunk, so that no
# (n_samples, n_components) array exists at once.
_RESP_CHUNK_VALUES = 1 << 17


class ArraySource:
    """An in-memory (n_samples, n_features) array with optional sample weights.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32 or float64, already validated.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative float64 weights, already validated; None means all ones.
    """

    def __init__(self, X, sample_weight=None):
        self.X = X
        self.sample_weight = sample_weight

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def total_weight(self):
        """sum_n w_n (n_samples without weights)."""
        if self.sample_weight is None:
            return float(self.n_samples)
        return float(self.sample_weight.sum())

    def first_row(self):
        """The first point, as float64 of shape (n_features,)."""
        return np.asarray(self.X[0], dtype=np.float64)

    def statistics(self, covariance_type, params):
        """E-step over all points and their sufficient statistics.

        Parameters
        ----------
        covariance_type : str
        params : GMMParams

        Returns
        -------
        SuffStats
        """
        result = kernels.estep_statistics(
            self.X, self.sample_weight, covariance_type,
            params.weights, params.means, params.precisions_cholesky,
        )
        return SuffStats.from_kernel(covariance_type, result)

    def resp_statistics(self, covariance_type, resp_chunk, shift, n_components):
        """Statistics for responsibilities produced chunk by chunk.

        Parameters
        ----------
        covariance_type : str
        resp_chunk : callable
            ``resp_chunk(start, stop)`` returns the responsibilities of rows
            ``start:stop`` as an array of shape (stop - start, n_components).
            It is called once per chunk, in row order.
        shift : ndarray of shape (n_components, n_features)
        n_components : int

        Returns
        -------
        SuffStats
        """
        rows = max(4096, _RESP_CHUNK_VALUES // n_components)
        total = None
        for start in range(0, self.n_samples, rows):
            stop = min(start + rows, self.n_samples)
            weights = None if self.sample_weight is None else self.sample_weight[start:stop]
            result = kernels.resp_statistics(
                self.X[start:stop], weights, resp_chunk(start, stop), shift, covariance_type
            )
            part = SuffStats.from_kernel(covariance_type, result)
            total = part if total is None else total + part
        return total

    def estimate(self, covariance_type, params, resp=False, log_norm=False, labels=False,
                 out_dtype=None):
        """Per-point outputs of the E-step; see ``fastgmm.kernels.estimate``.

        ``out_dtype`` defaults to the data's dtype.
        """
        return kernels.estimate(
            self.X, covariance_type, params.weights, params.means,
            params.precisions_cholesky, resp=resp, log_norm=log_norm,
            labels=labels, out_dtype=self.X.dtype if out_dtype is None else out_dtype,
        )

    def worst_points(self, covariance_type, params, n_points):
        """Up to ``n_points`` points of lowest log-likelihood under ``params``.

        Returns
        -------
        points : ndarray of shape (m, n_features), float64, m <= n_points
        """
        index, _ = kernels.worst_points(
            self.X, self.sample_weight, covariance_type, params.weights, params.means,
            params.precisions_cholesky, n_points,
        )
        return np.asarray(self.X[index], dtype=np.float64)
