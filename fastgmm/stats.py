"""Sufficient statistics of one EM iteration, and how partial sums merge.

Partial statistics from blocks, chunks, files or workers are computed about
the same centres within an iteration, so merging is plain addition.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SuffStats:
    """Shifted sufficient statistics, eq. (9) of docs/derivation.md.

    Attributes
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    nk : ndarray of shape (n_components,)
        sum_n w_n r_nk.
    s1 : ndarray of shape (n_components, n_features)
        sum_n w_n r_nk (x_n - shift_k).
    s2 : ndarray
        Upper triangle of the shifted second moments in the kernels' layout:
        full (K, d, d), tied (1, d, d) (sum_n w_n (x_n - c)(x_n - c)^T),
        diag (K, 1, d), spherical (K, 1, 1).
    shift : ndarray of shape (n_components, n_features)
        The centres c_k the sums were taken about.
    log_likelihood : float
        sum_n w_n log p(x_n) under the parameters of the E-step.
    weight : float
        sum_n w_n.
    """

    covariance_type: str
    nk: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    shift: np.ndarray
    log_likelihood: float
    weight: float

    @classmethod
    def from_kernel(cls, covariance_type, result):
        """Wrap the tuple returned by ``fastgmm.kernels`` functions."""
        nk, s1, s2, shift, log_likelihood, weight = result
        return cls(covariance_type, nk, s1, s2, shift, log_likelihood, weight)

    def __add__(self, other):
        if not isinstance(other, SuffStats):
            return NotImplemented
        if other.covariance_type != self.covariance_type or not np.array_equal(
            other.shift, self.shift
        ):
            raise ValueError(
                "Cannot merge statistics taken about different centres or for "
                "different covariance types; compute both parts in the same "
                "EM iteration."
            )
        return SuffStats(
            self.covariance_type,
            self.nk + other.nk,
            self.s1 + other.s1,
            self.s2 + other.s2,
            self.shift,
            self.log_likelihood + other.log_likelihood,
            self.weight + other.weight,
        )

    @property
    def mean_log_likelihood(self):
        """Weighted mean log-likelihood, scikit-learn's lower bound."""
        return self.log_likelihood / self.weight
