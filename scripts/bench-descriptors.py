#!/usr/bin/env python3
"""A peer asked with the photo's descriptors instead of the photo (issue 26): same answers? what cost?

usage: bench-descriptors.py --peer-index DIR [--bin target/release/provenance]
                            [--work /tmp/provenance-descriptors] [--photos 100] [--port 18200]

One peer server serves --peer-index. Two front servers with no records of their own ask it:
front P sends the photo, front D its descriptors (PEERS.json `"send": "descriptors"`). The first
--photos query photos of the dev split (sorted by name) are posted to P and D in turn, one at
a time. Prints how many best results agree (same record, score and verdict), R@1 over the
positives and `match`es given to negatives for each, p50/p99 of the answer time as the client
sees it, the median per-photo time ratio D/P, and the median bytes sent to the peer (the photo,
or the descriptors as the peer's audit log counts them). Only the standard library.
"""
import argparse, csv, importlib.util, json, os, shutil, statistics, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench", "dev"))
spec = importlib.util.spec_from_file_location("fanout", os.path.join(HERE, "bench-fanout.py"))
fanout = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fanout)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "provenance"))
    ap.add_argument("--peer-index", required=True)
    ap.add_argument("--work", default="/tmp/provenance-descriptors")
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--port", type=int, default=18200)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    truth = sorted(csv.DictReader(open(os.path.join(BENCH, "truth.csv"))), key=lambda r: r["file"])[: a.photos]
    procs = []
    try:
        peer_keys = os.path.join(a.work, "peer-keys.json")
        secret = fanout.key(binary, peer_keys, "front")
        audit = os.path.join(a.work, "peer-audit.jsonl")
        procs.append(fanout.start(binary, a.peer_index, peer_keys, a.port, os.path.join(a.work, "peer"),
                                  ["--audit", audit]))
        empty = os.path.join(a.work, "none.jsonl")
        open(empty, "w").close()
        fronts = {}
        for k, (mode, send) in enumerate([("P", "photo"), ("D", "descriptors")]):
            ix = os.path.join(a.work, f"ix-{mode}")
            subprocess.run([binary, "import", "--index", ix, empty], capture_output=True, check=True)
            peers = os.path.join(a.work, f"peers-{mode}.json")
            with open(peers, "w") as f:
                json.dump([{"name": "peer", "url": f"http://127.0.0.1:{a.port}", "key": secret, "send": send}], f)
            keys = os.path.join(a.work, f"keys-{mode}.json")
            officer = fanout.key(binary, keys, "officer")
            port = a.port + 1 + k
            procs.append(fanout.start(binary, ix, keys, port, os.path.join(a.work, f"front-{mode}"),
                                      ["--peers", peers, "--peer-timeout", "30"]))
            fronts[mode] = (f"http://127.0.0.1:{port}/v1/search", officer)
        times = {"P": [], "D": []}
        right = {"P": 0, "D": 0}
        false_match = {"P": 0, "D": 0}
        same, positives, photo_bytes, failures = 0, 0, [], 0
        for row in truth:
            path = os.path.join(BENCH, row["file"])
            photo_bytes.append(os.path.getsize(path))
            best = {}
            for mode in ("P", "D"):
                url, officer = fronts[mode]
                sec, answer = fanout.post_photo(url, officer, path)
                times[mode].append(sec)
                failures += sum(1 for p in answer.get("peers", []) if not p.get("ok"))
                ms = answer["matches"]
                best[mode] = (ms[0]["id"], ms[0]["score"], ms[0]["verdict"]) if ms else None
                if row["ref_id"]:
                    right[mode] += bool(ms) and ms[0]["id"] == row["ref_id"]
                else:
                    false_match[mode] += any(m["verdict"] == "match" for m in ms)
            positives += bool(row["ref_id"])
            same += best["P"] == best["D"]
            if best["P"] != best["D"]:
                print(f"differs: {row['file']}: photo {best['P']}, descriptors {best['D']}", flush=True)
        sent = [json.loads(l)["request"]["descriptors_bytes"] for l in open(audit)
                if json.loads(l).get("action") == "search_descriptors"]
        ratio = statistics.median(d / p for d, p in zip(times["D"], times["P"]))
        print(f"photos: {len(truth)} ({positives} positives); peer failures: {failures}")
        print(f"best result the same (record, score, verdict): {same}/{len(truth)}")
        print("| sent | R@1 positives | negatives given `match` | p50 ms | p99 ms | median bytes sent |")
        print("|---|---|---|---|---|---|")
        for mode, name, size in (("P", "photo", photo_bytes), ("D", "descriptors", sent)):
            print(f"| {name} | {right[mode]}/{positives} | {false_match[mode]} | "
                  f"{statistics.median(times[mode]) * 1000:.0f} | {pct(times[mode], 0.99) * 1000:.0f} | "
                  f"{statistics.median(size):.0f} |")
        print(f"median per-photo time ratio, descriptors / photo: {ratio:.3f}")
    finally:
        fanout.stop(procs)


if __name__ == "__main__":
    main()
