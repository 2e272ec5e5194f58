#!/usr/bin/env python3
"""Three photos that show what `pixel_blocks` and the `partial` verdict look like, made from the
public-domain demo pictures, and their `search --explain` pictures (docs/img/verdict-*.jpg):

  detail    the top-left quarter of demo-001, enlarged, pasted into demo-005   -> partial
  fragment  the left three fifths of demo-001, torn off, on a plain table      -> match
  whole     demo-001, smaller, on a wall                                       -> match

The index holds demo-001 alone, as in tests/integration/verdicts.rs.
Needs Pillow:  python3 -m venv /tmp/v && /tmp/v/bin/pip install pillow
  /tmp/v/bin/python scripts/verdict-examples.py target/release/provenance docs/img
"""
import json, os, subprocess, sys, tempfile
from PIL import Image

def main():
    binary, out = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pic = Image.open(os.path.join(root, "fixtures/demo/refs/demo-001.jpg")).convert("RGB")
    scene = Image.open(os.path.join(root, "fixtures/demo/refs/demo-005.jpg")).convert("RGB")
    w, h = pic.size
    work = tempfile.mkdtemp()
    pic.save(os.path.join(work, "original.png"))
    with open(os.path.join(work, "records.jsonl"), "w") as f:
        f.write(json.dumps({"id": "original", "title": "demo-001", "object_type": "painting",
                            "images": [os.path.join(work, "original.png")]}) + "\n")
    index = os.path.join(work, "index")
    subprocess.run([binary, "import", "--index", index, os.path.join(work, "records.jsonl")],
                   check=True, capture_output=True)
    detail = pic.crop((0, 0, w // 2, h // 2)).resize((w * 3 // 5, h * 3 // 5))
    photo = scene.resize((1400, 1000)); photo.paste(detail, (500, 300))
    fragment = Image.new("RGB", (w + 160, h + 120), (168, 140, 108))
    fragment.paste(pic.crop((0, 0, w * 3 // 5, h)), (90, 60))
    small = pic.resize((w * 3 // 5, h * 3 // 5))
    whole = Image.new("RGB", (small.width + 200, small.height + 120), (120, 110, 100))
    whole.paste(small, (140, 40))
    os.makedirs(out, exist_ok=True)
    for name, img in [("detail", photo), ("fragment", fragment), ("whole", whole)]:
        q = os.path.join(work, name + ".jpg"); img.save(q, quality=90)
        png = os.path.join(work, f"verdict-{name}.png")
        r = subprocess.run([binary, "search", "--index", index, q, "--json", "--explain", png],
                           check=True, capture_output=True, text=True)
        jpg = os.path.join(out, f"verdict-{name}.jpg")
        Image.open(png).convert("RGB").save(jpg, quality=85)
        m = json.loads(r.stdout)["matches"][0]
        b = m["evidence"].get("pixel_blocks", {})
        print(f"{name}: {m['verdict']} {m['score']:.3f} parts {b.get('map')} "
              f"(agree {b.get('agree')}, differ {b.get('differ')}, missing {b.get('missing')}, "
              f"added {b.get('added')}, outside {b.get('outside')}) -> {jpg}")

main()
