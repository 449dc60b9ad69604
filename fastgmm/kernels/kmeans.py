"""k-means kernels: k-means++ seeding and Lloyd iterations without a copy of X.

scikit-learn's KMeans centres a copy of X and keeps O(n_samples) arrays
(labels, closest distances, an (n_trials, n_samples) distance matrix). Here
the centring happens as each block is loaded, and every per-point quantity is
recomputed inside the pass that needs it, so a pass allocates O(lanes * K * d).
The distances follow scikit-learn's formulas, so both make the same choices:
Lloyd ranks centres by ||c||^2 - 2 x.c, and k-means++ uses
max(-2 x.c + ||c||^2 + ||x||^2, 0).
"""

import numpy as np
from numba import njit

from .._config import JIT_OPTIONS
from ._common import (
    _choose,
    _claim_lane,
    _larger,
    _load_arguments,
    _load_block,
    _minimum,
    _smaller,
    aligned_array,
    run_walkers,
)


@njit(**JIT_OPTIONS)
def _centred_block(X, sample_weight, mean, first, n_block, x_t, w_block, unit_weights):
    _load_block(X, sample_weight, first, n_block, x_t, w_block, unit_weights)
    for i in range(X.shape[1]):
        m = mean[i]
        xi = x_t[i]
        for b in range(n_block):
            xi[b] -= m


# kmeans_pass's search when there is none: one type for every pass, so one
# compiled walker.
_NO_SEARCH = (np.empty(0), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64))


def kmeans_buffers(n_workers, n_features, block):
    """Each worker's block scratch for the k-means kernels, first axis the
    worker: x_t (n_features, block), w_block, x_norm (zero), best, label
    (int64) and scratch (block). Allocated outside the kernels: numba would
    compile each shape of np.empty and np.zeros there.

    Returns
    -------
    buffers : tuple of 6 ndarrays
    """
    # On cache lines, as the EM passes' buffers (``_common.CACHE_LINE``).
    return (
        aligned_array((n_workers, n_features, block), fill=None),
        aligned_array((n_workers, block), fill=None),
        aligned_array((n_workers, block)),
        aligned_array((n_workers, block), fill=None),
        aligned_array((n_workers, block), np.int64, fill=None),
        aligned_array((n_workers, block), fill=None),
    )


def _row_norms(rows, count):
    """||rows[k]||^2 for k < count, zero for the other rows, as
    scikit-learn's ``row_norms(squared=True)`` computes them (einsum).

    Returns
    -------
    norms : ndarray of shape (rows.shape[0],) float64
    """
    norms = np.zeros(rows.shape[0])
    norms[:count] = np.einsum("ij,ij->i", rows[:count], rows[:count])
    return norms


@njit(**JIT_OPTIONS)
def _distances_to(x_t, n_block, row, row_norm, x_norm, seeding, out):
    """Distances of a block's points to one centre, in scikit-learn's form.

    Lloyd (``seeding`` False): ||c||^2 - 2 x.c, which ranks centres as the
    squared distance does. Seeding: max(-2 x.c + ||c||^2 + ||x||^2, 0).
    """
    for b in range(n_block):
        out[b] = 0.0
    for i in range(x_t.shape[0]):
        m = -2.0 * row[i]
        xi = x_t[i]
        for b in range(n_block):
            out[b] += xi[b] * m
    if seeding:
        for b in range(n_block):
            out[b] = _larger(out[b] + row_norm + x_norm[b], 0.0)
    else:
        for b in range(n_block):
            out[b] += row_norm


