#!/usr/bin/env python3
"""Counts the server's instructions per report under callgrind (bench/api/README.md method).
usage: callgrind.py BINARY WORKDIR [warm] [measured]"""
import gzip, csv, json, os, subprocess, sys, time, http.client, threading, shutil
binary, work = sys.argv[1], sys.argv[2]
warm = int(sys.argv[3]) if len(sys.argv) > 3 else 500
measured = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
os.makedirs(work, exist_ok=True)
db = os.path.join(work, "cg.db")
for f in os.listdir(work):
    if f.startswith("cg."):
        os.remove(os.path.join(work, f))
subprocess.run([binary, "demo", "--create-only", "--db", db], check=True, stderr=subprocess.DEVNULL)
port = 18431
server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.out.%p",
                           binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db],
                          stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
def conn():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=600)
for _ in range(600):
    try:
        c = conn(); c.request("GET", "/api/grid/cell"); r = c.getresponse(); cells = json.loads(r.read()); break
    except Exception:
        time.sleep(1)
points = []
for f in cells["features"]:
    g = f["geometry"]; ring = g["coordinates"][0] if g["type"] == "Polygon" else g["coordinates"][0][0]
    xs = [p[0] for p in ring[:-1]]; ys = [p[1] for p in ring[:-1]]
    points.append((sum(xs)/len(xs), sum(ys)/len(ys)))
titles = []
with gzip.open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "text", "data", "teddy-cup-2020-c", "attachment2_subjects_all.tsv.gz"), "rt") as f:
    for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
        titles.append(row["留言主题"].strip()[:100])
c = conn(); c.request("POST", "/api/auth/login", json.dumps({"person": "integrator", "password": "onegrid-demo"}), {"content-type": "application/json"})
token = json.loads(c.getresponse().read())["token"]
def body(i):
    lon, lat = points[(i * 7919) % len(points)]
    return json.dumps({"title": titles[(i * 104729) % len(titles)], "description": "", "channel": "hotline_12345",
                       "location": {"lon": lon, "lat": lat}, "reporter_name": "市民", "reporter_phone": "13800000000"}, ensure_ascii=False).encode()
status = {}
def send(indices):
    c = conn()
    for i in indices:
        c.request("POST", "/api/cases", body(i), {"content-type": "application/json", "authorization": f"Bearer {token}"})
        r = c.getresponse(); r.read(); status[r.status] = status.get(r.status, 0) + 1
def run(start, n):
    threads = [threading.Thread(target=send, args=(range(start + k, start + n, 16),)) for k in range(16)]
    [t.start() for t in threads]; [t.join() for t in threads]
run(1_000_000, warm)
subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, stdout=subprocess.DEVNULL)
run(0, measured)
subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, stdout=subprocess.DEVNULL)
server.terminate(); server.wait()
print("statuses", status)
out = sorted(f for f in os.listdir(work) if f.startswith("cg.out.") and f.endswith(".1"))
total = 0
for f in out:
    for line in open(os.path.join(work, f)):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1]); break
print(f"dump {out}: {total} instructions, {total/measured:,.0f} per report")
