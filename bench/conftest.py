"""Benchmark fixtures: workloads at smoke size by default, full size with -m bigbench."""

import pytest

from .workloads import WORKLOADS, make_data


def workload_params():
    """Each workload twice: at smoke size (default run) and full size (bigbench)."""
    params, seen = [], set()
    for workload in WORKLOADS:
        smoke = workload.smoke()
        if smoke.label not in seen:  # W7's sizes coincide at smoke size
            seen.add(smoke.label)
            params.append(pytest.param(smoke, id=f"smoke-{smoke.label.replace(' ', '-')}"))
        params.append(pytest.param(workload, id=workload.label.replace(" ", "-"),
                                   marks=pytest.mark.bigbench))
    return params


_DATA = {}


@pytest.fixture
def data(request):
    """(workload, X, init), generated once per session."""
    workload = request.param
    if workload not in _DATA:
        _DATA.clear()  # keep one large data set in memory at a time
        _DATA[workload] = make_data(workload)
    X, init = _DATA[workload]
    return workload, X, init
