#!/usr/bin/env python3
"""Time per photo of two ways of running `provenance batch`, interleaved.

usage:
  ab-latency.py --bin target/release/provenance --index IDX --input DIR \
      --a "--max-objects 1" --b "" [--bin-b OTHER_BINARY] [--limit N] [--chunk 50] [--work /tmp/ab]

--bin-b runs B with another binary (an older build, to time a change), --index-b on another
index (the same records kept in another format); --limit takes N photos
spread evenly over the folder.

A shared two-core machine drifts by 10-15% between two runs of the same command minutes apart;
this runs the inputs in chunks, A then B on each chunk, so that both see the same machine, and
prints p50 and p99 of each (from every line's "sec", one photo at a time: --jobs 1), the median
of the per-photo ratios B/A and how many photos took over 1.5 times as long with B, and each
stage's p50 and p99 (the lines' "stages", where the binary writes them). Every line is kept in
WORK/a-all.jsonl and WORK/b-all.jsonl. Standard library only.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys


def run(a, binary, index, extra, inputs, out):
    lst = out + ".list"
    with open(lst, "w") as f:
        f.write("\n".join(inputs) + "\n")
    cmd = [binary, "batch", "--index", index, lst, "--out", out, "--jobs", "1"] + shlex.split(extra)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = [l for l in open(out) if l.strip()]
    with open(out.replace(".jsonl", "-all.jsonl"), "a") as f:
        f.writelines(lines)
    return {json.loads(l)["query"]: json.loads(l)["sec"] for l in lines}


def q(xs, p):
    xs = sorted(xs)
    return xs[int(round(p * (len(xs) - 1)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--input", required=True, help="a folder of photos")
    ap.add_argument("--a", default="", help="options of run A")
    ap.add_argument("--b", default="", help="options of run B")
    ap.add_argument("--bin-b", help="binary of run B (default: --bin)")
    ap.add_argument("--index-b", help="index of run B (default: --index)")
    ap.add_argument("--limit", type=int, help="photos, spread evenly over the folder")
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--work", default="/tmp/ab-latency")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for name in ("a-all.jsonl", "b-all.jsonl"):  # every chunk's lines, for a closer look
        open(os.path.join(a.work, name), "w").close()
    d = os.path.abspath(a.input)
    inputs = sorted(os.path.join(d, f) for f in os.listdir(d) if not f.startswith("."))
    if a.limit and a.limit < len(inputs):
        inputs = [inputs[i * len(inputs) // a.limit] for i in range(a.limit)]
    ta, tb = {}, {}
    for k in range(0, len(inputs), a.chunk):
        part = inputs[k:k + a.chunk]
        ta.update(run(a, a.bin, a.index, a.a, part, os.path.join(a.work, "a.jsonl")))
        tb.update(run(a, a.bin_b or a.bin, a.index_b or a.index, a.b, part, os.path.join(a.work, "b.jsonl")))
        print(f"  {min(k + a.chunk, len(inputs))}/{len(inputs)}", file=sys.stderr, flush=True)
    both = [k for k in ta if k in tb]
    sa, sb = [ta[k] for k in both], [tb[k] for k in both]
    ratio = statistics.median(tb[k] / ta[k] for k in both if ta[k] > 0)
    print(f"A {a.a!r}: p50 {q(sa, .5):.3f} s, p99 {q(sa, .99):.3f} s")
    print(f"B {a.b!r}: p50 {q(sb, .5):.3f} s, p99 {q(sb, .99):.3f} s")
    slower = sum(1 for k in both if tb[k] > 1.5 * ta[k])
    print(f"{len(both)} photos; p50 B/A {q(sb, .5) / q(sa, .5):.3f}; median per-photo ratio B/A {ratio:.3f}; "
          f"{slower} photos took over 1.5 times as long with B")
    for name in ("a", "b"):
        stages = {}
        for line in open(os.path.join(a.work, name + "-all.jsonl")):
            for stage, sec in (json.loads(line).get("stages") or {}).items():
                stages.setdefault(stage, []).append(sec)
        if stages:
            print(f"{name.upper()} by stage, p50 / p99 ms: " + ", ".join(
                f"{k} {q(v, .5) * 1e3:.0f} / {q(v, .99) * 1e3:.0f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
