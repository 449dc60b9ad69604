"""Make ``from sklearn.mixture import GaussianMixture`` give fastgmm's class.

``patch_sklearn()`` patches at once and returns a handle that also works as a
context manager, undoing the patch on exit::

    with fastgmm.patch_sklearn():
        from sklearn.mixture import GaussianMixture   # fastgmm's
"""

import sklearn.mixture

_ORIGINAL = sklearn.mixture.GaussianMixture


class _Patch:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        unpatch_sklearn()
        return False


def patch_sklearn():
    """Replace ``sklearn.mixture.GaussianMixture`` with ``fastgmm.GaussianMixture``.

    Returns
    -------
    patch : context manager
        Leaving its ``with`` block calls ``unpatch_sklearn()``.
    """
    from .estimator import GaussianMixture

    sklearn.mixture.GaussianMixture = GaussianMixture
    return _Patch()


def unpatch_sklearn():
    """Restore scikit-learn's own ``GaussianMixture``."""
    sklearn.mixture.GaussianMixture = _ORIGINAL


def is_patched():
    """True while ``sklearn.mixture.GaussianMixture`` is fastgmm's class."""
    return sklearn.mixture.GaussianMixture is not _ORIGINAL
