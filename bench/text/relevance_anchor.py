#!/usr/bin/env python3
"""The relevance baseline a user would otherwise pick: TF-IDF over character 1-3-grams + a linear SVM
(scikit-learn, default settings, default decision threshold), on the same data and split as
`cargo run --release -p onegrid-text --example relevance_eval`.

Learns from the `train` rows of crates/text/data/opinion/relevance.tsv.gz, predicts the `test` rows, and prints
precision, recall, F1 and accuracy of the relevant class: overall, with the negatives of kinds seen in training
only, with the negatives of unseen kinds only, and per source; then the throughput (vectorising included) on
one core.

Usage: relevance_anchor.py [--data FILE] [--passes N]
"""
import argparse
import gzip
import os
import time

# One core, as for the Rust side: set before numpy/scipy load their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "text", "data", "opinion", "relevance.tsv.gz")


def read(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    return [(r["split"].strip(), r["text"].strip(), r["relevant"].strip() == "1", r["source"].strip()) for r in rows]


def score(truth, predicted):
    tp = sum(t and p for t, p in zip(truth, predicted))
    fp = sum((not t) and p for t, p in zip(truth, predicted))
    fn = sum(t and not p for t, p in zip(truth, predicted))
    n = len(truth)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return n, precision, recall, f1, (n - fp - fn) / n if n else 0.0, fp, fn


def report(name, test, predicted, seen):
    print(f"{name}:")
    groups = [
        ("all test rows", lambda r: True),
        ("positives + seen-kind negatives", lambda r: r[2] or r[3] in seen),
        ("positives + unseen-kind negatives", lambda r: r[2] or r[3] not in seen),
    ]
    for label, keep in groups:
        pairs = [(r[2], p) for r, p in zip(test, predicted) if keep(r)]
        n, p, rec, f1, acc, fp, fn = score([t for t, _ in pairs], [q for _, q in pairs])
        print(f"  {label:<34} n={n:>5}  P={p:.4}  R={rec:.4}  F1={f1:.4}  acc={acc:.4}  (fp {fp}, fn {fn})")
    by_source = {}
    for r, p in zip(test, predicted):
        n, kept, relevant = by_source.get(r[3], (0, 0, r[2]))
        by_source[r[3]] = (n + 1, kept + int(p), relevant)
    for source in sorted(by_source):
        n, kept, relevant = by_source[source]
        kind = "positive: recall" if relevant else (
            "seen kind: kept (false positives)" if source in seen else "UNSEEN kind: kept (false positives)")
        print(f"    {source:<24} n={n:>4}  kept {kept:>4} = {kept / n:.4}  [{kind}]")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    rows = read(args.data)
    train = [r for r in rows if r[0] == "train"]
    test = [r for r in rows if r[0] == "test"]
    seen = {r[3] for r in train}
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LinearSVC().fit(vectorizer.fit_transform([r[1] for r in train]), [r[2] for r in train])
    predicted = [bool(p) for p in model.predict(vectorizer.transform([r[1] for r in test]))]
    report("anchor (scikit-learn char 1-3 TF-IDF + LinearSVC, default threshold)", test, predicted, seen)
    texts = [r[1] for r in test]
    best = float("inf")
    for _ in range(max(1, args.passes)):
        started = time.perf_counter()
        model.predict(vectorizer.transform(texts))
        best = min(best, time.perf_counter() - started)
    print(f"throughput: {len(texts)} posts in {best * 1e3:.1f} ms (one batch, best of {max(1, args.passes)}), "
          f"{len(texts) / best:.0f} posts/s on one core")


if __name__ == "__main__":
    main()
