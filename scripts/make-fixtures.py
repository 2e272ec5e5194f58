#!/usr/bin/env python3
"""Regenerate the committed test fixtures under fixtures/ (demo database + bad inputs).

Requirements:
  * Debian/Ubuntu package ``openclipart-png`` (public-domain clipart, installed under
    /usr/share/openclipart/png/):   apt-get install -y openclipart-png
  * Python 3 with Pillow (with WebP support):   pip install pillow

Usage:  python3 scripts/make-fixtures.py [--clipart DIR] [--out DIR]

The output is deterministic for a given Pillow/libjpeg build: no randomness except a
fixed-seed PRNG for garbage.jpg, no timestamps.  fixtures/demo and fixtures/bad are
deleted and rewritten completely on each run.

Layout produced:
  fixtures/demo/refs/        reference images of the demo database
  fixtures/demo/records.jsonl  15 records (2 with two images, 1 text-only)
  fixtures/demo/records.csv    3 further records (demo-101..103), images split by ';'
  fixtures/demo/queries/     query photos derived from the refs (+ 2 negatives neg_*)
  fixtures/demo/README.md    provenance/licence table of every file
  fixtures/bad/              files that must be rejected cleanly
"""

import argparse
import csv
import io
import json
import os
import random
import shutil
import struct
import sys
import zlib

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Image.MAX_IMAGE_PIXELS = 60_000_000  # the bust clipart is 4940x8240

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LICENCE = "Public domain (Open Clip Art Library, Debian openclipart-png)"

# id -> (openclipart path relative to the png/ dir, longest side of the stored ref)
REFS = {
    "demo-001": ("people/van_gogh_s_room_enrique__01.png", 720),
    "demo-002": ("people/man_head_mikhail_a.medve_01.png", 800),
    "demo-003": ("plants/flowers/bouquet_of_flowers_01.png", 640),
    "demo-004": ("animals/mammals/big_cats/color_tiger_susan_park_01.png", 640),
    "demo-005": ("recreation/religion/christianity/coat_of_arms_of_anglica_01.png", 640),
    "demo-006": ("people/clothing/hats/bejewelled_crown_with_t_01.png", 800),
    "demo-007": ("recreation/music/harp2_ganson.png", 720),
    "demo-008": ("recreation/party/maya_head_benji_park_01.png", 664),
    "demo-009": ("education/books/stara_ksiega_-_old_book_01.png", 560),
    "demo-010": ("signs_and_symbols/money/gold_coins_in_a_stack_jo_01.png", 512),
    "demo-011": ("food/beverages/teacup_ganson.png", 560),
    "demo-012": ("tools/lampada_di_aladino_alad_01.png", 560),
    "demo-013": ("plants/trees/fall_scene_in_a_circle_a_01.png", 600),
    "demo-014": ("recreation/music/violin_colour_ganson.png", 720),
    # CSV records
    "demo-101": ("recreation/music/war_drum_enrique_meza_c_01.png", 640),
    "demo-102": ("people/self_portrait_hardi1.png", 640),
    "demo-103": ("unsorted/van_gogh_s_sun_flower_en_01.png", 560),
}
# second images: name -> (how, argument)
EXTRA_REFS = {
    "demo-002_b": ("mirror_bronze", "demo-002"),  # mirrored + bronze-toned view of the bust
    "demo-011_b": ("clipart", ("food/beverages/teapot_ganson.png", 560)),  # teapot of the same service
    "demo-103_detail": ("detail", "demo-103"),  # catalogue detail crop of the painting
}
NEGATIVES = {
    "neg_guitar": ("recreation/music/guitar_profile_philippe__01.png", 640),
    "neg_lantern": ("tools/hurricane_lamp_ganson.png", 480),
}


# --------------------------------------------------------------------------- records

def rec(**kw):
    base = dict(id="", source="demo", status="stolen", object_type="", title="", maker="",
                date="", subject="", materials="", measurements="", inscriptions="",
                features="", description="", theft_date="", theft_place="", country="",
                images=[])
    base.update(kw)
    return base


