"""The kernels' vectorisable exp against numpy: at most 1 ulp apart."""

import numpy as np
from numba import njit

from fastgmm.kernels._common import _exp


@njit
def _exp_array(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = _exp(x[i])
    return out


def ulp_distance(a, b):
    """Distance in units in the last place between float64 arrays of one sign."""
    ia = a.view(np.int64)
    ib = b.view(np.int64)
    return np.abs(ia - ib)


def test_exp_within_one_ulp_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-745.0, 709.7, size=400_000),
        rng.uniform(-40.0, 0.0, size=400_000),  # where log-sum-exp lives
        rng.uniform(-1e-6, 1e-6, size=10_000),
        np.linspace(-745.13, -708.0, 20_000),  # subnormal results
        np.array([0.0, -0.0, 1.0, -1.0, np.log(2.0), -np.log(2.0), 709.78, -744.4]),
    ])
    got = _exp_array(x)
    want = np.exp(x)
    assert np.max(ulp_distance(got, want)) <= 1


def test_exp_special_values():
    x = np.array([-np.inf, -746.0, -1e300, 710.0, 1e300, np.inf])
    got = _exp_array(x)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    np.testing.assert_array_equal(got, want)