@njit(**JIT_OPTIONS)
def _closest_block(x_t, n_block, first, centres, centre_norms, n_centres, seeding, closest,
                   x_norm, best, label, scratch):
    """Distance to the nearest of the first ``n_centres`` centres (first index
    on ties) for each point of a block.

    With a non-empty ``closest`` (seeding with many centres), the nearest
    earlier centre is read from it and only the newest centre is compared,
    and ``closest`` is updated; otherwise every centre is compared.
    """
    n_features = x_t.shape[0]
    if seeding:
        for b in range(n_block):
            total = 0.0
            for i in range(n_features):
                total += x_t[i, b] * x_t[i, b]
            x_norm[b] = total
    if closest.shape[0] > 0:
        newest = n_centres - 1
        _distances_to(x_t, n_block, centres[newest], centre_norms[newest], x_norm, seeding, scratch)
        for b in range(n_block):
            k = closest[first + b]
            dot = 0.0
            for i in range(n_features):
                dot += x_t[i, b] * (-2.0 * centres[k, i])
            value = _larger(dot + centre_norms[k] + x_norm[b], 0.0)
            if scratch[b] < value:
                value = scratch[b]
                k = newest
                closest[first + b] = newest
            best[b] = value
            label[b] = k
        return
    for b in range(n_block):
        best[b] = np.inf
        label[b] = 0
    for k in range(n_centres):
        _distances_to(x_t, n_block, centres[k], centre_norms[k], x_norm, seeding, scratch)
        for b in range(n_block):
            # Unconditional stores (``_engine._argmax_rows`` says why).
            label[b] = _choose(scratch[b] < best[b], np.int64(k), label[b])
            best[b] = _minimum(best[b], scratch[b])


@njit(**JIT_OPTIONS)
def _walk_kmeans_lanes(arguments, worker):
    """One worker's share of a k-means pass over X (centred by ``mean`` on
    load); ``kmeans_pass`` runs the workers in parallel.

    Parameters
    ----------
    arguments : ArgumentsAddress
        Where ``run_walkers`` stored the tuple ``(X, sample_weight, mean,
        centres, n_centres, seeding, closest, candidates, out_labels, lanes,
        buffers, centre_norms, candidate_norms, search)``, as ``kmeans_pass``
        describes them; the norms (n_clusters,) and (n_trials,) are the
        squared norms of the first ``n_centres`` centres and of the
        candidates. With targets in ``search``, a lane only searches them.
    worker : int
        This worker's row of ``buffers``.
    """
    (X, sample_weight, mean, centres, n_centres, seeding, closest, candidates, out_labels,
     lanes, buffers, centre_norms, candidate_norms, search) = _load_arguments(arguments)
    n_samples, n_features = X.shape
    n_trials = candidates.shape[0]
    lane_sums, lane_weight, lane_count, lane_potential, next_lane = lanes
    n_lanes = lane_sums.shape[0]
    all_x_t, all_w_block, all_x_norm, all_best, all_label, all_scratch = buffers
    block = all_x_t.shape[2]
    x_t, w_block, x_norm = all_x_t[worker], all_w_block[worker], all_x_norm[worker]
    best, label, scratch = all_best[worker], all_label[worker], all_scratch[worker]
    targets, first_target, potential_before, found = search
    # As the EM walker: unit weights are written once, and _load_block's
    # specialisation is shared.
    unit_weights = sample_weight.shape[0] == 0
    if unit_weights:
        for b in range(block):
            w_block[b] = 1.0
    # Lanes are claimed one at a time, as in the EM walker (_claim).
    while True:
        lane, start, stop = _claim_lane(next_lane, n_samples, n_lanes)
        if lane < 0:
            break
        # The lane's targets still to reach, targets[target:last], and where
        # each is reached, found[target:last].
        searching = targets.shape[0] > 0
        target, last, running = 0, 0, 0.0
        if searching:
            target, last = first_target[lane], first_target[lane + 1]
            for i in range(target, last):
                found[i] = stop - 1
            running = potential_before[lane]
        sums = lane_sums[lane]
        weight = lane_weight[lane]
        count = lane_count[lane]
        potential = lane_potential[lane]
        for first in range(start, stop, block):
            if searching and target == last:
                break
            n_block = _smaller(block, stop - first)
            _centred_block(X, sample_weight, mean, first, n_block, x_t, w_block, unit_weights)
            _closest_block(x_t, n_block, first, centres, centre_norms, n_centres, seeding,
                           closest, x_norm, best, label, scratch)
            if searching:
                # numpy's searchsorted on the cumulative sum of w d(x).
                for b in range(n_block):
                    running += w_block[b] * best[b]
                    while target < last and running >= targets[target]:
                        found[target] = first + b
                        target += 1
                continue
            for b in range(n_block):
                potential[0] += w_block[b] * best[b]
            for t in range(n_trials):
                # Candidates exist only when seeding, so ``seeding`` is True
                # here; a literal True would compile a second _distances_to.
                _distances_to(x_t, n_block, candidates[t], candidate_norms[t], x_norm,
                              seeding, scratch)
                total = 0.0
                for b in range(n_block):
                    total += w_block[b] * _smaller(best[b], scratch[b])
                potential[1 + t] += total
            if out_labels.shape[0] > 0:
                for b in range(n_block):
                    out_labels[first + b] = label[b]
            if seeding:
                continue  # seeding needs only the potentials
            for b in range(n_block):
                k = label[b]
                wb = w_block[b]
                weight[k] += wb
                count[k] += 1
                for i in range(n_features):
                    sums[k, i] += x_t[i, b] * wb


