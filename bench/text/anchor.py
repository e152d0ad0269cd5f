#!/usr/bin/env python3
"""The anchor a user would otherwise pick: TF-IDF over character 1-3-grams + a linear SVM (scikit-learn).

Same data, split and dedup rule as `onegrid text eval`:
- learn from every row whose `split` is not `test` (subjects: train + dev; bodies: dev), subjects and bodies
  together in one model, as onegrid's model does;
- evaluate on the `test` rows of each file, after dropping any test text that also occurs in a training row
  of the same file;
- report accuracy, macro-F1 and per-label F1 separately for subjects and bodies, and the classification
  throughput (vectorising included) on one core.

Usage: anchor.py [--data-dir DIR] [--repeat N] [--json]

--json: the same figures as one JSON object on stdout (the human-readable lines go to stderr), for
`onegrid bench text`, which runs this script beside onegrid's own figures.
"""
import argparse
import csv
import gzip
import json
import os
import sys
import time

# One core, as for the Rust side: set before numpy/scipy load their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

DEFAULT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "teddy-cup-2020-c")
FILES = {"subjects": ("attachment2_subjects_all.tsv.gz", "留言主题"), "bodies": ("attachment2_details_40pct.tsv.gz", "留言详情")}


def read(path, text_column):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        # Fields trimmed, as onegrid's reader does.
        return [(row["split"].strip(), row[text_column].strip(), row["一级标签"].strip()) for row in reader]


def cross_validate(path):
    """The anchor's cross-validated macro-F1 on the folds onegrid's tune example used (training rows only)."""
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    predicted = [None] * len(rows)
    for k in sorted({int(r[0]) for r in rows}):
        train = [r for r in rows if int(r[0]) != k]
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        model = LinearSVC().fit(vectorizer.fit_transform([r[2] for r in train]), [r[3] for r in train])
        held = [i for i, r in enumerate(rows) if int(r[0]) == k]
        for i, p in zip(held, model.predict(vectorizer.transform([rows[i][2] for i in held]))):
            predicted[i] = p
    for kind in ("subjects", "bodies"):
        held = [i for i, r in enumerate(rows) if r[1] == kind]
        truth = [rows[i][3] for i in held]
        print(f"anchor CV {kind}: macro_f1={f1_score(truth, [predicted[i] for i in held], average='macro'):.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.environ.get("ONEGRID_TEXT_DATA", DEFAULT_DIR))
    parser.add_argument("--repeat", type=int, default=5, help="passes over all subjects for the throughput")
    parser.add_argument("--cv-folds", help="fold file written by the tune example: print the anchor's CV score and stop")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.cv_folds:
        return cross_validate(args.cv_folds)
    # With --json, stdout carries only the JSON object.
    say = (lambda line: print(line, file=sys.stderr)) if args.json else print
    report = {"sets": {}}

    train_texts, train_labels, tests, all_subjects = [], [], {}, []
    files = {kind: read(os.path.join(args.data_dir, name), column) for kind, (name, column) in FILES.items()}
    # A test row is dropped when its text is the text of any training row of either file.
    seen = {text for rows in files.values() for split, text, _ in rows if split != "test"}
    for kind, rows in files.items():
        test = [(text, label) for split, text, label in rows if split == "test" and text not in seen]
        dropped = sum(1 for split, text, _ in rows if split == "test") - len(test)
        tests[kind] = (test, dropped)
        for split, text, label in rows:
            if split != "test":
                train_texts.append(text)
                train_labels.append(label)
        if kind == "subjects":
            all_subjects = [text for _, text, _ in rows]

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LinearSVC()
    model.fit(vectorizer.fit_transform(train_texts), train_labels)
    report["trained_rows"] = len(train_texts)
    report["train_seconds"] = time.perf_counter() - started
    say(f"anchor: trained on {len(train_texts)} rows in {report['train_seconds']:.1f} s")

    for kind, (test, dropped) in tests.items():
        texts = [t for t, _ in test]
        truth = [label for _, label in test]
        predicted = model.predict(vectorizer.transform(texts))
        labels = sorted(set(truth) | set(train_labels))
        per_label = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
        accuracy = float(accuracy_score(truth, predicted))
        macro_f1 = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
        report["sets"][kind] = {
            "n": len(test),
            "dropped": dropped,
            "accuracy": accuracy,
            "macro_f1": macro_f1,
            "per_label": {label: float(f1) for label, f1 in zip(labels, per_label)},
        }
        say(
            f"anchor {kind}: n={len(test)} (dropped {dropped} test rows also in training) "
            f"accuracy={accuracy:.4f} macro_f1={macro_f1:.4f}"
        )
        for label, f1 in zip(labels, per_label):
            say(f"anchor {kind}:   {label}\tF1={f1:.4f}")

    # Throughput: one message at a time would be unfair to scikit-learn; batches of 1,000 are what a
    # batch user would do, vectorising included.
    best = 0.0
    for _ in range(args.repeat):
        started = time.perf_counter()
        for i in range(0, len(all_subjects), 1000):
            model.predict(vectorizer.transform(all_subjects[i : i + 1000]))
        rate = len(all_subjects) / (time.perf_counter() - started)
        best = max(best, rate)
    report["throughput"] = {"subjects_per_s": best, "passes": args.repeat, "subjects": len(all_subjects), "batch": 1000}
    say(f"anchor throughput: {best:,.0f} subjects/s (best of {args.repeat} passes over {len(all_subjects)} subjects, batches of 1,000, one core)")
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False)
        print()


if __name__ == "__main__":
    sys.exit(main())