RECORDS = [
    rec(id="demo-001", object_type="painting",
        title="La chambre à Arles (copie d'atelier)", maker="Atelier Bérénice Dufresne",
        date="c. 1925", subject="Bedroom interior with wooden bed, two chairs and green window",
        materials="Oil on canvas", measurements="72 x 90 cm (unframed)",
        inscriptions="Signed lower left 'B. Dufresne'; label on stretcher 'Galerie Müller, Zürich'",
        features="Gilt frame with acanthus corners; small tear repaired upper right",
        description="Studio copy after Vincent van Gogh's bedroom at Arles, strong ochre and blue palette.",
        theft_date="2019-03-14", theft_place="Musée Sainte-Geneviève, Besançon", country="France",
        images=["refs/demo-001.jpg"]),
    rec(id="demo-002", object_type="sculpture/bust",
        title="Head of a bearded philosopher", maker="Unknown, Roman workshop",
        date="2nd century AD", subject="Bearded man, curly hair, classical philosopher type",
        materials="Marble, later bronze cast (second view)", measurements="H. 41 cm",
        inscriptions="None", features="Nose chipped; drill holes in the beard; old inventory no. 'R-117' in red paint on the neck",
        description="Over-life-size portrait head of a Greek philosopher, Roman copy. A bronze aftercast shown reversed in the second photograph.",
        theft_date="2016-11-02", theft_place="Private collection, Nîmes", country="France",
        images=["refs/demo-002.jpg", "refs/demo-002_b.jpg"]),
    rec(id="demo-003", object_type="painting",
        title="Still life with flowers in a blue vase", maker="Hélène Åkerström",
        date="1958", subject="Bouquet of lilies and roses in a cobalt vase on green ground",
        materials="Oil on board", measurements="50 x 44 cm",
        inscriptions="Monogram 'HÅ' lower right", features="Green background, cast shadow of the vase",
        description="Decorative still life, bright naïve style.",
        theft_date="2021-06-30", theft_place="Auktionshaus Björnström, Malmö", country="Sweden",
        images=["refs/demo-003.jpg"]),
    rec(id="demo-004", object_type="painting",
        title="Tigre marchant", maker="José Ibáñez Peña",
        date="1974", subject="Bengal tiger walking towards the viewer",
        materials="Gouache on paper", measurements="60 x 37 cm",
        inscriptions="Signed and dated on reverse 'J. Ibáñez 74'", features="No background; white paper left bare",
        description="Animal study in gouache, mounted under glass.",
        theft_date="2018-01-20", theft_place="Colegio de Arte, Sevilla", country="Spain",
        images=["refs/demo-004.jpg"]),
    rec(id="demo-005", object_type="icon",
        title="Heraldic panel with Alpha and Omega", maker="Unknown",
        date="19th century", subject="Shield with golden cross, Scutum Fidei diagram, Α and Ω",
        materials="Tempera and gold leaf on wood", measurements="58 x 48 cm",
        inscriptions="PATER, FILIUS, SPIRITUS SANCTUS, DEUS, EST, NON EST",
        features="Blue field, yellow cross, white roundels",
        description="Painted heraldic panel from a chapel, used as an icon.",
        theft_date="2020-09-08", theft_place="Chapelle Saint-Éloi, Liège", country="Belgium",
        images=["refs/demo-005.jpg"]),
    rec(id="demo-006", object_type="jewellery",
        title="Diadem with two sapphires", maker="Maison Lefèvre-Dumas",
        date="c. 1890", subject="Openwork gold diadem",
        materials="Gold, sapphires", measurements="W. 18 cm, H. 6 cm",
        inscriptions="Maker's mark inside band 'L.D.'", features="Four rounded openings, cabochon sapphires at both ends",
        description="Bridal diadem, family heirloom.",
        theft_date="2022-02-11", theft_place="Schloss Eggenberg-Württemberg, Graz", country="Austria",
        images=["refs/demo-006.jpg"]),
    rec(id="demo-007", status="recovered", object_type="musical instrument",
        title="Pedal harp", maker="Érard frères (attributed)",
        date="c. 1830", subject="Concert harp",
        materials="Maple, spruce, gilt brass, gut strings", measurements="H. 171 cm",
        inscriptions="Serial number on the neck plate '2417'", features="Carved scroll head, lion-paw feet",
        description="Single-action pedal harp; recovered in 2023 at a Brussels flea market.",
        theft_date="2015-05-05", theft_place="Conservatoire de Lyon", country="France",
        images=["refs/demo-007.jpg"]),
    rec(id="demo-008", object_type="mask",
        title="Ceremonial mask in profile", maker="Unknown, Mesoamerican style",
        date="20th century", subject="Stylised human head in profile",
        materials="Painted wood", measurements="32 x 25 cm",
        inscriptions="None", features="Red-orange gradient face, blue eye, black outline",
        description="Dance mask, bright polychromy.",
        theft_date="2017-08-19", theft_place="Museo Regional, Mérida", country="Mexico",
        images=["refs/demo-008.jpg"]),
    rec(id="demo-009", object_type="manuscript",
        title="Stara księga (old book)", maker="Unknown scribe",
        date="16th century", subject="Bound manuscript",
        materials="Leather binding over boards, paper", measurements="31 x 27 x 9 cm",
        inscriptions="Ex-libris 'Biblioteka Łańcucka' inside front cover",
        features="Brown leather with three raised bands, worn corners",
        description="Liturgical manuscript in its original binding.",
        theft_date="2014-12-01", theft_place="Biblioteka Zamkowa, Łańcut", country="Poland",
        images=["refs/demo-009.jpg"]),
    rec(id="demo-010", object_type="coin",
        title="Hoard of gold coins", maker="Various mints",
        date="17th-18th century", subject="Stack of eleven gold ducats",
        materials="Gold", measurements="Diam. 2.1 cm each",
        inscriptions="Legends worn, partly illegible", features="Stacked; edges slightly misaligned",
        description="Part of the 'Kőszeg hoard' found in 1987.",
        theft_date="2019-07-22", theft_place="Jurisics-vár Múzeum, Kőszeg", country="Hungary",
        images=["refs/demo-010.jpg"]),
    rec(id="demo-011", status="missing", object_type="ceramics/tea service",
        title="Tea service with blue zigzag band", maker="Manufacture de Sèvres (style of)",
        date="c. 1930", subject="Cup, saucer and teapot",
        materials="Porcelain, cobalt and gilt decoration", measurements="Teapot H. 16 cm; cup diam. 9 cm",
        inscriptions="Blue mark under the base", features="White ground, cobalt band with white zigzag, gilt rims",
        description="Two pieces of a tea service; noticed missing during inventory.",
        theft_date="", theft_place="Château de Vaux-le-Pénil", country="France",
        images=["refs/demo-011.jpg", "refs/demo-011_b.jpg"]),
    rec(id="demo-012", object_type="metalwork/lamp",
        title="Oil lamp with flame", maker="Unknown",
        date="Ottoman period", subject="Oil lamp",
        materials="Brass", measurements="L. 24 cm",
        inscriptions="None", features="Spiral handle, domed lid, flame at spout",
        description="Brass oil lamp, 'Aladdin' type.",
        theft_date="2020-02-29", theft_place="Kapalıçarşı dealer, İstanbul", country="Türkiye",
        images=["refs/demo-012.jpg"]),
    rec(id="demo-013", object_type="painting",
        title="Autumn tondo", maker="Zoë Gaßner",
        date="1999", subject="Circular autumn landscape with falling leaves and birds",
        materials="Acrylic on panel", measurements="Diam. 45 cm",
        inscriptions="Signed on reverse", features="Round format, blue sky, orange and brown foliage",
        description="Circular landscape painting.",
        theft_date="2021-10-10", theft_place="Galerie Gaßner, Köln", country="Germany",
        images=["refs/demo-013.jpg"]),
    rec(id="demo-014", object_type="musical instrument",
        title="Violin", maker="Giovanni Battista Guadagnini (attributed)",
        date="c. 1770", subject="Violin, full size",
        materials="Spruce, maple, ebony", measurements="Body L. 35.5 cm",
        inscriptions="Label inside 'Joannes Baptista Guadagnini fecit Taurini'",
        features="Reddish-brown varnish, black fingerboard",
        description="Stolen from a car together with its bow.",
        theft_date="2023-04-03", theft_place="Torino, Via Po", country="Italy",
        images=["refs/demo-014.jpg"]),
    rec(id="demo-015", object_type="sculpture/statuette",
        title="Statuette of a dancing satyr", maker="Unknown",
        date="Hellenistic", subject="Satyr dancing, arms raised",
        materials="Bronze", measurements="H. 23 cm",
        inscriptions="None", features="Green patina, left foot missing",
        description="Text-only record: no photograph exists.",
        theft_date="2012-06-17", theft_place="Museo Archeologico, Agrigento", country="Italy",
        images=[]),
]