def kmeans_pass(X, sample_weight, mean, centres, n_centres, seeding, closest, candidates,
                out_labels, lanes, buffers, n_workers, search=None):
    """One parallel pass of k-means over X (centred by ``mean`` on load).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    sample_weight : ndarray of shape (n_samples,) or (0,) for unit weights
    mean : ndarray of shape (n_features,)
    centres : ndarray of shape (n_clusters, n_features)
        Centred coordinates; only the first ``n_centres`` rows are used.
    n_centres : int
    seeding : bool
        k-means++ distances (with ||x||^2, clipped at 0) instead of Lloyd's.
    closest : ndarray of shape (n_samples,) uint16, or (0,)
        Seeding only: index of each point's nearest centre among the first
        ``n_centres - 1``; updated in place.
    candidates : ndarray of shape (n_trials, n_features)
        Seeding only: candidate centres whose potential is wanted.
    out_labels : ndarray of shape (n_samples,) int64, or (0,)
        Nearest centre of each point.
    lanes : tuple of arrays
        Zeroed by the caller (``fastgmm.kmeans._run``), filled here:
        sums (n_lanes, n_clusters, n_features), sum w x over the points
        nearest each centre; weight (n_lanes, n_clusters), sum w over them;
        count (n_lanes, n_clusters) int64, their number; potential (n_lanes,
        1 + n_trials), sum w d(x) with d the distance to the nearest centre,
        then the same sum with each candidate added to the centres; and the
        lane counter (1,) int64.
    buffers : tuple of arrays
        Each worker's block scratch, first axis the worker
        (``kmeans_buffers``).
    n_workers : int
        Parallel iterations that claim lanes: the thread count, at most
        the number of lanes.
    search : tuple of arrays or None
        k-means++'s search for its candidates, instead of the pass above:
        sorted targets (n_targets,); first_target (n_lanes + 1,) int64, the
        lane's targets are ``targets[first_target[lane]:first_target[lane +
        1]]``; potential_before (n_lanes,), the sum of w d(x) over the
        earlier lanes; and found (n_targets,) int64, filled with the row
        where the running sum of w d(x) first reaches each target, the
        lane's last row if it does not. ``seeding`` must be True.
    """
    # The squared norms of the centres and the candidates, which the walkers read.
    norms = (_row_norms(centres, int(n_centres)), _row_norms(candidates, candidates.shape[0]))
    if search is None:
        search = _NO_SEARCH
    args = (X, sample_weight, mean, centres, int(n_centres), bool(seeding), closest, candidates,
            out_labels, lanes, buffers) + norms + (search,)
    run_walkers(_walk_kmeans_lanes, args, n_workers)
