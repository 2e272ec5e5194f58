#!/usr/bin/env python3
"""Fan-out of a federated search (issue 26): one database split into N shards, served as peers.

usage: bench-fanout.py [--bin target/release/provenance] [--work /tmp/provenance-fanout]
                       [--shards 1,2,4] [--photos 100] [--port 18100] [--send photo,descriptors]
                       [--empty-front] [--records FILE.jsonl]

For each N, the dev split's records (or --records, e.g. the dev records with make_distractors.py's)
are split by SHA-256 of their id into N shards, each imported into its own index. Shard 0 is
served by the front server (`serve --peers`), shards 1..N-1 by one peer server each, all on this
machine; with --empty-front the front holds no records and every shard is a peer's. Each photo
is also posted to every peer directly, in turn with the front, for the peers' own p50 (the
slowest of them is the figure issue 26's target compares with). The first --photos query photos of the
dev split (sorted by name) are posted one at a time to the front server, which sends the peers
the photo or only its descriptors (--send: each way in turn, PEERS.json's "send"). Prints, per N
and way, p50
and p99 of the answer time as the client sees it, the slowest peer's own p50 and the ratio, and R@1 over the positives (the right record
first, from whichever server holds it), `match`es given to negatives, and peers that failed.
Only the standard library.
"""
import argparse, csv, hashlib, json, os, shutil, statistics, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench", "dev"))


def post_photo(url, key, path):
    boundary = "fanout-boundary"
    data = open(path, "rb").read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"q\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {key}"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.loads(r.read())
    return time.perf_counter() - t, answer


def start(binary, index, keys, port, log, extra=()):
    out = open(log + ".out", "w")
    p = subprocess.Popen([binary, "serve", "--index", index, "--keys", keys,
                          "--addr", f"127.0.0.1:{port}", *extra], stdout=out, stderr=open(log + ".err", "w"))
    for _ in range(600):
        if "listening" in open(log + ".out").read():
            return p
        if p.poll() is not None:
            sys.exit(open(log + ".err").read())
        time.sleep(0.1)
    sys.exit(f"server on {port} did not start")


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def key(binary, keys, name):
    return subprocess.run([binary, "keys", "add", "--keys", keys, "--role", "officer", "--name", name,
                           "--rate", "0"], capture_output=True, text=True, check=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "provenance"))
    ap.add_argument("--work", default="/tmp/provenance-fanout")
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--send", default="photo")
    ap.add_argument("--empty-front", action="store_true")
    ap.add_argument("--records", help="records with absolute image paths (default: the dev split's)")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if a.records:
        records = [json.loads(l) for l in open(a.records)]
    else:
        records = [json.loads(l) for l in open(os.path.join(BENCH, "records.jsonl"))]
        for r in records:
            r["images"] = [os.path.join(BENCH, i) for i in r.get("images", [])]
    first = 0 if a.empty_front else 1
    truth = sorted(csv.DictReader(open(os.path.join(BENCH, "truth.csv"))), key=lambda r: r["file"])[: a.photos]
    print("| shards | front holds | peers sent | p50 ms | p99 ms | slowest peer's own p50 | ratio | R@1 positives "
          "| negatives given `match` | peer failures |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in a.shards.split(",")]:
        work = os.path.join(a.work, f"n{n}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        procs, peers = [], []
        try:
            for i in range(n + 1):
                part = [] if i == n else [r for r in records if int(hashlib.sha256(r["id"].encode()).hexdigest(), 16) % n == i]
                path = os.path.join(work, f"shard-{i}.jsonl")
                with open(path, "w") as f:
                    f.writelines(json.dumps(r) + "\n" for r in part)
                subprocess.run([binary, "import", "--index", os.path.join(work, f"ix-{i}"), path],
                               capture_output=True, check=True)
            for i in range(first, n):
                keys = os.path.join(work, f"keys-{i}.json")
                secret = key(binary, keys, "front")
                port = a.port + 1 + i
                procs.append(start(binary, os.path.join(work, f"ix-{i}"), keys, port, os.path.join(work, f"peer-{i}")))
                peers.append({"name": f"shard-{i}", "url": f"http://127.0.0.1:{port}", "key": secret})
            keys = os.path.join(work, "keys-0.json")
            officer = key(binary, keys, "officer")
            for send in a.send.split(","):
                extra = []
                if peers:
                    with open(os.path.join(work, "peers.json"), "w") as f:
                        json.dump([dict(p, send=send) for p in peers], f)
                    extra = ["--peers", os.path.join(work, "peers.json")]
                front_ix = os.path.join(work, f"ix-{n if a.empty_front else 0}")
                front = start(binary, front_ix, keys, a.port, os.path.join(work, "front"), extra)
                try:
                    url = f"http://127.0.0.1:{a.port}/v1/search"
                    times, right, positives, false_match, failures = [], 0, 0, 0, 0
                    own = {p["name"]: [] for p in peers}
                    for row in truth:
                        photo = os.path.join(BENCH, row["file"])
                        for p in peers:
                            own[p["name"]].append(post_photo(p["url"] + "/v1/search", p["key"], photo)[0])
                        sec, answer = post_photo(url, officer, photo)
                        times.append(sec)
                        failures += sum(1 for p in answer.get("peers", []) if not p.get("ok"))
                        ms = answer["matches"]
                        if row["ref_id"]:
                            positives += 1
                            right += bool(ms) and ms[0]["id"] == row["ref_id"]
                        else:
                            false_match += any(m["verdict"] == "match" for m in ms)
                finally:
                    front.terminate()
                    front.wait()
                times.sort()
                p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
                p50 = statistics.median(times) * 1000
                slowest = max((statistics.median(t) * 1000 for t in own.values()), default=0)
                ratio = f"{p50 / slowest:.2f}" if slowest else "-"
                holds = "none" if a.empty_front else "shard 0"
                print(f"| {n} | {holds} | {send if peers else '-'} | {p50:.0f} | {p99 * 1000:.0f} | "
                      f"{slowest:.0f} | {ratio} | {right}/{positives} | {false_match} | {failures} |", flush=True)
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
