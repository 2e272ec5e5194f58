#!/usr/bin/env python3
"""Frames as a visitor's video gives them, made from the dev split's true photos.

    python3 scripts/make-video-frames.py --bench ../shared/bench/dev --out /tmp/vf-A --half A
    provenance batch --index I --jobs 2 /tmp/vf-A/queries --out vf-A.jsonl
    python3 ../shared/bench/score.py --truth /tmp/vf-A/truth.csv --results vf-A.jsonl

Issue 23's real photographs hold video frames from a gallery, which got `match` less often than
still photos (76% against 82%). The dev split has none. Each frame here is one of the split's
photos of an object in the database (negatives too, so that scores can be read at a false-positive
rate) as a phone video stores it:
  - cut to 16:9 (9:16 for an upright photo) around its centre, as the camera's video mode frames
    it, at 1280 x 720, or at 854 x 480 scaled up to 1280 x 720 (a stream at a lower bitrate);
  - motion blur of 0-14 px along a random direction (the hand moves during the exposure), or
    defocus;
  - sensor noise, then the codec: JPEG at quality 30-70 with 4:2:0 chroma (a frame grab keeps the
    codec's blocks; the frame is then saved losslessly as PNG).
--half A|B keeps the photos of that half (../shared/bench/halves.py's rule), so a constant chosen
on one half's frames can be reported on the other. Deterministic: frame i depends only on (seed,
the photo's name). Needs numpy and Pillow (see ../shared/bench/README.md).
"""
import argparse
import csv
import hashlib
import io
import math
import os

import numpy as np
from PIL import Image, ImageFilter


def half_of(name):
    return "A" if hashlib.sha256(name.encode()).digest()[0] & 1 == 0 else "B"


def motion_kernel(length, angle):
    n = max(1, int(math.ceil(length)))
    size = 2 * n + 1
    k = np.zeros((size, size), np.float32)
    dx, dy = math.cos(angle), math.sin(angle)
    for t in np.linspace(-length / 2, length / 2, max(2, int(length * 3))):
        k[int(round(n + t * dy)), int(round(n + t * dx))] = 1.0
    return k / k.sum()


def convolve(a, k):
    """Per-channel 2D convolution by shifted sums (kernels here are small)."""
    h = k.shape[0] // 2
    pad = np.pad(a, ((h, h), (h, h), (0, 0)), mode="edge")
    out = np.zeros_like(a)
    for y, x in zip(*np.nonzero(k)):
        out += k[y, x] * pad[y:y + a.shape[0], x:x + a.shape[1]]
    return out


def frame(im, g):
    w, h = im.size
    upright = h > w
    W, H = (720, 1280) if upright else (1280, 720)
    target = W / H
    if w / h > target:  # too wide: cut the sides
        cw = int(h * target)
        im = im.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = int(w / target)
        im = im.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    low = g.random() < 0.4
    size = ((480, 854) if upright else (854, 480)) if low else (W, H)
    im = im.resize(size, Image.BILINEAR)
    a = np.asarray(im.convert("RGB"), np.float32)
    if g.random() < 0.75:
        length = g.uniform(2, 14) * size[0] / W
        a = convolve(a, motion_kernel(length, g.uniform(0, math.pi)))
        blur = f"motion:{length:.1f}"
    else:
        r = g.uniform(0.8, 2.5)
        a = np.asarray(Image.fromarray(a.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(r)), np.float32)
        blur = f"defocus:{r:.1f}"
    a += g.normal(0, g.uniform(1.5, 5), a.shape)
    im = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    q = int(g.integers(30, 71))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q, subsampling=2)
    im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if low:
        im = im.resize((W, H), Image.BILINEAR)
    return im, ["video", "low" if low else "720p", blur, f"codec:{q}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--half", choices=["A", "B"])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "queries"), exist_ok=True)
    rows = []
    with open(os.path.join(args.bench, "truth.csv")) as f:
        for t in csv.DictReader(f):
            name = os.path.basename(t["file"])
            if "suspect_dup" in t["transforms"]:
                continue
            if args.half and half_of(t["ref_id"] or name) != args.half:
                continue
            seed = int.from_bytes(hashlib.sha256(f"{args.seed}:{name}".encode()).digest()[:8], "little")
            g = np.random.default_rng(seed)
            im, tags = frame(Image.open(os.path.join(args.bench, t["file"])).convert("RGB"), g)
            out = "v" + os.path.splitext(name)[0][1:] + ".png"
            im.save(os.path.join(args.out, "queries", out))
            rows.append({"qid": os.path.splitext(out)[0], "file": "queries/" + out, "ref_id": t["ref_id"], "difficulty": t["difficulty"],
                         "transforms": ";".join([t["transforms"]] + tags)})
    with open(os.path.join(args.out, "truth.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["qid", "file", "ref_id", "difficulty", "transforms"])
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} frames in {args.out}")


if __name__ == "__main__":
    main()
