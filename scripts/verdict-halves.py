#!/usr/bin/env python3
"""Verdicts on the dev split, half by half: what an officer would act on.

    python3 scripts/verdict-halves.py RESULTS.jsonl --truth TRUTH.csv --halves DIR \
        [--reencoded REENCODED.jsonl]

DIR holds truth.A.csv and truth.B.csv from ../shared/bench/halves.py (split by
source image, so a constant chosen on A is reported on B). For each half:
positives whose right record is first *and* `match`, first but not `match`;
negatives (those tagged suspect_dup left out, as score.py does) whose top
result is `match`, `partial` or `possible`; with --reencoded, the share of
photos whose top verdict is the same for their re-encoded copy. Standard
library only."""
import argparse, csv, json, os


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            j = json.loads(line)
            m = j["matches"][0] if j.get("matches") else None
            out[os.path.basename(j["query"])] = (m["id"], m["verdict"]) if m else (None, "none")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--truth", required=True)
    ap.add_argument("--halves", required=True)
    ap.add_argument("--reencoded")
    a = ap.parse_args()
    res = load(a.results)
    re = load(a.reencoded) if a.reencoded else None
    with open(a.truth) as f:
        suspect = {os.path.basename(r["file"]) for r in csv.DictReader(f)
                   if "suspect_dup" in r["transforms"].split(";")}
    print("| half | positives | right, `match` | right, not `match` | negatives | "
          "`match` | `partial` | `possible` | verdict kept re-encoded |")
    print("|---|---|---|---|---|---|---|---|---|")
    for half in ("A", "B"):
        with open(os.path.join(a.halves, f"truth.{half}.csv")) as f:
            rows = [r for r in csv.DictReader(f)]
        pos = [r for r in rows if r["ref_id"]]
        neg = [r for r in rows if not r["ref_id"] and os.path.basename(r["file"]) not in suspect]
        top = lambda r: res.get(os.path.basename(r["file"]), (None, "none"))
        right = [r for r in pos if top(r)[0] == r["ref_id"]]
        right_match = sum(top(r)[1] == "match" for r in right)
        neg_v = {v: sum(top(r)[1] == v for r in neg) for v in ("match", "partial", "possible")}
        kept = ""
        if re is not None:
            names = [os.path.basename(r["file"]) for r in rows]
            both = [n for n in names if n in res and n in re]
            same = sum(res[n][1] == re[n][1] for n in both)
            kept = f"{same / max(len(both), 1):.1%} ({len(both) - same} of {len(both)} changed)"
        print(f"| {half} | {len(pos)} | {right_match / len(pos):.3f} | "
              f"{(len(right) - right_match) / len(pos):.3f} | {len(neg)} | {neg_v['match']} | "
              f"{neg_v['partial']} | {neg_v['possible']} | {kept} |")


if __name__ == "__main__":
    main()
