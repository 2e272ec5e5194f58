#!/usr/bin/env python3
"""Does a verdict survive re-compression? Pairs two `batch` results by query
(the originals, and the same photos re-encoded by `examples/reencode.rs` as the
web page sends them) and counts the queries whose top verdict changed, and
those that gained or lost `match`.

    python3 scripts/verdict-stability.py ORIGINAL.jsonl REENCODED.jsonl [--truth TRUTH.csv] [--list]

With --truth, only the photos it lists are counted (a half's truth file: that
half), and the counts are also given for positives and negatives apart.
Where the original results carry `borderline` flags, the counts are also given
for the photos whose top result is borderline and for the others: what the flag
promises is that the others keep their verdict.
Standard library only."""
import argparse, csv, json


def top(path):
    out = {}
    with open(path) as f:
        for line in f:
            j = json.loads(line)
            m = j["matches"][0] if j.get("matches") else None
            out[j["query"]] = (
                (m["verdict"], m["id"], m["score"], bool(m.get("borderline")))
                if m
                else ("none", None, 0.0, False)
            )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("original")
    ap.add_argument("reencoded")
    ap.add_argument("--truth")
    ap.add_argument("--list", action="store_true", help="print every changed query")
    a = ap.parse_args()
    x, y = top(a.original), top(a.reencoded)
    common = sorted(set(x) & set(y))
    kind = {}
    if a.truth:
        with open(a.truth) as f:
            for r in csv.DictReader(f):
                kind[r["file"].split("/")[-1]] = "positive" if r["ref_id"] else "negative"
    if kind:  # a half's truth file counts that half alone
        common = [q for q in common if q.split("/")[-1] in kind]
    groups = {"all": common}
    if kind:
        for k in ("positive", "negative"):
            groups[k] = [q for q in common if kind.get(q.split("/")[-1]) == k]
    if any(x[q][3] for q in common):
        groups["borderline"] = [q for q in common if x[q][3]]
        groups["not borderline"] = [q for q in common if not x[q][3]]
    for name, qs in groups.items():
        changed = [q for q in qs if x[q][0] != y[q][0]]
        match_flip = [q for q in changed if "match" in (x[q][0], y[q][0])]
        kept = 1 - len(changed) / len(qs) if qs else 1.0
        print(f"{name}: {len(qs)} photos, verdict kept {kept:.2%} ({len(changed)} changed, {len(match_flip)} gained or lost `match`)")
    if a.list:
        for q in common:
            if x[q][0] != y[q][0]:
                print(f"  {q}: {x[q][0]} {x[q][1]} {x[q][2]:.2f} -> {y[q][0]} {y[q][1]} {y[q][2]:.2f}")


if __name__ == "__main__":
    main()
