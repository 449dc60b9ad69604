"""fastgmm's benchmark suite (pytest-benchmark) and report (``python -m bench.report``)."""
