#!/usr/bin/env python3
"""Multi-object photos (issue 24): seized lots on a table, pictures on a wall, catalogue pages.

usage:
  make-multi-object.py --bench ../shared/bench/dev --out DIR [--n 120] [--seed 1] [--half A|B]
  make-multi-object.py --report DIR --results RESULTS.jsonl [--worst K]

Needs a Python with numpy and pillow, like make-hard-cases.py (whose drawing helpers it reuses):
  python3 -m venv /tmp/hc-venv && /tmp/hc-venv/bin/pip install numpy pillow
  /tmp/hc-venv/bin/python scripts/make-multi-object.py --bench ../shared/bench/dev --out /tmp/mo-A --half A
The --report mode needs only Python's standard library.

Each photo shows 2 to 8 objects, each with its own turn and perspective:
  table      objects lying on wood, cloth, a desk or cardboard, turned, with shadows;
  wall       framed pictures hung in loose rows on a painted wall, the whole wall seen at an angle;
  catalogue  a printed page of lots in a grid with captions, photographed slightly askew.
With --kinds small, each photo is a phone photo (2,400-4,000 px) of ONE object on a table or a
wall, its cell 10-25% of the photo's sides (so the picture is about 6-22% of the photo's width);
one photo in four shows an unrelated object. (A picture that small was missed by the first look,
which sees the photo at 720 px.)
Some objects overlap another (up to about a fifth of them hidden), some run out of the frame (up
to a quarter cut off); an object that ends up less than 55% visible is listed as `hidden`: not
counted as one to find, nor as a false match if found.
A share of the objects are *unrelated*: crops of the dev split's negative photos (objects not in
the database); one photo in six shows only unrelated objects. An unrelated object must never be
given `match`.

Writes DIR/queries/<qid>.jpg and DIR/cases.jsonl: per photo, its setting and every object with
its reference id (null for an unrelated one), its outline in the photo (four corners, photo
pixels) and its visible share. Then:
  provenance batch --index IDX DIR/queries --out R.jsonl
  python3 scripts/make-multi-object.py --report DIR --results R.jsonl
The report counts, by number of database objects per photo: objects found (a result with the
object's id and verdict `match` or `possible`, `partial` shown apart), whether the result's region
lies on the object, results given `match` on an unrelated object or the background (false), results
given `match` for another record on a database object (the dev references hold a few copies of one
picture, turned or mirrored: listed to check by eye), and seconds per photo (median, p99) from
each line's "sec".

--half A|B uses only references and negative photos of that half (halves.py's rule), so that
constants can be chosen on one half and reported on the other. Deterministic like
make-hard-cases.py: photo i depends only on (seed, half, i).
"""
import hashlib
import importlib.util
import json
import math
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("hard_cases", os.path.join(_here, "make-hard-cases.py"))
hc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hc)

SETTINGS = ["table", "wall", "catalogue"]
MIN_VISIBLE = 0.55


def rng_for(*parts):
    s = "\x1f".join(str(p) for p in ("multi-object-v1",) + parts).encode()
    return np.random.Generator(np.random.PCG64(int.from_bytes(hashlib.sha256(s).digest()[:8], "big")))


def _imports():
    global np, Image, ImageDraw, ImageFilter
    hc._imports()
    import numpy as np  # noqa: F401
    from PIL import Image, ImageDraw, ImageFilter  # noqa: F401


def ref_piece(bench, g, exclude):
    """A reference's picture, whole (a print, a photo, a canvas: its margins are part of it)."""
    r = bench.random_ref(g, exclude)
    return r.id, Image.fromarray(r.rgb)


def unrelated_piece(bench, g):
    """A crop of a negative dev photo: an object that is not in the database."""
    path = bench.scenes[int(g.integers(len(bench.scenes)))]
    im = hc.ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    W, H = im.size
    f = g.uniform(0.5, 0.85)
    w, h = int(W * f), int(H * f)
    x, y = int(g.integers(0, W - w + 1)), int(g.integers(0, H - h + 1))
    return os.path.basename(path), im.crop((x, y, x + w, y + h))