CSV_RECORDS = [
    rec(id="demo-101", object_type="sculpture/relief",
        title="Relief with feathered deity", maker="Unknown, Aztec style",
        date="15th century (?)", subject="Seated figure with feather headdress",
        materials="Painted stone", measurements="38 x 27 cm",
        inscriptions="None", features="Red, green and black pigment remains",
        description="Fragment of a temple relief.",
        theft_date="2013-03-03", theft_place="Museo Nacional, Ciudad de México", country="Mexico",
        images=["refs/demo-101.jpg"]),
    rec(id="demo-102", object_type="ceramics/face jug",
        title="Face jug 'Self-portrait'", maker="Søren Hardi",
        date="1982", subject="Jug modelled as a human face",
        materials="Glazed stoneware", measurements="H. 22 cm",
        inscriptions="Incised signature on the side", features="Red nose, spiky rim, beige glaze",
        description="Studio ceramic, humorous self-portrait.",
        theft_date="2020-12-24", theft_place="Kunsthal, Århus", country="Denmark",
        images=["refs/demo-102.jpg"]),
    rec(id="demo-103", object_type="painting",
        title="Tournesols", maker="Atelier Bérénice Dufresne",
        date="c. 1926", subject="Sunflowers in a vase",
        materials="Oil on canvas", measurements="46 x 32 cm",
        inscriptions="Signed 'B. Dufresne'", features="Orange background, thick impasto",
        description="Studio copy after Van Gogh; second photograph is a detail.",
        theft_date="2019-03-14", theft_place="Musée Sainte-Geneviève, Besançon", country="France",
        images=["refs/demo-103.jpg", "refs/demo-103_detail.jpg"]),
]

