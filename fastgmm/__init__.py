"""fastgmm: fast, trustworthy Gaussian mixture models.

Public names: ``GaussianMixture``, ``patch_sklearn``, ``unpatch_sklearn`` and
the NumPy oracle ``reference``.
"""

from . import reference
from .estimator import GaussianMixture
from .patch import patch_sklearn, unpatch_sklearn

__version__ = "0.1.0"
__all__ = ["GaussianMixture", "patch_sklearn", "unpatch_sklearn", "reference", "__version__"]
