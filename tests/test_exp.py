"""The kernels' vectorisable exps and log against numpy: at most 1 ulp from
the correctly rounded result (float64: numpy's exp and log; float32: float64's
exp rounded)."""

import numpy as np
import pytest
from numba import njit

from fastgmm.kernels._common import (
    NORMAL_EXP_LOWEST,
    NORMAL_EXP_LOWEST_32,
    _exp_in_dtype,
    _log,
    _normal_exp_in_dtype,
)


@njit
def _apply(function, x):
    """A kernel function of each entry of x."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = function(x[i])
    return out


@njit
def _exp_of(x):
    return _exp_in_dtype(x)


@njit
def _normal_exp_of(x):
    return _normal_exp_in_dtype(x)


def _exp_array(x):
    """The kernels' exp of each entry, in x's dtype (``_exp_in_dtype``)."""
    return _apply(_exp_of, x)


def _log_array(x):
    """The kernels' log of each float64 entry."""
    return _apply(_log, x)


def ulp_distance(a, b):
    """Distance in units in the last place between float arrays of one sign
    and dtype."""
    as_int = np.int64 if a.dtype == np.float64 else np.int32
    return np.abs(a.view(as_int).astype(np.int64) - b.view(as_int))


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


def correctly_rounded_exp32(x):
    """exp of float32 x rounded once to float32 (float64's exp has 29 spare bits)."""
    with np.errstate(over="ignore"):
        return np.exp(x.astype(np.float64)).astype(np.float32)


def test_exp32_within_one_ulp_of_the_correctly_rounded_result():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-104.0, 88.7, size=400_000),
        rng.uniform(-20.0, 0.0, size=400_000),  # where float32 log-sum-exp lives
        rng.uniform(-1e-4, 1e-4, size=10_000),
        np.linspace(-103.9, -87.0, 20_000),  # subnormal results
        np.array([0.0, -0.0, 1.0, -1.0, np.log(2.0), -np.log(2.0), 88.72, -87.3, -103.2]),
    ]).astype(np.float32)
    got = _exp_array(x)
    assert got.dtype == np.float32
    assert np.max(ulp_distance(got, correctly_rounded_exp32(x))) <= 1
    # numpy's own float32 exp, the brief's yardstick, is within 2 ulp of it too.
    assert np.max(ulp_distance(got, np.exp(x))) <= 2


def test_exp32_special_values():
    x = np.array([-np.inf, -1e30, -104.0, -103.98, 88.73, 89.0, 1e30, np.inf], dtype=np.float32)
    np.testing.assert_array_equal(_exp_array(x), correctly_rounded_exp32(x))


@pytest.mark.parametrize("dtype, lowest", [(np.float64, NORMAL_EXP_LOWEST),
                                           (np.float32, NORMAL_EXP_LOWEST_32)])
def test_normal_exp_is_the_exp_bit_for_bit_over_its_range(dtype, lowest):
    # The fit's and score_samples' exps (floors -40 and -460, float32 -20
    # and -87) come from _normal_exp: it must give _exp's every bit, down to
    # its lowest argument, where one scaling by 2^n still holds.
    assert np.log(np.finfo(dtype).tiny) < lowest
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.uniform(lowest, 0.0, size=400_000),
        rng.uniform(-40.0, 0.0, size=400_000),
        np.linspace(lowest, lowest + 2.0, 20_000),
        np.array([0.0, -0.0, lowest, -np.log(2.0), -1e-300]),
    ]).astype(dtype)
    got = _apply(_normal_exp_of, x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), _exp_array(x).view(np.uint8))


def test_log_within_one_ulp_over_normal_numbers():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.exp(rng.uniform(-708.0, 709.0, size=400_000)),
        rng.uniform(1.0, 64.0, size=400_000),  # sums of exps, the largest 1
        1.0 + rng.uniform(0.0, 1e-6, size=10_000),
        1.0 - rng.uniform(0.0, 1e-6, size=10_000),
        np.array([1.0, 2.0, 0.5, np.sqrt(2.0), np.sqrt(0.5), np.finfo(np.float64).tiny,
                  np.finfo(np.float64).max]),
    ])
    assert np.max(ulp_distance(_log_array(x), np.log(x))) <= 1


def test_log_special_values():
    got = _log_array(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(got, [-np.inf, 0.0])