FIELDS = list(RECORDS[0].keys())


# --------------------------------------------------------------------------- helpers

def load_flat(path, longest, bg=(255, 255, 255), margin=0.04):
    """Open a clipart PNG, crop to its content, flatten onto bg, scale longest side."""
    im = Image.open(path)
    im = im.convert("RGBA")
    bbox = im.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if bbox:
        im = im.crop(bbox)
    w, h = im.size
    m = round(longest * margin / (1 + 2 * margin))
    s = (longest - 2 * m) / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    im = im.resize((nw, nh), Image.LANCZOS)
    canvas = Image.new("RGBA", (nw + 2 * m, nh + 2 * m), bg + (255,))
    canvas.alpha_composite(im, (m, m))
    return canvas.convert("RGB")


def save_jpeg(im, path, q=90, **kw):
    im.save(path, "JPEG", quality=q, optimize=True, **kw)


def mirror_bronze(im):
    g = ImageOps.grayscale(ImageOps.mirror(im))
    return ImageOps.colorize(g, black=(43, 26, 14), white=(246, 232, 205), mid=(176, 122, 62))


def detail(im):
    w, h = im.size
    return im.crop((w // 6, h // 10, w * 5 // 6, h * 6 // 10)).resize((560, round(560 * (h / 2) / (w * 2 / 3))), Image.LANCZOS)


# --------------------------------------------------------------------------- queries

def q_crop_resize(im):
    w, h = im.size
    dx, dy = round(w * 0.05), round(h * 0.05)
    c = im.crop((dx, dy, w - dx, h - dy))
    return c.resize((round(c.width * 0.7), round(c.height * 0.7)), Image.LANCZOS)


def q_border_watermark(im):
    b = round(max(im.size) * 0.08)
    out = ImageOps.expand(im, border=b, fill="white")
    d = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(12, b // 3))
    d.text((b, out.height - b + b // 4), "(c) Police judiciaire - scelle no 2024/117", fill=(90, 90, 90), font=font)
    return out


def q_photo_tilt(im):
    """Simulate a quick phone photo: grey table, 7° tilt, lower contrast, warm cast, blur."""
    pad = round(max(im.size) * 0.12)
    out = ImageOps.expand(im, border=pad, fill=(200, 200, 195))
    out = out.rotate(7, resample=Image.BICUBIC, expand=True, fillcolor=(170, 168, 160))
    out = ImageEnhance.Contrast(out).enhance(0.8)
    out = ImageEnhance.Brightness(out).enhance(0.92)
    r, g, b = out.split()
    out = Image.merge("RGB", (r.point(lambda v: min(255, v + 10)), g, b.point(lambda v: max(0, v - 12))))
    out = out.filter(ImageFilter.GaussianBlur(1.2))
    return out.resize((round(out.width * 0.75), round(out.height * 0.75)), Image.LANCZOS)


# (query file, ref id, description, function(img, path) writing the file)
def build_queries(refs, qdir):
    made = []

    def add(name, rid, how):
        made.append((name, rid, how))
        return os.path.join(qdir, name)

    save_jpeg(q_crop_resize(refs["demo-003"]), add("demo-003_crop_resize.jpg", "demo-003",
              "5% cut from every edge (10% per axis), resized to 70%, JPEG q75"), q=75)
    save_jpeg(refs["demo-005"].transpose(Image.ROTATE_90), add("demo-005_rot90.jpg", "demo-005",
              "pixels rotated 90° counter-clockwise, no EXIF, JPEG q85"), q=85)
    ImageOps.mirror(refs["demo-007"]).save(add("demo-007_mirror.png", "demo-007",
              "mirrored left-right, PNG"), optimize=True)
    save_jpeg(q_border_watermark(refs["demo-002"]), add("demo-002_border_watermark.jpg", "demo-002",
              "white border (8% of longest side) + grey text watermark in the border, JPEG q85"), q=85)

    # EXIF orientation: stored pixels rotated; Orientation=6 means "rotate 90° CW to display".
    up = refs["demo-009"]
    stored = up.transpose(Image.ROTATE_90)  # 90° CCW
    exif = Image.Exif()
    exif[0x0112] = 6
    p = add("demo-009_exif_rot.jpg", "demo-009",
            "pixels stored rotated 90° CCW with EXIF Orientation=6; upright after EXIF transpose, JPEG q90")
    save_jpeg(stored, p, exif=exif.tobytes())
    chk = ImageOps.exif_transpose(Image.open(p))
    assert chk.size == up.size, (chk.size, up.size)
    diff = sum(abs(a - b) for a, b in zip(chk.convert("L").resize((32, 32)).tobytes(),
                                           up.convert("L").resize((32, 32)).tobytes())) / 1024
    assert diff < 4, diff
    wrong = sum(abs(a - b) for a, b in zip(Image.open(p).convert("L").resize((32, 32)).tobytes(),
                                            up.convert("L").resize((32, 32)).tobytes())) / 1024
    print(f"exif check: mean abs diff upright={diff:.2f}, raw-pixels={wrong:.2f}")

    refs["demo-001"].save(add("demo-001_webp.webp", "demo-001", "WebP lossy q80"), "WEBP", quality=80, method=6)
    t = refs["demo-004"]
    t.resize((t.width * 3 // 4, t.height * 3 // 4), Image.LANCZOS).save(
        add("demo-004_tiff.tif", "demo-004", "resized to 75%, TIFF with LZW compression"), "TIFF", compression="tiff_lzw")
    refs["demo-006"].quantize(colors=128, method=Image.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        add("demo-006_gif.gif", "demo-006", "GIF, 128-colour palette with dithering"), "GIF")
    m = refs["demo-008"]
    m.resize((m.width // 2, m.height // 2), Image.LANCZOS).save(
        add("demo-008_half.bmp", "demo-008", "resized to 50%, uncompressed 24-bit BMP"), "BMP")
    save_jpeg(q_photo_tilt(refs["demo-013"]), add("demo-013_photo_tilt.jpg", "demo-013",
              "simulated phone photo: grey surround, 7° tilt, lower contrast, warm cast, blur, 75% size, JPEG q80"), q=80)
    save_jpeg(ImageOps.grayscale(refs["demo-014"]), add("demo-014_grey.jpg", "demo-014",
              "greyscale (photocopy-like), JPEG q85"), q=85)
    save_jpeg(q_crop_resize(refs["demo-101"]), add("demo-101_crop_resize.jpg", "demo-101",
              "CSV record; same as crop_resize above, JPEG q75"), q=75)
    save_jpeg(refs["demo-011_b"].rotate(180), add("demo-011_b_rot180.jpg", "demo-011",
              "second image of demo-011 (teapot) rotated 180°, JPEG q85"), q=85)
    return made


# --------------------------------------------------------------------------- bad files

def png_chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def write_bomb(path, w=60000, h=60000):
    """Valid 1-bit greyscale PNG of w x h zeros, compressed row by row (never held in memory)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    row = b"\x00" * (1 + (w + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    parts = []
    block = row * 64
    for _ in range(h // 64):
        parts.append(comp.compress(block))
    parts.append(comp.compress(row * (h % 64)))
    parts.append(comp.flush())
    idat = b"".join(parts)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(png_chunk(b"IHDR", ihdr))
        f.write(png_chunk(b"IDAT", idat))
        f.write(png_chunk(b"IEND", b""))


def build_bad(bad, demo_refs_dir):
    with open(os.path.join(demo_refs_dir, "demo-001.jpg"), "rb") as f:
        data = f.read()
    with open(os.path.join(bad, "truncated.jpg"), "wb") as f:
        f.write(data[: len(data) * 40 // 100])
    with open(os.path.join(bad, "garbage.jpg"), "wb") as f:
        f.write(random.Random(20240117).randbytes(4096))
    open(os.path.join(bad, "empty.png"), "wb").close()
    with open(os.path.join(bad, "text.png"), "w", encoding="utf-8") as f:
        f.write("This is not a PNG image.\nIt is a plain UTF-8 text file with a .png name.\n")
    write_bomb(os.path.join(bad, "bomb.png"))
    ok = rec(id="bad-ok-1", source="bad", object_type="painting", title="Valid record among bad ones",
             maker="Atelier Bérénice Dufresne", images=["../demo/refs/demo-001.jpg"])
    noid = rec(source="bad", title="Record without id", images=["../demo/refs/demo-003.jpg"])
    del noid["id"]
    missing = rec(id="bad-missing-image", source="bad", title="Record whose image does not exist",
                  images=["../demo/refs/does-not-exist.jpg"])
    lines = [json.dumps(ok, ensure_ascii=False),
             '{"id": "bad-invalid-json", "title": "unterminated string, images: [}',
             json.dumps(noid, ensure_ascii=False),
             json.dumps(missing, ensure_ascii=False)]
    with open(os.path.join(bad, "bad_records.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clipart", default="/usr/share/openclipart/png")
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures"))
    a = ap.parse_args()
    if not os.path.isdir(a.clipart):
        sys.exit(f"{a.clipart} missing: apt-get install -y openclipart-png")

    demo, bad = os.path.join(a.out, "demo"), os.path.join(a.out, "bad")
    for d in (demo, bad):
        shutil.rmtree(d, ignore_errors=True)
    refs_dir, qdir = os.path.join(demo, "refs"), os.path.join(demo, "queries")
    for d in (refs_dir, qdir, bad):
        os.makedirs(d)

    readme_rows = []  # (file, source, how)
    imgs = {}
    for rid, (src, longest) in REFS.items():
        imgs[rid] = load_flat(os.path.join(a.clipart, src), longest)
        save_jpeg(imgs[rid], os.path.join(refs_dir, rid + ".jpg"))
        readme_rows.append((f"refs/{rid}.jpg", src, f"reference of {rid}: cropped to content, flattened on white, longest side {max(imgs[rid].size)} px, JPEG q90"))
    for name, (how, arg) in EXTRA_REFS.items():
        if how == "mirror_bronze":
            imgs[name] = mirror_bronze(imgs[arg]); src = REFS[arg][0]
            desc = f"second view of {arg}: mirrored and bronze-toned"
        elif how == "clipart":
            src, longest = arg
            imgs[name] = load_flat(os.path.join(a.clipart, src), longest)
            desc = f"second image of {name.split('_')[0]}: matching piece (teapot)"
        else:
            imgs[name] = detail(imgs[arg]); src = REFS[arg][0]
            desc = f"second image of {arg}: detail crop (upper middle), enlarged"
        save_jpeg(imgs[name], os.path.join(refs_dir, name + ".jpg"))
        readme_rows.append((f"refs/{name}.jpg", src, desc + ", JPEG q90"))

    for name, rid, how in build_queries(imgs, qdir):
        src = REFS[rid][0] if not name.startswith("demo-011_b") else EXTRA_REFS["demo-011_b"][1][0]
        readme_rows.append((f"queries/{name}", src, f"query for {rid}: {how}"))
    for name, (src, longest) in NEGATIVES.items():
        save_jpeg(load_flat(os.path.join(a.clipart, src), longest), os.path.join(qdir, name + ".jpg"), q=85)
        readme_rows.append((f"queries/{name}.jpg", src, "negative: clipart NOT in the database, JPEG q85"))

    with open(os.path.join(demo, "records.jsonl"), "w", encoding="utf-8") as f:
        for r in RECORDS:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(demo, "records.csv"), "w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(FIELDS)
        for r in CSV_RECORDS:
            wr.writerow([";".join(r[k]) if k == "images" else r[k] for k in FIELDS])
    for r in RECORDS + CSV_RECORDS:
        for p in r["images"]:
            assert os.path.isfile(os.path.join(demo, p)), p

    build_bad(bad, refs_dir)

    with open(os.path.join(demo, "README.md"), "w", encoding="utf-8") as f:
        f.write("# Demo database (generated)\n\n"
                "Generated by `scripts/make-fixtures.py` — do not edit by hand.\n\n"
                "All images derive from the Open Clip Art Library as packaged in Debian's "
                "`openclipart-png` (paths below are relative to `/usr/share/openclipart/png/`). "
                f"Licence of every image: {LICENCE}. Record texts are invented.\n\n"
                "* `records.jsonl` — demo-001..015 (demo-002 and demo-011 have two images, "
                "demo-015 is text-only; demo-007 is `recovered`, demo-011 `missing`, others `stolen`).\n"
                "* `records.csv` — demo-101..103, `images` column separated by `;`.\n"
                "* `queries/` — each query is named `<ref id>_<transformation>`; `neg_*` must not match anything.\n"
                "* `../bad/` — inputs that must be rejected cleanly (see bottom).\n\n"
                "| file | openclipart source | licence | how it was made |\n|---|---|---|---|\n")
        for file, src, how in readme_rows:
            f.write(f"| `{file}` | `{src}` | public domain (openclipart) | {how} |\n")
        f.write("\n## ../bad/\n\n| file | content |\n|---|---|\n"
                "| `truncated.jpg` | `refs/demo-001.jpg` cut to 40% of its bytes |\n"
                "| `garbage.jpg` | 4096 pseudo-random bytes (seed 20240117) |\n"
                "| `empty.png` | 0 bytes |\n"
                "| `text.png` | plain text |\n"
                "| `bomb.png` | valid 1-bit PNG declaring 60000x60000 px, all zeros (3.6 Gpx) |\n"
                "| `bad_records.jsonl` | 4 lines: valid `bad-ok-1` (image `../demo/refs/demo-001.jpg`), invalid JSON, record without `id`, record whose image does not exist |\n")
    print("done")


if __name__ == "__main__":
    main()