def framed(piece, g):
    """A picture in a plain or two-tone frame."""
    w, h = piece.size
    b = max(4, int(max(w, h) * g.uniform(0.03, 0.08)))
    col = hc.rand_colour(g, 20, 200)
    out = Image.new("RGB", (w + 2 * b, h + 2 * b), col)
    if g.random() < 0.5:
        inner = hc.rand_colour(g, 150, 250)
        d = ImageDraw.Draw(out)
        m = b // 2
        d.rectangle([m, m, w + 2 * b - m, h + 2 * b - m], fill=inner)
    out.paste(piece, (b, b))
    return out, b


def warp_onto(canvas, labels, k, piece, quad):
    """Draws `piece` (RGB) into `canvas` (float array) at `quad` (4 corners, TL TR BR BL), marking
    its pixels with label k (later objects cover earlier ones)."""
    H, W = labels.shape
    pw, ph = piece.size
    src = [(0, 0), (pw, 0), (pw, ph), (0, ph)]
    co = hc.persp_coeffs([tuple(p) for p in quad], src)
    rgba = piece.convert("RGBA")
    layer = rgba.transform((W, H), Image.PERSPECTIVE, co, Image.BICUBIC)
    a = np.asarray(layer).astype(np.float32)
    alpha = a[..., 3:4] / 255
    canvas[:] = canvas * (1 - alpha) + a[..., :3] * alpha
    labels[a[..., 3] > 127] = k


def shadow(canvas, g, quad):
    H, W = canvas.shape[:2]
    m = Image.new("L", (W, H), 0)
    r = g.uniform(3, 10)
    dx, dy = g.uniform(-1, 1) * r, g.uniform(0.3, 1.2) * r
    ImageDraw.Draw(m).polygon([(x + dx, y + dy) for x, y in quad], fill=255)
    m = np.asarray(m.filter(ImageFilter.GaussianBlur(r)), np.float32)[..., None] / 255
    canvas *= 1 - g.uniform(0.2, 0.45) * m


def layout(g, n, W, H, setting):
    """Cells of a loose grid, one per object, in reading order."""
    cols = int(math.ceil(math.sqrt(n * W / H)))
    rows = int(math.ceil(n / cols))
    cols = int(math.ceil(n / rows))
    mx, my = (0.04, 0.04) if setting == "catalogue" else (g.uniform(-0.06, 0.06), g.uniform(-0.06, 0.06))
    cw, ch = W * (1 - 2 * abs(mx)) / cols, H * (1 - 2 * abs(my)) / rows
    cells = []
    for i in range(n):
        rr, cc = divmod(i, cols)
        cells.append((W * abs(mx) + cc * cw, H * abs(my) + rr * ch, cw, ch))
    if setting != "catalogue":
        # run off the frame now and then: the whole grid shifted or enlarged
        s = g.uniform(1.0, 1.15)
        ox, oy = g.uniform(-0.06, 0.06) * W, g.uniform(-0.06, 0.06) * H
        cells = [((x - W / 2) * s + W / 2 + ox, (y - H / 2) * s + H / 2 + oy, w * s, h * s) for x, y, w, h in cells]
    return cells


def place_quad(g, piece, cell, setting, overlap):
    """Corners of the object inside its cell: scaled to fit, turned, with its own perspective."""
    x, y, cw, ch = cell
    pw, ph = piece.size
    fill = g.uniform(0.62, 0.88) if setting != "catalogue" else g.uniform(0.7, 0.85)
    if overlap:
        fill *= 1.35
    s = fill * min(cw / pw, ch / ph)
    rot = {"table": 25, "wall": 3, "catalogue": 0}[setting]
    th = math.radians(g.uniform(-rot, rot))
    persp = {"table": 0.08, "wall": 0.04, "catalogue": 0.0}[setting]
    ct, st = math.cos(th), math.sin(th)
    j = persp * s * max(pw, ph)
    cx = x + cw / 2 + g.uniform(-0.08, 0.08) * cw
    cy = y + ch / 2 + g.uniform(-0.08, 0.08) * ch
    if setting == "catalogue":
        cy -= 0.05 * ch  # room for the caption
    quad = []
    for (u, v) in [(0, 0), (pw, 0), (pw, ph), (0, ph)]:
        u, v = (u - pw / 2) * s, (v - ph / 2) * s
        quad.append([cx + u * ct - v * st + g.uniform(-j, j), cy + u * st + v * ct + g.uniform(-j, j)])
    return quad


