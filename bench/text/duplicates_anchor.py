#!/usr/bin/env python3
"""The duplicate check a user would otherwise build with scikit-learn, run by `onegrid bench text`.

Text: `TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)` (the classification anchor's
settings), fitted on the same rows onegrid's idf was learnt from (the Teddy Cup training rows), and the
cosine of two messages' vectors (the vectorizer L2-normalises, so a dot product).

Place: the open cases' points in a `sklearn.neighbors.BallTree` (haversine), asked for the cases within the
radius; a case reported during the run (the tree cannot take insertions) is compared by a vectorised
haversine over those. So each new report is compared only with the cases near it, as onegrid's index does;
comparing it with every open case (`NearestNeighbors(metric="cosine")` over all of them, then filtering by
place) would be simpler but hundreds of times slower, and a poor reference.

Input (`--input FILE`, JSON written by `onegrid bench text`, the same data onegrid is measured on):
  train_texts              texts to fit the vectorizer on
  pairs                    [[text_a, text_b, duplicate], ...] the labelled pairs
  target_recall            the threshold used below is the highest with at least this recall on the pairs
  texts                    the pool of message texts the open cases and new reports use
  open                     {"text", "lon", "lat", "at"}: the open cases, oldest first (indices into texts)
  reports                  {"text", "lon", "lat", "at", "planted"}: new reports; planted = the open case a
                           report repeats nearby (a duplicate the check must find), or -1
  radius_m, window_hours, limit, passes

One pass, timed whole: vectorise the reports (batches of 1,000, scikit-learn's fast path) and ask the tree for
each one's neighbours (one batched call); then for each report in turn: candidates = open cases within the
radius and the window with cosine >= the threshold, best `limit` (similarity, then distance); then the oldest
open case closes and the report becomes an open case, so the number of open cases stays the same (as in
onegrid's measurement). The best of `passes` passes is reported.

Output: one JSON object on stdout (see the end of main).
"""
import argparse
import json
import math
import os
import sys
import time

# One core, as for the Rust side: set before numpy/scipy load their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from scipy.sparse import vstack  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.neighbors import BallTree  # noqa: E402

# The mean radius onegrid's distances use.
EARTH_RADIUS_M = 6_371_008.8


def vectorizer():
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)


def pair_scores(vec, pairs):
    a = vec.transform([p[0] for p in pairs])
    b = vec.transform([p[1] for p in pairs])
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def recall_threshold(scores, duplicate, target_recall):
    """The highest threshold whose recall on the pairs is at least target_recall."""
    positives = np.sort(scores[duplicate])[::-1]
    k = max(1, math.ceil(target_recall * len(positives) - 1e-9))
    return float(positives[min(k, len(positives)) - 1])


def haversine_m(lat1, lon1, lat2, lon2):
    """Radians in, metres out; lat2/lon2 may be arrays."""
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def one_pass(vec, x_texts, tree, data, threshold):
    open_cases, reports = data["open"], data["reports"]
    n_open, n_reports = len(open_cases["text"]), len(reports["text"])
    open_text = np.asarray(open_cases["text"])
    open_at = np.asarray(open_cases["at"], dtype=np.float64)
    report_text = [data["texts"][t] for t in reports["text"]]
    report_lat = np.radians(np.asarray(reports["lat"], dtype=np.float64))
    report_lon = np.radians(np.asarray(reports["lon"], dtype=np.float64))
    report_at = np.asarray(reports["at"], dtype=np.float64)
    planted = reports["planted"]
    radius, window_s, limit = data["radius_m"], data["window_hours"] * 3600.0, data["limit"]

    started = time.perf_counter()
    x_reports = vstack(
        [vec.transform(report_text[i : i + 1000]) for i in range(0, n_reports, 1000)], format="csr"
    )
    vectorised = time.perf_counter() - started
    near, near_m = tree.query_radius(
        np.column_stack([report_lat, report_lon]), r=radius / EARTH_RADIUS_M, return_distance=True
    )
    alive = np.ones(n_open, dtype=bool)
    # The report's vector spread into a dense buffer, so a similarity is a sparse-times-dense product over
    # the candidates' features; `candidates @ q.T` would convert q to another sparse layout at a cost that
    # grows with the vocabulary (~1 ms a call here), which would make the reference needlessly slow.
    dense = np.zeros(x_texts.shape[1])
    found_planted = 0
    returned = 0
    for i in range(n_reports):
        start, end = x_reports.indptr[i], x_reports.indptr[i + 1]
        q_features = x_reports.indices[start:end]
        dense[q_features] = x_reports.data[start:end]
        # Open cases from the start that are still open and within the window.
        old = near[i]
        keep = alive[old] & (np.abs(open_at[old] - report_at[i]) <= window_s)
        old, old_m = old[keep], near_m[i][keep] * EARTH_RADIUS_M
        old_sim = x_texts[open_text[old]] @ dense if len(old) else np.zeros(0)
        # Reports already checked in this pass are open cases now.
        if i:
            new_m = haversine_m(report_lat[i], report_lon[i], report_lat[:i], report_lon[:i])
            new = np.flatnonzero((new_m <= radius) & (np.abs(report_at[:i] - report_at[i]) <= window_s))
            new_m = new_m[new]
            new_sim = x_reports[new] @ dense if len(new) else np.zeros(0)
        else:
            new, new_m, new_sim = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        dense[q_features] = 0.0
        ids = np.concatenate([old, new + n_open])
        sims = np.concatenate([old_sim, new_sim])
        metres = np.concatenate([old_m, new_m])
        above = sims >= threshold
        ids, sims, metres = ids[above], sims[above], metres[above]
        best = ids[np.lexsort((metres, -sims))[:limit]]
        returned += len(best)
        if planted[i] >= 0 and planted[i] in best:
            found_planted += 1
        # The oldest open case closes (report i replaces case i, as on the Rust side).
        if i < n_open:
            alive[i] = False
    elapsed = time.perf_counter() - started
    return elapsed, vectorised, found_planted, returned


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True, help="JSON written by `onegrid bench text`")
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as f:
        data = json.load(f)

    started = time.perf_counter()
    vec = vectorizer().fit(data["train_texts"])
    fit_seconds = time.perf_counter() - started

    pairs = data["pairs"]
    scores = pair_scores(vec, pairs)
    duplicate = np.asarray([bool(p[2]) for p in pairs])
    threshold = recall_threshold(scores, duplicate, data["target_recall"])

    x_texts = vec.transform(data["texts"]).tocsr()
    open_cases = data["open"]
    tree = BallTree(
        np.radians(np.column_stack([np.asarray(open_cases["lat"]), np.asarray(open_cases["lon"])])),
        metric="haversine",
    )
    best, best_vectorised, found, returned = math.inf, 0.0, 0, 0
    for _ in range(max(1, data["passes"])):
        elapsed, vectorised, found, returned = one_pass(vec, x_texts, tree, data, threshold)
        if elapsed < best:
            best, best_vectorised = elapsed, vectorised
    n_reports = len(data["reports"]["text"])
    json.dump(
        {
            "vectorizer": 'TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)',
            "fit_seconds": fit_seconds,
            "pairs_scored": len(pairs),
            "scores": [float(s) for s in scores],
            "threshold": threshold,
            "open": len(open_cases["text"]),
            "reports": n_reports,
            "reports_per_s": n_reports / best,
            # Of the best pass, the share spent vectorising the reports.
            "vectorise_share": best_vectorised / best,
            "planted": sum(1 for p in data["reports"]["planted"] if p >= 0),
            "planted_found": found,
            "mean_candidates": returned / max(1, n_reports),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    sys.exit(main())
