#!/usr/bin/env python3
"""Candidate message pairs for labelling duplicates by reading (see README.md in this folder).

Pool: every message of attachment3 (hot messages) and attachment4 (messages with replies).
Strata (a pair is drawn at most once, the first stratum that takes it wins):
  near_identical   char-3-gram Jaccard of subject+body >= 0.6
  high             0.30 <= Jaccard < 0.6
  medium           0.12 <= Jaccard < 0.30
  low              0.05 <= Jaccard < 0.12
  similar_subject  subject char-bigram Dice >= 0.5 and body Jaccard < 0.12
  same_place       share a named place (regex on subjects) and Jaccard < 0.12
  same_topic       same masked district (e.g. A3区) and same topic word, Jaccard < 0.05
  random           uniform random pairs
Usage: make_candidates.py DATA_DIR OUT.tsv          draw a new sample (OUT.tsv and OUT.tsv.messages)
       make_candidates.py DATA_DIR --check PAIRS.tsv  check that every pair of PAIRS.tsv meets its stratum

The sample in pairs.tsv was drawn by the first version of this script, whose pools were shuffled in an order
that depended on Python's string hashing (PYTHONHASHSEED, not recorded), so that draw cannot be repeated.
The pools are now sorted before the seeded shuffle, so a new draw is repeatable; --check verifies the
shipped pairs against the stratum definitions instead.
"""
import gzip, random, re, sys, collections, itertools

DATA = sys.argv[1]
CHECK = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == '--check' else None
OUT = None if CHECK else sys.argv[2]
QUOTA = dict(near_identical=50, high=80, medium=100, low=90, similar_subject=60,
             same_place=60, same_topic=50, random=40)
rng = random.Random(20261125)

def read(path, source):
    with gzip.open(path, 'rt', encoding='utf-8') as fh:
        lines = fh.read().split('\n')
    head = lines[0].split('\t')
    rows = []
    for line in lines[1:]:
        if line:
            r = dict(zip(head, line.split('\t')))
            rows.append((int(r['留言编号']), source, r['留言主题'], r['留言时间'], r['留言详情']))
    return rows

def norm(s):
    out = []
    for c in s:
        o = ord(c)
        if 0xFF01 <= o <= 0xFF5E:
            c = chr(o - 0xFEE0)
        elif c == '\u3000':
            c = ' '
        out.append(c.lower())
    return re.sub(r'\s+', ' ', ''.join(out)).strip()

def grams(s, n):
    return {s[i:i + n] for i in range(len(s) - n + 1)}

msgs = read(f'{DATA}/attachment3_hot_messages.tsv.gz', 'attachment3') + \
       read(f'{DATA}/attachment4_messages_with_replies.tsv.gz', 'attachment4')
ids = [m[0] for m in msgs]
assert len(set(ids)) == len(ids), 'message ids must be unique across the two files'
full = [grams(norm(m[2] + '。' + m[4]), 3) for m in msgs]
subj = [grams(norm(m[2]), 2) for m in msgs]
body = [grams(norm(m[4]), 3) for m in msgs]

# Jaccard of every pair sharing a 3-gram that is not too common (df <= 60); the rest is < 0.05 in practice.
post = collections.defaultdict(list)
for i, g in enumerate(full):
    for s in g:
        post[s].append(i)
shared = collections.Counter()
for docs in post.values():
    if len(docs) <= 60:
        for a, b in itertools.combinations(docs, 2):
            shared[(a, b)] += 1
def jac(x, y):
    return len(x & y) / max(1, len(x | y))
jaccard = {}
for (a, b), c in shared.items():
    if c >= 3:
        jaccard[(a, b)] = jac(full[a], full[b])

def j(a, b):
    return jaccard.get((min(a, b), max(a, b)), 0.0)

taken, rows = set(), []
pools = {}
def take(stratum, pairs):
    pools[stratum] = {(min(p), max(p)) for p in pairs if p[0] != p[1]}
    pairs = sorted({(min(p), max(p)) for p in pairs if (min(p), max(p)) not in taken and p[0] != p[1]})
    rng.shuffle(pairs)
    for a, b in pairs[:QUOTA[stratum]]:
        a, b = min(a, b), max(a, b)
        taken.add((a, b))
        rows.append((stratum, a, b))