def background(g, W, H, setting):
    if setting == "table":
        bg, name = hc.table(g, W, H)
        return bg, "table:" + name
    if setting == "wall":
        col = np.array(hc.rand_colour(g, 110, 240), np.float32)
        t = 0.93 + 0.1 * hc.smooth_field(g, W, H, max(16, W // 5))
        return Image.fromarray((col * t[..., None]).clip(0, 255).astype(np.uint8)), "wall"
    paper = np.array([g.uniform(236, 252), g.uniform(234, 250), g.uniform(225, 245)], np.float32)
    return Image.fromarray(np.broadcast_to(paper, (H, W, 3)).astype(np.uint8).copy()), "page"


def caption(img, g, quad, i):
    d = ImageDraw.Draw(img)
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    x, y = min(xs), max(ys) + 6
    d.text((x, y), f"Lot {int(g.integers(1, 400))}. Provenance: private collection", fill=(40, 40, 40))
    w = max(xs) - min(xs)
    for k in range(2):
        d.line([(x, y + 16 + 8 * k), (x + w * g.uniform(0.4, 0.9), y + 16 + 8 * k)], fill=(90, 90, 90), width=2)


def final_view(img, labels, quads, g, setting):
    """The whole scene photographed: a mild perspective for wall and page, then colour, light, noise."""
    W, H = img.size
    m = {"table": 0.0, "wall": 0.07, "catalogue": 0.04}[setting]
    if m > 0:
        dst = [(0, 0), (W, 0), (W, H), (0, H)]
        src = [(x + g.uniform(-1, 1) * W * m, y + g.uniform(-1, 1) * H * m) for x, y in dst]
        co = hc.persp_coeffs(dst, src)  # output -> input
        img = img.transform((W, H), Image.PERSPECTIVE, co, Image.BICUBIC)
        labels = np.asarray(Image.fromarray(labels).transform((W, H), Image.PERSPECTIVE, co, Image.NEAREST,
                                                                fillcolor=255))
        # the corners move the other way: input -> output
        inv = hc.persp_coeffs(src, dst)
        a, b, c, d, e, f, gg, h = inv

        def fwd(p):
            x, y = p
            z = gg * x + h * y + 1
            return [(a * x + b * y + c) / z, (d * x + e * y + f) / z]
        quads = [[fwd(p) for p in q] for q in quads]
    img = hc.photo_fx(img, g, persp=0.0)
    return img, labels, quads


def polygon_area(q):
    return 0.5 * abs(sum(q[i][0] * q[(i + 1) % 4][1] - q[(i + 1) % 4][0] * q[i][1] for i in range(4)))


def compose(bench, g, n, setting, unrelated_share, small=False):
    L = int(g.integers(2400, 4001)) if small else int(g.integers(1400, 2001))
    W, H = (L, int(L * 3 / 4)) if setting != "catalogue" else (int(L * 0.72), L)
    if setting == "table" and g.random() < 0.3:
        W, H = H, W
    bg, bgname = background(g, W, H, setting)
    canvas = np.asarray(bg).astype(np.float32).copy()
    labels = np.full((H, W), 255, np.uint8)
    if small:
        # one object, its cell 10-25% of the photo's sides, anywhere in it
        f = g.uniform(0.10, 0.25)
        cw, ch = f * W, f * H
        cells = [(g.uniform(0.02, 0.98 - f) * W, g.uniform(0.02, 0.98 - f) * H, cw, ch)]
    else:
        cells = layout(g, n, W, H, setting)
    objs, quads, used = [], [], set()
    for k, cell in enumerate(cells):
        if g.random() < unrelated_share:
            name, piece = unrelated_piece(bench, g)
            ref = None
        else:
            ref, piece = ref_piece(bench, g, used)
            used.add(ref)
            name = ref
        border = 0
        if setting == "wall":
            piece, border = framed(piece, g)
        overlap = setting == "table" and g.random() < 0.25
        q = place_quad(g, piece, cell, setting, overlap)
        if setting != "catalogue":
            shadow(canvas, g, q)
        warp_onto(canvas, labels, k, piece, q)
        # the picture's own outline (inside the frame) is what a search should find
        pw, ph = piece.size
        if border:
            co = hc.persp_coeffs([(0, 0), (pw, 0), (pw, ph), (0, ph)], [tuple(p) for p in q])  # quad -> piece
            a, b, c, d, e, f, gg, h = co

            def to_quad(u, v):
                z = gg * u + h * v + 1
                return [(a * u + b * v + c) / z, (d * u + e * v + f) / z]
            q_pic = [to_quad(border, border), to_quad(pw - border, border),
                     to_quad(pw - border, ph - border), to_quad(border, ph - border)]
        else:
            q_pic = q
        objs.append({"ref": ref, "source": name, "overlap": overlap})
        quads.append(q_pic)
    img = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    if setting == "catalogue":
        for k, q in enumerate(quads):
            caption(img, g, q, k)
    img, labels, quads = final_view(img, labels, quads, g, setting)
    counts = np.bincount(labels.ravel(), minlength=256)
    kept = []
    for k, (o, q) in enumerate(zip(objs, quads)):
        full = polygon_area(q)
        vis = float(counts[k]) / max(1.0, full)
        if setting == "wall":  # the frame counts as the object's: judge by the picture inside
            vis = min(1.0, vis)
        o["outline"] = [[round(x, 1), round(y, 1)] for x, y in q]
        o["visible"] = round(min(1.0, vis), 3)
        o["hidden"] = vis < MIN_VISIBLE
        kept.append(o)
    return img, bgname, kept


def generate(a):
    _imports()
    bench = hc.Bench(a.bench, a.half)
    if len(bench.ref_ids) < 10 or not bench.scenes:
        sys.exit(f"too few references or negative photos in {a.bench} (half {a.half})")
    if a.kinds not in (None, "small"):
        sys.exit(f"unknown kind {a.kinds!r}: the standard mix, or --kinds small")
    small = a.kinds == "small"
    qdir = os.path.join(a.out, "queries")
    os.makedirs(qdir, exist_ok=True)
    cases = []
    for i in range(a.n):
        g = rng_for(a.seed, a.half or "all", i)
        tag = "small-object-v1" if small else "multi-object-v1"
        if small:
            g = rng_for(a.seed, a.half or "all", i, "small")
        qid = "m" + hashlib.sha256(f"{tag}:{a.seed}:{a.half or 'all'}:{i}".encode()).hexdigest()[:11]
        if small:
            setting, n, only_unrelated = ["table", "wall"][i % 2], 1, i % 4 == 3
        else:
            setting = SETTINGS[i % len(SETTINGS)]
            n = 2 + (i // len(SETTINGS)) % 7  # 2..8 objects, every count in every setting
            only_unrelated = i % 6 == 5
        while True:
            img, bgname, objs = compose(bench, g, n, setting, 1.0 if only_unrelated else 0.0 if small else 0.2,
                                        small)
            if only_unrelated or any(o["ref"] and not o["hidden"] for o in objs):
                break
        q = int(g.integers(82, 94))
        rel = f"queries/{qid}.jpg"
        img.save(os.path.join(a.out, rel), "JPEG", quality=q)
        cases.append({"qid": qid, "file": rel, "setting": setting, "background": bgname,
                      "size": [img.width, img.height], "jpeg": q, "objects": objs, "index": i})
        print(f"  {i + 1}/{a.n} {setting} {len(objs)} objects", file=sys.stderr, flush=True)
    with open(os.path.join(a.out, "cases.jsonl"), "w") as f:
        for c in cases:
            f.write(json.dumps(c, sort_keys=True) + "\n")
    total = sum(1 for c in cases for o in c["objects"] if o["ref"] and not o["hidden"])
    print(f"{a.n} photos in {a.out} (half {a.half or 'all'}, seed {a.seed}): {total} database objects, "
          f"{sum(1 for c in cases for o in c['objects'] if not o['ref'] and not o['hidden'])} unrelated")


# ---- report (standard library only) ----------------------------------------------------------

def inside(p, q):
    sign = 0
    for i in range(4):
        (x0, y0), (x1, y1) = q[i], q[(i + 1) % 4]
        c = (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0)
        if c != 0:
            if sign and (c > 0) != (sign > 0):
                return False
            sign = c
    return True


def centre(q):
    return [sum(p[0] for p in q) / len(q), sum(p[1] for p in q) / len(q)]


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(a):
    cases = [json.loads(l) for l in open(os.path.join(a.report, "cases.jsonl"))]
    res, secs = {}, {}
    for line in open(a.results):
        if line.strip():
            r = json.loads(line)
            key = os.path.basename(str(r["query"]))
            res[key] = r.get("matches") or []
            if "sec" in r:
                secs[key] = float(r["sec"])
    rows = {}
    false, variants, misplaced, missing = [], [], 0, 0
    for c in cases:
        key = os.path.basename(c["file"])
        ms = res.get(key)
        if ms is None:
            missing += 1
            ms = []
        refs = [o for o in c["objects"] if o["ref"] and not o.get("hidden")]
        st = rows.setdefault(len(refs), {"photos": 0, "objects": 0, "match": 0, "possible": 0, "partial": 0,
                                         "placed": 0, "false_match": 0, "variant_match": 0, "unrelated": 0,
                                         "secs": []})
        st["photos"] += 1
        st["objects"] += len(refs)
        st["unrelated"] += sum(1 for o in c["objects"] if not o["ref"] and not o.get("hidden"))
        if key in secs:
            st["secs"].append(secs[key])
        by_id = {m["id"]: m for m in ms}
        for o in refs:
            m = by_id.get(o["ref"])
            v = m.get("verdict") if m else None
            if v in ("match", "possible", "partial"):
                st[v] += 1
                region = (m.get("evidence") or {}).get("region")
                if region and inside(centre(region), o["outline"]):
                    st["placed"] += 1
                elif region:
                    misplaced += 1
        ids = {o["ref"] for o in c["objects"] if o["ref"]}
        for m in ms:
            if m.get("verdict") != "match" or m["id"] in ids:
                continue
            # A `match` for another record on a database object is a record of the same picture
            # (the dev references hold a few copies turned or mirrored): not an unrelated object
            # taken for a stolen one. On an unrelated object or on the background it is.
            region = (m.get("evidence") or {}).get("region")
            on = [o for o in c["objects"] if region and inside(centre(region), o["outline"])]
            if on and all(o["ref"] for o in on):
                st["variant_match"] += 1
                variants.append((float(m.get("score", 0)), c["file"], m["id"], on[0]["ref"]))
            else:
                st["false_match"] += 1
                false.append((float(m.get("score", 0)), c["file"], m["id"]))
    pct = lambda x, n: f"{100 * x / n:.1f}" if n else "-"
    print("| database objects per photo | photos | objects | found (`match` or `possible`) % | `match` % | "
          "`partial` % | region on the object % | unrelated objects | false `match` | `match` of another record on an object | s/photo p50 | p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    tot = {"photos": 0, "objects": 0, "match": 0, "possible": 0, "partial": 0, "placed": 0, "false_match": 0,
           "variant_match": 0, "unrelated": 0, "secs": []}
    for n in sorted(rows):
        st = rows[n]
        for k in tot:
            tot[k] += st[k]
        found = st["match"] + st["possible"]
        print(f"| {n} | {st['photos']} | {st['objects']} | {pct(found, st['objects'])} | {pct(st['match'], st['objects'])} | "
              f"{pct(st['partial'], st['objects'])} | {pct(st['placed'], found + st['partial'])} | {st['unrelated']} | "
              f"{st['false_match']} | {st['variant_match']} | {percentile(st['secs'], 50):.2f} | {percentile(st['secs'], 99):.2f} |")
    found = tot["match"] + tot["possible"]
    print(f"| all | {tot['photos']} | {tot['objects']} | {pct(found, tot['objects'])} | {pct(tot['match'], tot['objects'])} | "
          f"{pct(tot['partial'], tot['objects'])} | {pct(tot['placed'], found + tot['partial'])} | {tot['unrelated']} | "
          f"{tot['false_match']} | {tot['variant_match']} | {percentile(tot['secs'], 50):.2f} | {percentile(tot['secs'], 99):.2f} |")
    if missing:
        print(f"\n{missing} photos have no result line (counted as nothing found)")
    false.sort(reverse=True)
    if false:
        print(f"\nfalse `match`es (on an unrelated object or the background), {min(a.worst, len(false))} of {len(false)}:")
        for s, f, rid in false[:a.worst]:
            print(f"  {os.path.join(a.report, f)}  {rid}  score {s:.4f}")
    variants.sort(reverse=True)
    if variants:
        print(f"\n`match`es of another record on a database object (check they show the same picture), "
              f"{min(a.worst, len(variants))} of {len(variants)}:")
        for s, f, rid, on in variants[:a.worst]:
            print(f"  {os.path.join(a.report, f)}  {rid} on {on}  score {s:.4f}")


def main():
    hc.cli(__doc__, generate, report, 126, "queries/, cases.jsonl")


if __name__ == "__main__":
    main()
