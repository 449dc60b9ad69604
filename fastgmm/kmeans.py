"""k-means and k-means++ that give scikit-learn's results without copying X.

``kmeans_plusplus`` and ``kmeans`` consume a ``RandomState`` exactly as
``sklearn.cluster.kmeans_plusplus`` and ``KMeans(n_init=1)`` do, follow their
algorithms step by step (greedy k-means++ with 2 + log(K) trials, Lloyd with
scikit-learn's tolerance, empty-cluster relocation and stopping rules), and
so pick the same seeds and labels. Only rounding differs: sums are taken in
another order, so a point within rounding of two centres could in principle
go the other way.

Memory is O(K d) per lane. Nothing of size n_samples is kept, except a
2-byte nearest-seed index when k-means++ seeds more than
``_RECOMPUTE_MAX_CENTRES`` centres, and the distances scikit-learn sorts
when a Lloyd step leaves a cluster empty (rare).
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .kernels import _threads_for, numba_threads
from .kernels._common import aligned_array, lane_count
from .kernels.kmeans import kmeans_buffers, kmeans_pass

# Up to this many centres, k-means++ recomputes each point's nearest seed
# (O(K^2 d) per point in all, vectorised); beyond it a 2-byte index is kept.
_RECOMPUTE_MAX_CENTRES = 8
_INDEX_DTYPE = np.uint16
_NO_INDEX = np.empty(0, dtype=_INDEX_DTYPE)
_NO_LABELS = np.empty(0, dtype=np.int64)
_NO_WEIGHTS = np.empty(0)


def _lanes(X, n_clusters):
    # Independent of the number of candidates: the seeding search must see
    # the lanes of the pass whose potentials it reads.
    n_samples, n_features = X.shape
    per_lane = n_clusters * (n_features + 2) + 64
    return lane_count(n_samples, n_clusters, per_lane), _block_size(n_features)


def _block_size(n_features):
    # Measured on W2's k-means (d = 16): 128 points per block 522-600 ms,
    # 256 points 606-786 ms. Its per-block work is O(K d) per point with
    # short inner loops, unlike the EM passes' tiles (kernels._common.BLOCK).
    return 256 if n_features <= 4 or n_features >= 48 else 128


def _run(X, sample_weight, mean, centres, n_centres, seeding=False, closest=_NO_INDEX,
         candidates=None, out_labels=_NO_LABELS, search=None):
    n_lanes, block = _lanes(X, centres.shape[0])
    if candidates is None:
        candidates = np.empty((0, X.shape[1]))
    n_clusters, n_features = centres.shape
    n_trials = candidates.shape[0]
    lanes = (
        aligned_array((n_lanes, n_clusters, n_features)),
        aligned_array((n_lanes, n_clusters)),
        aligned_array((n_lanes, n_clusters), np.int64),
        aligned_array((n_lanes, 1 + n_trials)),
        aligned_array(1, np.int64),
    )
    with numba_threads(_threads_for(n_lanes)) as n_threads:
        n_workers = min(n_threads, n_lanes)
        kmeans_pass(
            X, _NO_WEIGHTS if sample_weight is None else sample_weight, mean, centres,
            n_centres, seeding, closest, candidates, out_labels, lanes,
            kmeans_buffers(n_workers, n_features, block), n_workers, search,
        )
    return lanes[:4]


# Rows per chunk of the first seed's cumulative sums: 64 KiB in float64.
_CDF_CHUNK = 1 << 13


def _first_centre(sample_weight, total, uniform, n_samples, float32_weights):
    """numpy's legacy ``choice(n_samples, p=sample_weight / total)`` for one
    uniform draw, without an array of n_samples: the first row whose
    normalised cumulative p exceeds ``uniform``.

    As numpy does, p is formed in the weights' dtype (float32 when
    scikit-learn's weights are float32) and summed in float64 in row order;
    each chunk's sum continues from the one before it, so the sums are
    numpy's to the bit.
    """
    def chunks():
        for start in range(0, n_samples, _CDF_CHUNK):
            stop = min(start + _CDF_CHUNK, n_samples)
            if sample_weight.shape[0] == 0:
                weights = np.ones(stop - start)
            else:
                weights = sample_weight[start:stop]
            if float32_weights:
                p = weights.astype(np.float32) / np.float32(total)
            else:
                p = weights.astype(np.float64) / total
            yield start, p.astype(np.float64)

    def running_sums(carry, p):
        return np.add.accumulate(np.concatenate(([carry], p)))[1:]

    cdf_last = 0.0
    for _, p in chunks():
        cdf_last = running_sums(cdf_last, p)[-1]
    carry = 0.0
    for start, p in chunks():
        cdf = running_sums(carry, p)
        above = cdf / cdf_last > uniform
        if above.any():
            return start + int(np.argmax(above))
        carry = cdf[-1]
    return n_samples - 1


def _centred_row(X, index, mean):
    return np.asarray(X[index], dtype=np.float64) - mean


def _search(X, sample_weight, mean, centres, n_centres, closest, lane_potential, targets):
    """numpy's ``searchsorted(cumsum(w * d), targets)``: each lane searches
    its own targets, from the potential of the lanes before it."""
    n_lanes, _ = _lanes(X, centres.shape[0])
    prefix = np.concatenate(([0.0], np.cumsum(lane_potential)))
    order = np.argsort(targets, kind="stable")
    sorted_targets = np.asarray(targets, dtype=np.float64)[order]
    lane_of = np.searchsorted(prefix[1:], sorted_targets, side="left")
    # A target beyond the total (by rounding) is in no lane: numpy's clip to
    # the last row.
    first_target = np.searchsorted(lane_of, np.arange(n_lanes + 1), side="left")
    found = np.full(len(targets), X.shape[0] - 1, dtype=np.int64)
    search = (sorted_targets, first_target.astype(np.int64, copy=False), prefix[:-1].copy(), found)
    _run(X, sample_weight, mean, centres, n_centres, seeding=True, closest=closest,
         search=search)
    index = np.empty_like(found)
    index[order] = found
    return index


def kmeans_plusplus(X, n_clusters, sample_weight=None, random_state=None, n_local_trials=None,
                    mean=None):
    """Greedy k-means++ seeds, as ``sklearn.cluster.kmeans_plusplus``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous float32 or float64
    n_clusters : int
    sample_weight : ndarray of shape (n_samples,) or None
    random_state : numpy.random.RandomState
    n_local_trials : int or None
        Candidates per seed; None gives 2 + int(log(n_clusters)).
    mean : ndarray of shape (n_features,) or None
        Work on X - mean (KMeans seeds centred data); None for X itself.

    Returns
    -------
    centres : ndarray of shape (n_clusters, n_features), float64
        In the coordinates of X - mean.
    indices : ndarray of shape (n_clusters,), int64
        Rows of X chosen as seeds.
    """
    n_samples, n_features = X.shape
    mean = np.zeros(n_features) if mean is None else np.asarray(mean, dtype=np.float64)
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    float32_weights = X.dtype == np.float32
    if sample_weight is None:
        total = float(X.dtype.type(n_samples))
        weights = _NO_WEIGHTS
    else:
        weights = sample_weight
        total = float(np.asarray(sample_weight, dtype=X.dtype).sum())
    # numpy's choice(n, p=w / sum(w)): one uniform draw, then its cdf search.
    first = _first_centre(weights, total, random_state.random_sample(), n_samples,
                          float32_weights)
    centres = np.empty((n_clusters, n_features))
    indices = np.full(n_clusters, -1, dtype=np.int64)
    centres[0] = _centred_row(X, first, mean)
    indices[0] = first
    keep_index = _RECOMPUTE_MAX_CENTRES < n_clusters <= np.iinfo(_INDEX_DTYPE).max + 1
    closest = np.zeros(n_samples, dtype=_INDEX_DTYPE) if keep_index else _NO_INDEX
    lane_potential = _run(X, sample_weight, mean, centres, 1, seeding=True,
                          closest=closest)[3][:, 0]
    current_potential = lane_potential.sum()
    for c in range(1, n_clusters):
        targets = random_state.uniform(size=n_local_trials) * current_potential
        candidate_ids = _search(X, sample_weight, mean, centres, c, closest, lane_potential,
                                targets)
        candidates = np.stack([_centred_row(X, i, mean) for i in candidate_ids])
        lanes = _run(X, sample_weight, mean, centres, c, seeding=True, closest=closest,
                     candidates=candidates)[3]
        candidate_potential = lanes[:, 1:].sum(axis=0)
        best = int(np.argmin(candidate_potential))
        current_potential = candidate_potential[best]
        lane_potential = lanes[:, 1 + best]
        centres[c] = candidates[best]
        indices[c] = candidate_ids[best]
    if closest.shape[0]:
        # Fold the last seed into the index so that ``closest`` is complete.
        _run(X, sample_weight, mean, centres, n_clusters, seeding=True, closest=closest)
    return centres, indices


def _centred_chunks(X, mean, chunk_values=1 << 15):
    # (rows, X[rows] - mean) in float64, about chunk_values values at a
    # time: no temporary the size of X.
    chunk_rows = max(1, chunk_values // X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        yield rows, X[rows] - mean


def _column_mean_and_tolerance(X, tol):
    # scikit-learn: X.mean(axis=0), and tol * mean(np.var(X, axis=0)),
    # here without np.var's full-size temporary.
    mean = np.asarray(X.mean(axis=0), dtype=np.float64)
    if tol == 0:
        return mean, 0.0
    squares = np.zeros(X.shape[1])
    for _, chunk in _centred_chunks(X, mean):
        squares += np.einsum("ij,ij->j", chunk, chunk)
    return mean, float(np.mean(squares / X.shape[0]) * tol)


def _relocate_empty(X, sample_weight, mean, centres, sums, weight):
    """scikit-learn's ``_relocate_empty_clusters_dense``: each empty cluster
    takes one of the points farthest from their centre."""
    empty = np.flatnonzero(weight == 0)
    n_samples = X.shape[0]
    labels = np.empty(n_samples, dtype=np.int64)
    _run(X, sample_weight, mean, centres, len(centres), out_labels=labels)
    # Rare (a cluster emptied), so in NumPy, by chunks: the k-means pass
    # compiles without it.
    distances = np.empty(n_samples)
    for rows, chunk in _centred_chunks(X, mean):
        distances[rows] = ((chunk - centres[labels[rows]]) ** 2).sum(axis=1)
    if distances.max() == 0:
        return
    far = np.argpartition(distances, -len(empty))[: -len(empty) - 1: -1]
    for new_id, far_id in zip(empty, far):
        w = 1.0 if sample_weight is None else float(sample_weight[far_id])
        old_id = labels[far_id]
        point = _centred_row(X, far_id, mean)
        sums[old_id] -= point * w
        sums[new_id] = point * w
        weight[new_id] = w
        weight[old_id] -= w


def _average(sums, weight):
    # scikit-learn's _average_centers, including its placement of clusters
    # still empty at the biggest cluster's (possibly not yet averaged) row.
    centres = sums
    biggest = int(np.argmax(weight))
    for j in range(len(weight)):
        if weight[j] > 0:
            centres[j] *= 1.0 / weight[j]
        else:
            centres[j] = centres[biggest]
    return centres


class KMeansResult:
    """A k-means fit: centres, and the labels they give, chunk by chunk.

    Attributes
    ----------
    centres : ndarray of shape (n_clusters, n_features)
        In X's coordinates.
    n_iter : int
    """

    def __init__(self, mean, centred_centres, n_iter):
        self.mean = mean
        self.centred_centres = centred_centres
        self.centres = centred_centres + mean
        self.n_iter = n_iter

    def labels(self, X, sample_weight=None):
        """Nearest centre of each row of X, by scikit-learn's distance.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
        sample_weight : ndarray of shape (n_rows,) or None

        Returns
        -------
        labels : ndarray of shape (n_rows,), int64
        count : ndarray of shape (n_clusters,), int64
            Rows nearest each centre.
        """
        labels = np.empty(X.shape[0], dtype=np.int64)
        count = _run(X, sample_weight, self.mean, self.centred_centres,
                     len(self.centred_centres), out_labels=labels)[2]
        return labels, count.sum(axis=0)


def kmeans(X, n_clusters, sample_weight=None, random_state=None, max_iter=300, tol=1e-4):
    """Lloyd's k-means from k-means++ seeds, as ``KMeans(n_init=1).fit``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous float32 or float64
    n_clusters : int
    sample_weight : ndarray of shape (n_samples,) or None
    random_state : numpy.random.RandomState
    max_iter : int
    tol : float
        Relative to the mean per-feature variance, as in scikit-learn.

    Returns
    -------
    KMeansResult
    """
    mean, tolerance = _column_mean_and_tolerance(X, tol)
    centres, _ = kmeans_plusplus(X, n_clusters, sample_weight, random_state, mean=mean)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        sums, weight = (a.sum(axis=0) for a in _run(X, sample_weight, mean, centres,
                                                       n_clusters)[:2])
        if np.any(weight == 0):
            _relocate_empty(X, sample_weight, mean, centres, sums, weight)
        new_centres = _average(sums, weight)
        # Unchanged centres mean unchanged labels: scikit-learn's strict
        # convergence; otherwise its tolerance on the squared centre shift.
        strict = np.array_equal(new_centres, centres)
        shift = float((np.sqrt(((new_centres - centres) ** 2).sum(axis=1)) ** 2).sum())
        centres = new_centres
        if strict or shift <= tolerance:
            break
    return KMeansResult(mean, centres, n_iter)


def warn_if_fewer_clusters(count, n_clusters):
    """scikit-learn's KMeans warning when some cluster ends with no point."""
    distinct = int(np.count_nonzero(count))
    if distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than "
            f"n_clusters ({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=3,
        )