bands = [('near_identical', 0.6, 1.01), ('high', 0.30, 0.6), ('medium', 0.12, 0.30), ('low', 0.05, 0.12)]
for name, lo, hi in bands:
    take(name, [p for p, v in jaccard.items() if lo <= v < hi])

# Similar subjects (bigram Dice), bodies not similar.
spost = collections.defaultdict(list)
for i, g in enumerate(subj):
    for s in g:
        spost[s].append(i)
sshared = collections.Counter()
for docs in spost.values():
    if len(docs) <= 40:
        for a, b in itertools.combinations(docs, 2):
            sshared[(a, b)] += 1
sim_subj = [p for p, c in sshared.items() if c >= 3
            and 2 * len(subj[p[0]] & subj[p[1]]) / max(1, len(subj[p[0]]) + len(subj[p[1]])) >= 0.5
            and jac(body[p[0]], body[p[1]]) < 0.12]
take('similar_subject', sim_subj)

PLACE = re.compile(r'([\u4e00-\u9fff]{2,5}(?:小区|花园|公寓|家园|新城|广场|大厦|中学|小学|幼儿园|医院|村|社区|大道|路|街))')
places = collections.defaultdict(list)
for i, m in enumerate(msgs):
    for p in set(PLACE.findall(m[2])):
        places[p].append(i)
same_place = []
for docs in places.values():
    if 2 <= len(docs) <= 30:
        same_place += [p for p in itertools.combinations(docs, 2) if j(*p) < 0.12]
take('same_place', same_place)

TOPICS = ['噪音', '扰民', '物业', '停车', '拖欠', '工资', '补课', '收费', '垃圾', '拆迁', '油烟', '公交',
          '幼儿园', '学位', '房产证', '违建', '污染', '施工', '路灯', '积水']
DISTRICT = re.compile(r'[A-Z]\d*[区县市]')
groups = collections.defaultdict(list)
for i, m in enumerate(msgs):
    d = DISTRICT.findall(m[2])
    for t in TOPICS:
        if d and t in m[2]:
            groups[(d[0], t)].append(i)
same_topic, same_topic_all = [], set()
for key in sorted(groups):
    docs = groups[key]
    if len(docs) >= 2:
        pairs = list(itertools.combinations(docs, 2))
        same_topic_all.update(p for p in pairs if j(*p) < 0.05)
        rng.shuffle(pairs)
        same_topic += [p for p in pairs[:20] if j(*p) < 0.05]
take('same_topic', same_topic)
pools['same_topic'] = same_topic_all

take('random', [tuple(rng.sample(range(len(msgs)), 2)) for _ in range(400)])

if CHECK:
    index = {m: i for i, m in enumerate(ids)}
    bad = 0
    lines = open(CHECK, encoding='utf-8').read().split('\n')
    head = lines[0].split('\t')
    for line in lines[1:]:
        if line:
            r = dict(zip(head, line.split('\t')))
            a, b = index[int(r['id_a'])], index[int(r['id_b'])]
            if r['stratum'] != 'random' and (min(a, b), max(a, b)) not in pools[r['stratum']]:
                bad += 1
                print('not in its stratum:', r['pair'], r['stratum'], file=sys.stderr)
    print(f'{len(lines) - 2} pairs checked, {bad} outside their stratum', file=sys.stderr)
    sys.exit(1 if bad else 0)
with open(OUT, 'w', encoding='utf-8') as out:
    out.write('pair\tstratum\tid_a\tid_b\tjaccard3\n')
    for n, (stratum, a, b) in enumerate(rows, 1):
        out.write(f'{n}\t{stratum}\t{ids[a]}\t{ids[b]}\t{j(a, b):.3f}\n')
with open(OUT + '.messages', 'w', encoding='utf-8') as out:
    out.write('id\tfile\t留言主题\t留言时间\t留言详情\n')
    used = sorted({x for _, a, b in rows for x in (a, b)})
    for i in used:
        m = msgs[i]
        out.write(f'{m[0]}\t{m[1]}\t{m[2]}\t{m[3]}\t{m[4]}\n')
counts = collections.Counter(r[0] for r in rows)
print(len(rows), dict(counts), 'pool sizes:', {n: sum(1 for v in jaccard.values() if lo <= v < hi) for n, lo, hi in bands},
      'similar_subject', len(sim_subj), 'same_place', len(same_place), 'same_topic', len(same_topic), file=sys.stderr)
