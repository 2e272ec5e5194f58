#!/usr/bin/env python3
"""Hard cases for photo matching (issue 23): shared-detail negatives and fragment positives.

usage:
  make-hard-cases.py --bench ../shared/bench/dev --out DIR [--n 300] [--seed 1] [--half A|B]
  make-hard-cases.py --report DIR --results RESULTS.jsonl [--worst K]

Needs a Python with numpy and pillow (no OpenCV, no Debian packages), e.g.
  python3 -m venv /tmp/hc-venv && /tmp/hc-venv/bin/pip install numpy pillow
  /tmp/hc-venv/bin/python scripts/make-hard-cases.py --bench ../shared/bench/dev --out /tmp/hc-A --half A
The --report mode needs only Python's standard library.

Writes DIR/queries/<qid>.jpg, DIR/truth.csv in score.py's format (qid,file,ref_id,difficulty,
transforms; ref_id empty for negatives; the first transform tag is `family:<kind>`) and
DIR/cases.jsonl (one line per query: kind, label, every reference used and how much of it).
Then:
  provenance batch --index IDX DIR/queries --out R.jsonl
  python3 ../shared/bench/score.py --truth DIR/truth.csv --results R.jsonl
  python3 scripts/make-hard-cases.py --report DIR --results R.jsonl
(--report prints per kind: top-1 verdict `match` / `partial` / `possible` shares, R@1, and the worst false
matches; it reads the `verdict` field of the engine's result lines.)

Kinds (docs/hard-cases.md says why each is labelled as it is):
  negatives (ref_id empty), "neither side explains the other":
    detail_in_scene    a detail (8-30% of a reference's picture) pasted, maybe slightly turned,
                       scaled and recoloured, into an unrelated scene that covers most of the photo:
                       a negative query photo of the dev split (same half) or a synthetic scene
                       (smooth noise, a gradient poster with shapes, a texture).
    detail_pair        pieces (12-30% each) of two or three different references joined edge to
                       edge into one picture; no reference is shown whole.
    recoloured_detail  a detail strongly recoloured (hue turn, inverted, posterised, two flat
                       colours, channels swapped) over a new background.
    recoloured_copy    a reference shown whole, recoloured as above, photographed on a table: the
                       same design in other colours (a colourway, a print in another ink), not the
                       object. Not in the standard mix (its ids are unchanged); ask for it with
                       --kinds recoloured_copy.
  positives (ref_id = the reference), "the photo's object is wholly explained by the reference":
    fragment           a torn piece (35-70% of the reference's picture, one or two torn edges)
                       photographed on a table: mild perspective, shadow, light falloff, JPEG.
    sticker            reference B shown whole, photographed, with a detail of reference A stuck
                       on it covering 5-20% of B: a positive of B; A must not become a `match`.

"A reference's picture" is the reference image cropped to its content box (the uniform margin
of a clip-art sheet removed), and every detail holds at most half of the reference's ink (its
non-background pixels), so a detail never carries a whole small sprite. A fragment holds 25-85%
of the ink.

--half A|B uses only references (and negative dev queries as scenes) of that half, by the rule of
../shared/bench/halves.py (sha256 of the ref id, or of a negative's file name; first byte & 1),
so constants chosen on the cases of one half can be reported on the other. Deterministic: query i
depends only on (seed, half, i), so --n 100 is a prefix of --n 300; the same Pillow/libjpeg build
gives the same bytes.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import sys

KIND_CYCLE = ["detail_in_scene", "fragment", "detail_pair", "recoloured_detail", "sticker",
              "detail_in_scene", "fragment", "detail_pair", "recoloured_detail", "fragment",
              "detail_in_scene", "sticker", "detail_pair", "fragment", "detail_in_scene",
              "recoloured_detail", "sticker", "detail_pair", "fragment", "detail_in_scene"]
NEGATIVE_KINDS = ("detail_in_scene", "detail_pair", "recoloured_detail", "recoloured_copy")
POSITIVE_KINDS = ("fragment", "sticker")


def half_of(key):
    """halves.py's rule: a positive goes by its ref id, a negative by its file's base name."""
    return "AB"[hashlib.sha256(key.encode()).digest()[0] & 1]


# --------------------------------------------------------------------------------------------
# generation (numpy + Pillow)
# --------------------------------------------------------------------------------------------

def _imports():
    global np, Image, ImageDraw, ImageFilter, ImageOps
    import numpy as np  # noqa: F401
    from PIL import Image, ImageDraw, ImageFilter, ImageOps  # noqa: F401
    Image.MAX_IMAGE_PIXELS = None


def rng_for(*parts):
    s = "\x1f".join(str(p) for p in ("hard-cases-v1",) + parts).encode()
    return np.random.Generator(np.random.PCG64(int.from_bytes(hashlib.sha256(s).digest()[:8], "big")))


def integral(a):
    return np.pad(a.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))


def box_sum(S, x, y, w, h):
    return S[y + h, x + w] - S[y, x + w] - S[y + h, x] + S[y, x]


class Ref:
    """A reference image with its content box, ink mask and edge energy (all at native size)."""

    def __init__(self, rid, path):
        im = ImageOps.exif_transpose(Image.open(path))
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            base = Image.new("RGBA", im.size, (255, 255, 255, 255))
            base.alpha_composite(im)
            im = base
        self.id = rid
        self.rgb = np.asarray(im.convert("RGB"))
        a = self.rgb.astype(np.int16)
        H, W = a.shape[:2]
        border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
        bg = np.median(border, axis=0)
        uniform = (np.abs(border - bg).max(-1) <= 24).mean() >= 0.85
        if uniform:
            ink = np.abs(a - bg).max(-1) > 28
            if ink.sum() < 0.002 * H * W:
                ink = np.ones((H, W), bool)
        else:
            ink = np.ones((H, W), bool)
        ys, xs = np.nonzero(ink)
        y0, y1 = int(np.quantile(ys, 0.002)), int(np.quantile(ys, 0.998)) + 1
        x0, x1 = int(np.quantile(xs, 0.002)), int(np.quantile(xs, 0.998)) + 1
        if (x1 - x0) < 24 or (y1 - y0) < 24:
            x0, y0, x1, y1 = 0, 0, W, H
        self.box = (x0, y0, x1, y1)
        self.bg = tuple(int(v) for v in bg)
        self.ink = ink
        self.ink_total = max(1.0, float(ink[y0:y1, x0:x1].sum()))
        self.S_ink = integral(ink)
        gray = a.mean(-1)
        e = np.zeros((H, W))
        e[:, 1:] += np.abs(np.diff(gray, axis=1))
        e[1:, :] += np.abs(np.diff(gray, axis=0))
        self.S_edge = integral(e)

    @property
    def box_area(self):
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)

    def pick_detail(self, g, lo, hi, max_ink=0.5, aspect=None, tries=12, min_side=64):
        """A rectangle holding lo..hi of the content box's area and <= max_ink of its ink; of the
        candidates, the one with the most edge energy per pixel (the most distinctive motif)."""
        x0, y0, x1, y1 = self.box
        BW, BH = x1 - x0, y1 - y0
        best = None
        for _ in range(tries):
            frac = g.uniform(lo, hi)
            ar = aspect if aspect else math.exp(g.uniform(math.log(0.6), math.log(1.65)))
            area = frac * BW * BH
            cw = math.sqrt(area * ar)
            ch = area / cw
            if cw > BW:
                cw, ch = BW, area / BW
            if ch > BH:
                ch, cw = BH, min(BW, area / BH)
            cw, ch = int(round(cw)), int(round(ch))
            if cw < min_side or ch < min_side:
                continue
            x = int(g.integers(x0, x1 - cw + 1))
            y = int(g.integers(y0, y1 - ch + 1))
            inks = box_sum(self.S_ink, x, y, cw, ch)
            share = inks / self.ink_total
            dens = inks / (cw * ch)
            if share > max_ink or dens < 0.08:
                continue
            en = box_sum(self.S_edge, x, y, cw, ch) / (cw * ch)
            if best is None or en > best[0]:
                best = (en, (x, y, cw, ch), cw * ch / (BW * BH), share)
        if best is None:
            return None
        _, (x, y, cw, ch), frac, share = best
        return {"crop": Image.fromarray(self.rgb[y:y + ch, x:x + cw]), "xywh": [x, y, cw, ch],
                "area": round(float(frac), 3), "ink": round(float(share), 3)}


class Bench:
    def __init__(self, bench, half):
        self.dir = bench
        self.refs = {}
        for line in open(os.path.join(bench, "records.jsonl"), encoding="utf-8"):
            r = json.loads(line)
            if r.get("images") and (half is None or half_of(r["id"]) == half):
                self.refs[r["id"]] = os.path.join(bench, r["images"][0])
        self.ref_ids = sorted(self.refs)
        self.scenes = []  # negative dev queries: photos of objects not in the database
        tp = os.path.join(bench, "truth.csv")
        if os.path.exists(tp):
            for t in csv.DictReader(open(tp, newline="")):
                if t["ref_id"] or "suspect_dup" in t["transforms"].split(";"):
                    continue
                if half is None or half_of(os.path.basename(t["file"])) == half:
                    self.scenes.append(os.path.join(bench, t["file"]))
        self.scenes.sort()
        self._cache = {}

    def ref(self, rid):
        if rid not in self._cache:
            if len(self._cache) > 48:
                self._cache.pop(next(iter(self._cache)))
            self._cache[rid] = Ref(rid, self.refs[rid])
        return self._cache[rid]

    def random_ref(self, g, exclude=()):
        while True:
            rid = self.ref_ids[int(g.integers(len(self.ref_ids)))]
            if rid not in exclude:
                return self.ref(rid)

    def detail(self, g, lo, hi, exclude=(), aspect=None, max_ink=0.5):
        for _ in range(40):
            r = self.random_ref(g, exclude)
            d = r.pick_detail(g, lo, hi, max_ink=max_ink, aspect=aspect)
            if d:
                d["ref"] = r.id
                return r, d
        raise RuntimeError("no reference yields a detail")


# ---- pictures ---------------------------------------------------------------------------------

def canvas_size(g):
    L = int(g.integers(800, 1601))
    ar = [1.0, 4 / 3, 3 / 2, 16 / 9][int(g.integers(4))]
    S = int(round(L / ar))
    return (L, S) if g.random() < 0.5 else (S, L)


def rand_colour(g, lo=0, hi=255):
    return tuple(int(v) for v in g.integers(lo, hi + 1, 3))


def smooth_field(g, W, H, cell, ch=1):
    sw, sh = max(2, W // cell + 2), max(2, H // cell + 2)
    small = (g.random((sh, sw, ch)) * 255).astype(np.uint8)
    im = Image.fromarray(small[..., 0] if ch == 1 else small)
    return np.asarray(im.resize((W, H), Image.BICUBIC)).astype(np.float32) / 255


def palette_map(t, cols):
    """t in [0,1] (H,W) -> colours interpolated along a list of RGB stops."""
    cols = np.array(cols, np.float32)
    k = len(cols) - 1
    x = np.clip(t, 0, 1) * k
    i = np.minimum(x.astype(int), k - 1)
    f = (x - i)[..., None]
    return (cols[i] * (1 - f) + cols[i + 1] * f).clip(0, 255).astype(np.uint8)


def scene_noise(g, W, H):
    t = sum(smooth_field(g, W, H, c) * w for c, w in ((W // 3, 0.55), (W // 12, 0.3), (24, 0.15)))
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    return Image.fromarray(palette_map(t, [rand_colour(g) for _ in range(int(g.integers(2, 5)))]))


def scene_gradient(g, W, H):
    c0, c1 = np.array(rand_colour(g), np.float32), np.array(rand_colour(g), np.float32)
    ang = g.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    t = (xx * math.cos(ang) + yy * math.sin(ang))
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    im = Image.fromarray((c0 * (1 - t[..., None]) + c1 * t[..., None]).astype(np.uint8))
    d = ImageDraw.Draw(im, "RGBA")
    for _ in range(int(g.integers(4, 14))):  # a poster / sign: shapes, bars, lines
        x0, y0 = g.integers(-W // 4, W), g.integers(-H // 4, H)
        w, h = g.integers(W // 20, W // 2), g.integers(H // 20, H // 2)
        col = rand_colour(g) + (int(g.integers(120, 256)),)
        k = int(g.integers(4))
        if k == 0:
            d.ellipse([x0, y0, x0 + w, y0 + h], fill=col)
        elif k == 1:
            d.rectangle([x0, y0, x0 + w, y0 + h], fill=col)
        elif k == 2:
            pts = [(int(x0 + g.integers(0, w)), int(y0 + g.integers(0, h))) for _ in range(int(g.integers(3, 7)))]
            d.polygon(pts, fill=col)
        else:
            d.line([(int(x0), int(y0)), (int(x0 + w), int(y0 + h))], fill=col, width=int(g.integers(3, 25)))
    return im


def scene_texture(g, W, H):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    p = float(g.uniform(12, 90))
    k = int(g.integers(4))
    if k == 0:  # stripes at an angle
        ang = g.uniform(0, math.pi)
        t = 0.5 + 0.5 * np.sign(np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * 2 * math.pi / p))
    elif k == 1:  # checks
        t = ((xx // p + yy // p) % 2).astype(np.float32)
    elif k == 2:  # dots
        t = (((xx % p) - p / 2) ** 2 + ((yy % p) - p / 2) ** 2 < (p * g.uniform(0.15, 0.4)) ** 2).astype(np.float32)
    else:  # bricks
        row = yy // p
        t = (((yy % p) < 3) | (((xx + (row % 2) * p) % (2 * p)) < 3)).astype(np.float32)
    t = 0.8 * t + 0.2 * smooth_field(g, W, H, max(8, W // 10))
    return Image.fromarray(palette_map(t, [rand_colour(g), rand_colour(g)]))


def scene_photo(g, bench, W, H):
    path = bench.scenes[int(g.integers(len(bench.scenes)))]
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    s = max(W / im.width, H / im.height)
    im = im.resize((max(W, round(im.width * s)), max(H, round(im.height * s))), Image.LANCZOS)
    x = int(g.integers(0, im.width - W + 1))
    y = int(g.integers(0, im.height - H + 1))
    return im.crop((x, y, x + W, y + H)), os.path.basename(path)


def unrelated_scene(g, bench, W, H, p_photo=0.5):
    if bench.scenes and g.random() < p_photo:
        im, name = scene_photo(g, bench, W, H)
        return im, "negq:" + name
    k = int(g.integers(3))
    return [scene_noise, scene_gradient, scene_texture][k](g, W, H), ["noise", "gradient", "texture"][k]


def table(g, W, H):
    """A surface a seized object is photographed on: wood, cloth, a desk, cardboard."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    k = int(g.integers(4))
    if k == 0:
        warp = smooth_field(g, W, H, max(16, W // 6)) * g.uniform(20, 80)
        ang = g.uniform(-0.3, 0.3)
        t = np.sin((yy * math.cos(ang) + xx * math.sin(ang) + warp) * 2 * math.pi / g.uniform(10, 40))
        t = 0.5 + 0.35 * t + 0.15 * smooth_field(g, W, H, 6)
        base = np.array([g.uniform(90, 170), g.uniform(55, 110), g.uniform(25, 60)], np.float32)
        out = base * (0.7 + 0.5 * t[..., None])
        name = "wood"
    elif k == 1:
        p = g.uniform(3, 7)
        t = 0.5 + 0.25 * np.sin(xx * 2 * math.pi / p) * np.sin(yy * 2 * math.pi / p) + 0.25 * smooth_field(g, W, H, 4)
        out = np.array(rand_colour(g, 30, 200), np.float32) * (0.75 + 0.45 * t[..., None])
        name = "cloth"
    elif k == 2:
        out = np.array(rand_colour(g, 60, 235), np.float32) * (0.92 + 0.1 * smooth_field(g, W, H, 3)[..., None])
        name = "desk"
    else:
        fib = smooth_field(g, W, H, 3) * 0.5 + smooth_field(g, W, H, max(8, W // 8)) * 0.5
        out = np.array([g.uniform(150, 200), g.uniform(120, 160), g.uniform(80, 115)], np.float32) * (0.8 + 0.35 * fib[..., None])
        name = "cardboard"
    return Image.fromarray(out.clip(0, 255).astype(np.uint8)), name


def persp_coeffs(dst, src):
    """PIL PERSPECTIVE data mapping output points dst -> input points src."""
    A, B = [], []
    for (x, y), (u, v) in zip(dst, src):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        B.append(u)
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        B.append(v)
    return np.linalg.solve(np.array(A, np.float64), np.array(B, np.float64)).tolist()


def place(piece, bg, g, fill, rot, persp, max_up=2.5, shadow=True):
    """Composite an RGBA piece onto bg (RGB) so that it covers about `fill` of bg's area, turned by
    up to `rot` degrees, corners jittered by up to `persp` of its size. Returns (image, covered share)."""
    W, H = bg.size
    pw, ph = piece.size
    th = math.radians(g.uniform(-rot, rot))
    c, s_ = abs(math.cos(th)), abs(math.sin(th))
    bw, bh = pw * c + ph * s_, pw * s_ + ph * c
    s = min(math.sqrt(fill * W * H / (pw * ph)), 0.94 * W / (bw * (1 + 2 * persp)),
            0.94 * H / (bh * (1 + 2 * persp)), max_up)
    if s < 1:  # downscale with a proper filter first; the warp then stays near 1:1
        piece = piece.resize((max(8, round(pw * s)), max(8, round(ph * s))), Image.LANCZOS)
        s *= pw / piece.width
        pw, ph = piece.size
    src = [(0, 0), (pw, 0), (pw, ph), (0, ph)]
    ct, st = math.cos(th), math.sin(th)
    quad = []
    j = persp * s * max(pw, ph)
    for (x, y) in src:
        x, y = (x - pw / 2) * s, (y - ph / 2) * s
        quad.append([x * ct - y * st + g.uniform(-j, j), x * st + y * ct + g.uniform(-j, j)])
    q = np.array(quad)
    lo, hi = q.min(0), q.max(0)
    cx = g.uniform(-lo[0] + 2, W - hi[0] - 2) if W - hi[0] - 2 > -lo[0] + 2 else W / 2
    cy = g.uniform(-lo[1] + 2, H - hi[1] - 2) if H - hi[1] - 2 > -lo[1] + 2 else H / 2
    q += [cx, cy]
    co = persp_coeffs([tuple(p) for p in q], src)
    layer = piece.convert("RGBa").transform((W, H), Image.PERSPECTIVE, co, Image.BICUBIC).convert("RGBA")
    base = bg.convert("RGBA")
    alpha = layer.getchannel("A")
    if shadow:
        r = g.uniform(3, 12)
        dx, dy = int(g.uniform(-1, 1) * r), int(g.uniform(0.3, 1.2) * r)
        sh = Image.new("L", (W, H), 0)
        sh.paste(alpha.filter(ImageFilter.GaussianBlur(r)), (dx, dy))
        k = g.uniform(0.25, 0.5)
        b = np.asarray(base).astype(np.float32)
        b[..., :3] *= 1 - k * (np.asarray(sh, np.float32)[..., None] / 255)
        base = Image.fromarray(b.clip(0, 255).astype(np.uint8), "RGBA")
    base.alpha_composite(layer)
    covered = float((np.asarray(alpha) > 127).mean())
    return base.convert("RGB"), covered


def photo_fx(im, g, persp=0.03, tags=None):
    """A handheld photo of a flat picture: slight perspective, colour cast, light falloff, noise, blur."""
    W, H = im.size
    if persp > 0:
        m = persp
        big = im.resize((round(W * (1 + 2 * m)), round(H * (1 + 2 * m))), Image.BICUBIC)
        ox, oy = W * m, H * m
        dst = [(0, 0), (W, 0), (W, H), (0, H)]
        src = [(x + ox + g.uniform(-1, 1) * W * m * 0.9, y + oy + g.uniform(-1, 1) * H * m * 0.9) for x, y in dst]
        im = big.transform((W, H), Image.PERSPECTIVE, persp_coeffs(dst, src), Image.BICUBIC)
    a = np.asarray(im).astype(np.float32)
    cast = np.array([g.uniform(0.92, 1.08), g.uniform(0.95, 1.05), g.uniform(0.9, 1.08)], np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = g.uniform(0, 2 * math.pi)
    t = (xx / W - 0.5) * math.cos(ang) + (yy / H - 0.5) * math.sin(ang)
    light = 1 + g.uniform(0.05, 0.25) * t
    a = a * cast * light[..., None]
    a += g.normal(0, g.uniform(1, 4), a.shape).astype(np.float32)
    im = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    if g.random() < 0.4:
        im = im.filter(ImageFilter.GaussianBlur(g.uniform(0.4, 1.2)))
        if tags is not None:
            tags.append("blur")
    return im


def recolour(im, g, strong):
    """Returns (image, tag). strong: hue turn, invert, posterise, flat two-tone, channel swap;
    mild: a small hue turn, saturation or brightness change."""
    if not strong:
        k = int(g.integers(3))
        if k == 0:
            hsv = np.asarray(im.convert("HSV")).copy()
            hsv[..., 0] = (hsv[..., 0].astype(int) + int(g.integers(-18, 19))) % 256
            return Image.fromarray(hsv, "HSV").convert("RGB"), "hue_small"
        a = np.asarray(im.convert("HSV")).astype(np.float32)
        if k == 1:
            a[..., 1] *= g.uniform(0.5, 1.5)
            tag = "saturation"
        else:
            a[..., 2] *= g.uniform(0.75, 1.2)
            tag = "brightness"
        return Image.fromarray(a.clip(0, 255).astype(np.uint8), "HSV").convert("RGB"), tag
    k = int(g.integers(5))
    if k == 0:
        hsv = np.asarray(im.convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(int) + int(g.integers(45, 211))) % 256
        return Image.fromarray(hsv, "HSV").convert("RGB"), "hue"
    if k == 1:
        return ImageOps.invert(im), "invert"
    if k == 2:
        return ImageOps.posterize(im, int(g.integers(1, 3))), "posterise"
    if k == 3:
        lum = np.asarray(im.convert("L")).astype(np.float32)
        thr = np.median(lum) if lum.std() > 1 else 128
        if abs(thr - lum.mean()) > 60 or (lum > thr).mean() in (0.0, 1.0):
            thr = lum.mean()
        c0, c1 = np.array(rand_colour(g), np.uint8), np.array(rand_colour(g), np.uint8)
        while np.abs(c0.astype(int) - c1.astype(int)).sum() < 200:
            c1 = np.array(rand_colour(g), np.uint8)
        return Image.fromarray(np.where((lum > thr)[..., None], c1, c0)), "flat"
    perm = [[1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]][int(g.integers(5))]
    return Image.fromarray(np.asarray(im)[..., perm].copy()), "channels"


def paste_detail(scene, crop, g, fill, tags):
    """Paste a detail into a scene, maybe on a small panel (a sign) and slightly turned."""
    if g.random() < 0.4:
        b = max(3, int(min(crop.size) * g.uniform(0.03, 0.1)))
        crop = ImageOps.expand(crop, border=b, fill=rand_colour(g))
        tags.append("panel")
    piece = crop.convert("RGBA")
    im, cov = place(piece, scene, g, fill=fill, rot=8, persp=0.02, max_up=3.0, shadow=g.random() < 0.3)
    return im, cov


def torn_mask(g, w, h):
    """A piece of a w x h sheet with one or two torn edges: a boolean mask."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def edge(n, amp):
        steps = g.normal(0, 1, n).cumsum()
        steps -= np.linspace(steps[0], steps[-1], n)
        steps = steps / max(1e-6, np.abs(steps).max()) * amp * g.uniform(0.3, 1)
        jag = np.convolve(g.normal(0, 1, n), np.ones(3) / 3, "same") * amp * 0.08
        return steps + jag

    mask = np.ones((h, w), bool)
    ntear = 1 if g.random() < 0.6 else 2
    axes = [int(g.integers(2))] if ntear == 1 else [0, 1]
    for ax in axes:  # ax 0: a roughly vertical tear (x = f(y)); 1: roughly horizontal
        n, m = (h, w) if ax == 0 else (w, h)
        pos = g.uniform(0.35, 0.75) * m if ntear == 1 else g.uniform(0.55, 0.9) * m
        slope = g.uniform(-0.25, 0.25) * m / n
        f = pos + slope * (np.arange(n) - n / 2) + edge(n, 0.06 * m)
        keep_low = g.random() < 0.5
        if ax == 0:
            cut = xx < f[:, None]
        else:
            cut = yy < f[None, :]
        mask &= cut if keep_low else ~cut
    return mask


def make_fragment(bench, g, W, H, tags):
    for _ in range(60):
        r = bench.random_ref(g)
        x0, y0, x1, y1 = r.box
        w, h = x1 - x0, y1 - y0
        if w < 80 or h < 80:
            continue
        m = torn_mask(g, w, h)
        frac = float(m.mean())
        share = float(r.ink[y0:y1, x0:x1][m].sum() / r.ink_total)
        if 0.35 <= frac <= 0.70 and 0.25 <= share <= 0.85:
            break
    else:
        raise RuntimeError("no fragment found")
    # a paper margin of 3% of the ref's own background around the content box
    pad = int(0.03 * max(w, h))
    X0, Y0, X1, Y1 = max(0, x0 - pad), max(0, y0 - pad), min(r.rgb.shape[1], x1 + pad), min(r.rgb.shape[0], y1 + pad)
    sheet = np.full((Y1 - Y0, X1 - X0, 3), r.bg, np.uint8)
    sheet[:] = r.rgb[Y0:Y1, X0:X1]
    full = np.zeros(sheet.shape[:2], bool)
    full[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0] = m
    # the tears run out through the margin: extend the mask to the sheet's edge on kept sides
    full[:, :x0 - X0] |= full[:, [x0 - X0]] if x0 > X0 else False
    full[:, x1 - X0:] |= full[:, [x1 - X0 - 1]] if X1 > x1 else False
    full[:y0 - Y0, :] |= full[[y0 - Y0], :] if y0 > Y0 else False
    full[y1 - Y0:, :] |= full[[y1 - Y0 - 1], :] if Y1 > y1 else False
    # torn paper shows a light fibrous rim
    rim_w = max(1, int(round(max(w, h) / 400 * g.uniform(1.5, 3.5))))
    dil = np.asarray(Image.fromarray(full.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * rim_w + 1))) > 127
    rim = dil & ~full
    paper = np.array([g.uniform(232, 250), g.uniform(228, 246), g.uniform(215, 238)], np.float32)
    rgb = sheet.astype(np.float32)
    rgb[rim] = paper + g.normal(0, 6, (int(rim.sum()), 3))
    alpha = (dil * 255).astype(np.uint8)
    piece = Image.fromarray(np.dstack([rgb.clip(0, 255).astype(np.uint8), alpha]), "RGBA")
    bg, tname = table(g, W, H)
    tags += ["table:" + tname, "rotation", "homography"]
    im, cov = place(piece, bg, g, fill=g.uniform(0.3, 0.6), rot=20, persp=0.06, max_up=2.5, shadow=True)
    im = photo_fx(im, g, persp=0.0, tags=tags)
    return im, r.id, [{"ref": r.id, "role": "fragment", "area": round(frac, 3), "ink": round(share, 3)}], cov


def make_detail_in_scene(bench, g, W, H, tags):
    r, d = bench.detail(g, 0.08, 0.30)
    crop = d["crop"]
    if g.random() < 0.35:
        crop, t = recolour(crop, g, strong=False)
        tags.append("recolour:" + t)
    scene, sname = unrelated_scene(g, bench, W, H)
    tags.append("scene:" + sname.split(":")[0])
    im, cov = paste_detail(scene, crop, g, fill=g.uniform(0.06, 0.3), tags=tags)
    im = photo_fx(im, g, persp=0.03, tags=tags)
    return im, "", [dict(d, role="detail", ref=r.id), {"scene": sname}], cov


def make_recoloured_detail(bench, g, W, H, tags):
    r, d = bench.detail(g, 0.08, 0.30)
    crop, t = recolour(d["crop"], g, strong=True)
    tags.append("recolour:" + t)
    scene, sname = unrelated_scene(g, bench, W, H, p_photo=0.35)
    tags.append("scene:" + sname.split(":")[0])
    im, cov = paste_detail(scene, crop, g, fill=g.uniform(0.12, 0.4), tags=tags)
    im = photo_fx(im, g, persp=0.03, tags=tags)
    return im, "", [dict(d, role="detail", ref=r.id), {"scene": sname}], cov


def make_detail_pair(bench, g, W, H, tags):
    k = 3 if g.random() < 0.3 else 2
    vertical = g.random() < 0.5  # cells side by side (True) or stacked
    L = 900
    PW, PH = (L, int(L * g.uniform(0.55, 0.9))) if vertical else (int(L * g.uniform(0.55, 0.9)), L)
    sizes = g.dirichlet([4] * k)
    sizes = 0.5 * sizes + 0.5 / k
    cells, used, srcs, off = [], [], [], 0
    for i in range(k):
        n = int(round((PW if vertical else PH) * sizes[i])) if i < k - 1 else (PW if vertical else PH) - off
        cw, ch = (n, PH) if vertical else (PW, n)
        r, d = bench.detail(g, 0.12, 0.30, exclude=used, aspect=cw / ch)
        used.append(r.id)
        srcs.append(dict(d, role="piece", ref=r.id))
        cells.append((d["crop"].resize((cw, ch), Image.LANCZOS), off))
        off += n
    pic = Image.new("RGB", (PW, PH))
    for c, o in cells:
        pic.paste(c, (o, 0) if vertical else (0, o))
    tags.append(f"pieces:{k}")
    if g.random() < 0.5:  # a catalogue-style image of the new picture
        s = min(W / PW, H / PH)
        im = pic.resize((round(PW * s), round(PH * s)), Image.LANCZOS)
        cov = 1.0
        tags.append("digital")
    else:  # a photo of the picture on a table or a wall
        bg, tname = table(g, W, H)
        tags += ["table:" + tname, "rotation", "homography"]
        im, cov = place(pic.convert("RGBA"), bg, g, fill=g.uniform(0.45, 0.8), rot=10, persp=0.05, shadow=True)
    im = photo_fx(im, g, persp=0.0, tags=tags)
    return im, "", srcs, cov


def make_sticker(bench, g, W, H, tags):
    for _ in range(40):
        b = bench.random_ref(g)
        if b.rgb.shape[0] >= 120 and b.rgb.shape[1] >= 120:
            break
    a, d = bench.detail(g, 0.08, 0.30, exclude=(b.id,))
    base = Image.fromarray(b.rgb)
    BW, BH = base.size
    crop = d["crop"]
    if g.random() < 0.6:  # a printed sticker: white border
        crop = ImageOps.expand(crop, border=max(2, int(min(crop.size) * 0.05)), fill=(250, 250, 248))
    cover = g.uniform(0.05, 0.20)
    s = math.sqrt(cover * BW * BH / (crop.width * crop.height))
    crop = crop.resize((max(8, round(crop.width * s)), max(8, round(crop.height * s))), Image.LANCZOS)
    crop = crop.convert("RGBA").rotate(g.uniform(-12, 12), Image.BICUBIC, expand=True)
    cw, ch = crop.size
    if cw >= BW or ch >= BH:
        crop = crop.resize((min(cw, BW - 2), min(ch, BH - 2)), Image.LANCZOS)
        cw, ch = crop.size
    # where it hides the least of B's ink (a customs sticker goes on the margin when it can)
    best = None
    for _ in range(10):
        x, y = int(g.integers(0, BW - cw + 1)), int(g.integers(0, BH - ch + 1))
        hid = box_sum(b.S_ink, x, y, cw, ch) / b.ink_total
        if best is None or hid < best[0]:
            best = (hid, x, y)
    hid, x, y = best
    base = base.convert("RGBA")
    base.alpha_composite(crop, (x, y))
    covered_b = float((np.asarray(crop.getchannel("A")) > 127).sum() / (BW * BH))
    bg, tname = table(g, W, H)
    tags += ["table:" + tname, "rotation", "homography"]
    im, cov = place(base, bg, g, fill=g.uniform(0.4, 0.8), rot=10, persp=0.05, shadow=True)
    im = photo_fx(im, g, persp=0.0, tags=tags)
    srcs = [{"ref": b.id, "role": "whole"},
            dict(d, role="sticker", ref=a.id, covers=round(covered_b, 3), hides_ink=round(float(hid), 3))]
    return im, b.id, srcs, cov


def make_recoloured_copy(bench, g, W, H, tags):
    for _ in range(40):
        b = bench.random_ref(g)
        if b.rgb.shape[0] >= 120 and b.rgb.shape[1] >= 120:
            break
    im, how = recolour(Image.fromarray(b.rgb), g, strong=True)
    bg, tname = table(g, W, H)
    tags += ["recolour:" + how, "table:" + tname, "rotation", "homography"]
    im, cov = place(im.convert("RGBA"), bg, g, fill=g.uniform(0.4, 0.8), rot=10, persp=0.05, shadow=True)
    im = photo_fx(im, g, persp=0.0, tags=tags)
    return im, "", [{"ref": b.id, "role": "recoloured", "how": how}], cov


MAKERS = {"detail_in_scene": make_detail_in_scene, "detail_pair": make_detail_pair,
          "recoloured_detail": make_recoloured_detail, "fragment": make_fragment, "sticker": make_sticker,
          "recoloured_copy": make_recoloured_copy}


def generate(a):
    _imports()
    half = a.half
    bench = Bench(a.bench, half)
    if len(bench.ref_ids) < 4:
        sys.exit(f"too few references in {a.bench} (half {half})")
    qdir = os.path.join(a.out, "queries")
    os.makedirs(qdir, exist_ok=True)
    rows, cases = [], []
    cycle = a.kinds.split(",") if a.kinds else KIND_CYCLE
    for k in cycle:
        if k not in MAKERS:
            sys.exit(f"unknown kind {k!r}: one of {', '.join(sorted(MAKERS))}")
    # The standard cycle keeps its ids (and so its cases); another cycle's are its own.
    salt = "" if cycle == KIND_CYCLE else ":" + ",".join(cycle)
    for i in range(a.n):
        kind = cycle[i % len(cycle)]
        g = rng_for(a.seed, half or "all", i, *([salt] if salt else []))
        qid = "h" + hashlib.sha256(f"hard-cases-v1:{a.seed}:{half or 'all'}:{i}{salt}".encode()).hexdigest()[:11]
        W, H = canvas_size(g)
        tags = []
        im, label, srcs, cov = MAKERS[kind](bench, g, W, H, tags)
        srcs = [{k: v for k, v in s.items() if k != "crop"} for s in srcs]
        q = int(g.integers(80, 93))
        tags.append(f"jpeg:{q}")
        rel = f"queries/{qid}.jpg"
        im.save(os.path.join(a.out, rel), "JPEG", quality=q)
        rows.append({"qid": qid, "file": rel, "ref_id": label, "difficulty": "hard",
                     "transforms": ";".join([f"family:{kind}"] + tags)})
        cases.append({"qid": qid, "file": rel, "kind": kind, "label": label, "size": [im.width, im.height],
                      "object_cover": round(cov, 3), "sources": srcs, "index": i})
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{a.n}", file=sys.stderr, flush=True)
    with open(os.path.join(a.out, "truth.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["qid", "file", "ref_id", "difficulty", "transforms"])
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "cases.jsonl"), "w") as f:
        for c in cases:
            f.write(json.dumps(c, sort_keys=True) + "\n")
    by = {}
    for c in cases:
        by[c["kind"]] = by.get(c["kind"], 0) + 1
    print(f"{a.n} queries in {a.out} (half {half or 'all'}, seed {a.seed}): "
          + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))


# --------------------------------------------------------------------------------------------
# report (standard library only)
# --------------------------------------------------------------------------------------------

def report(a):
    cases = [json.loads(l) for l in open(os.path.join(a.report, "cases.jsonl"))]
    res = {}
    for line in open(a.results):
        if line.strip():
            r = json.loads(line)
            res[os.path.basename(str(r["query"]))] = r.get("matches") or []
    order = list(NEGATIVE_KINDS) + list(POSITIVE_KINDS)
    stats = {k: {"n": 0, "match": 0, "partial": 0, "possible": 0, "src_match": 0, "r1": 0, "r1_match": 0, "other_match": 0,
                 "missing": 0} for k in order}
    worst = []
    for c in cases:
        ms = res.get(os.path.basename(c["file"]))
        st = stats[c["kind"]]
        st["n"] += 1
        if ms is None:
            st["missing"] += 1
            ms = []
        top = ms[0] if ms else {}
        v = top.get("verdict", "none")
        st["match"] += v == "match"
        st["partial"] += v == "partial"
        st["possible"] += v == "possible"
        srcs = {s["ref"] for s in c["sources"] if "ref" in s and s.get("role") != "whole"}
        if c["label"]:
            st["r1"] += top.get("id") == c["label"]
            st["r1_match"] += top.get("id") == c["label"] and v == "match"
            # sticker: the stuck-on detail's reference must not be a `match` anywhere in the list
            st["other_match"] += any(m.get("verdict") == "match" and m["id"] != c["label"] for m in ms)
            st["src_match"] += any(m.get("verdict") == "match" and m["id"] in srcs for m in ms)
        else:
            st["src_match"] += v == "match" and top.get("id") in srcs
            if v == "match":
                worst.append((float(top["score"]), c["file"], top["id"], c["kind"], top.get("id") in srcs))
    pct = lambda x, n: f"{100 * x / n:.1f}" if n else "-"
    print("| kind | label | n | top-1 `match` % | top-1 `partial` % | top-1 `possible` % | false `match` on a detail's source % | R@1 % | right first and `match` % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in order:
        st = stats[k]
        if not st["n"]:
            continue
        n = st["n"]
        if k in NEGATIVE_KINDS:
            print(f"| {k} | negative | {n} | {pct(st['match'], n)} | {pct(st['partial'], n)} | {pct(st['possible'], n)} | {pct(st['src_match'], n)} | | |")
        else:
            print(f"| {k} | positive | {n} | {pct(st['match'], n)} | {pct(st['partial'], n)} | {pct(st['possible'], n)} | "
                  f"{pct(st['src_match'], n) if k == 'sticker' else ''} | {pct(st['r1'], n)} | {pct(st['r1_match'], n)} |")
    neg = [stats[k] for k in NEGATIVE_KINDS]
    nn = sum(s["n"] for s in neg)
    if nn:
        print(f"| all negatives | negative | {nn} | {pct(sum(s['match'] for s in neg), nn)} | "
              f"{pct(sum(s['partial'] for s in neg), nn)} | "
              f"{pct(sum(s['possible'] for s in neg), nn)} | {pct(sum(s['src_match'] for s in neg), nn)} | | |")
    miss = sum(s["missing"] for s in stats.values())
    if miss:
        print(f"\n{miss} queries have no result line (counted as no match)")
    worst.sort(reverse=True)
    if worst:
        print(f"\nworst false matches (negatives whose top result is `match`), {min(a.worst, len(worst))} of {len(worst)}:")
        for s, f, rid, k, is_src in worst[:a.worst]:
            print(f"  {os.path.join(a.report, f)}  {rid}  score {s:.4f}  {k}{'  (a source of its detail)' if is_src else ''}")


def cli(doc, generate, report, n, outputs):
    """The command line both case generators share: generate with --bench/--out, or --report."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="benchmark split folder (records.jsonl, refs/, truth.csv)")
    ap.add_argument("--out", help=f"output folder ({outputs})")
    ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--half", choices=["A", "B"])
    ap.add_argument("--kinds", help="comma-separated kinds to make, in turn (default: the standard mix)")
    ap.add_argument("--report", metavar="DIR", help="summarise RESULTS.jsonl against DIR/cases.jsonl")
    ap.add_argument("--results")
    ap.add_argument("--worst", type=int, default=10)
    a = ap.parse_args()
    if a.report:
        if not a.results:
            ap.error("--report needs --results")
        report(a)
    elif a.bench and a.out:
        generate(a)
    else:
        ap.error("give --bench and --out (generate) or --report DIR --results FILE")


def main():
    cli(__doc__, generate, report, 300, "queries/, truth.csv, cases.jsonl")


if __name__ == "__main__":
    main()
