"""``python -m fastgmm``, the README's main job, at a small size."""

import re

import pytest

from fastgmm.__main__ import main


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_main_job_fits_and_agrees_with_the_reference(capsys, covariance_type):
    main(["--n-samples", "6000", "--n-features", "3", "--n-components", "4",
          "--covariance-type", covariance_type, "--reference-iterations", "2"])
    out = capsys.readouterr().out
    assert "converged=True" in out
    agreement = float(re.search(r"labels agree .* on ([0-9.]+)% of points", out).group(1))
    # Four components 6 standard deviations apart on average: a fit that
    # found them labels nearly every point as its generating component did.
    assert agreement > 90.0
    ours, theirs = map(float, re.search(
        r"log-likelihood after them: fastgmm (\S+), reference (\S+)", out).groups())
    assert ours == pytest.approx(theirs, rel=1e-9)
