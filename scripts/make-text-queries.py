#!/usr/bin/env python3
"""Derive known-item text queries from a records file, made differently from the shared ones.

usage: make-text-queries.py RECORDS.jsonl[.gz] OUT.csv [--per-variant 200] [--seed 7]

Writes `qid,query,record_id,variants` (the shared text benchmark's format, so
../shared/bench/score.py --text scores it) with one block of queries per variant:

  subject      2-3 of the record's subject terms, as an expert describes what is depicted
  title1       one title word and the artist's surname
  shuffled     2-3 title words in another order, the surname among them
  no_artist    2 title words and the medium or the decade, no artist
  typos        2-3 title words and the surname, each word of 5+ letters misspelt once
  spelling     title words with spelling variants: British/American, accents dropped,
               hyphens split, "St" for "Saint", an "&" for "and"
  described    a description an officer would write: type, subject terms and medium

A query is made only from a record that has what the variant needs. Only the standard library.
"""
import argparse, csv, gzip, hashlib, json, random, re, unicodedata

STOP = set("""a an and the of in on at to from with by for near or as its his her their
this that de la le du des di da del van von der den het""".split())
SPELLING = [("colour", "color"), ("grey", "gray"), ("centre", "center"), ("harbour", "harbor"),
            ("theatre", "theater"), ("armour", "armor"), ("honour", "honor"), ("favour", "favor"),
            ("labour", "labor"), ("neighbour", "neighbor"), ("jewellery", "jewelry"),
            ("sombre", "somber"), ("mould", "mold"), ("plough", "plow"), ("saviour", "savior")]
MEDIUMS = ["oil", "watercolour", "graphite", "gouache", "etching", "lithograph", "screenprint",
           "aquatint", "engraving", "woodcut", "chalk", "charcoal", "ink", "bronze", "marble",
           "photograph", "acrylic", "tempera", "pastel", "mezzotint", "linocut", "plaster", "wood"]
TYPE_WORDS = {"painting": "painting", "print": "print", "drawing": "drawing", "sculpture": "sculpture",
              "photograph": "photo"}


def words(text):
    return re.findall(r"[^\W\d_]+", text)


def content(text):
    return [w for w in words(text) if w.lower() not in STOP and len(w) > 2]


def fold(w):
    return "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))


def surname(maker):
    # "Joseph Mallord William Turner" -> Turner; "Dame Elisabeth Frink" -> Frink; "Henry Moore OM, CH" -> Moore
    name = maker.split(",")[0]
    parts = [p for p in words(name) if not p.isupper() or len(p) > 3]
    return parts[-1] if parts else None


def medium(materials):
    low = materials.lower()
    return next((m for m in MEDIUMS if re.search(r"\b" + m, low)), None)


def decade(date):
    m = re.search(r"\b(1[0-9]{3}|20[0-9]{2})", date)
    return m.group(1)[:3] + "0s" if m else None


def subject_terms(subject):
    out = []
    for part in subject.split(";"):
        for term in part.split(","):
            term = term.strip()
            if term and "non-specific" not in term and len(term) > 2 and term.lower() not in STOP:
                out.append(term)
    return list(dict.fromkeys(out))


def typo(w, rng):
    if len(w) < 5:
        return w
    i = rng.randrange(1, len(w) - 1)
    op = rng.choice("swap drop double replace".split())
    if op == "swap":
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    if op == "drop":
        return w[:i] + w[i + 1:]
    if op == "double":
        return w[:i] + w[i] + w[i:]
    return w[:i] + rng.choice("aeiourstnl") + w[i + 1:]


def spelled(title, rng):
    """The title's content words with at least one spelling change, or None."""
    ws = content(title)
    out, changed = [], False
    for w in ws:
        low = w.lower()
        alt = next((b for a, b in SPELLING if low == a), None) or next((a for a, b in SPELLING if low == b), None)
        if alt:
            out.append(alt); changed = True
        elif fold(w) != w:
            out.append(fold(w)); changed = True
        elif "-" in w:
            out.extend(w.split("-")); changed = True
        else:
            out.append(w)
    if re.search(r"\bSaint\b", title):
        out.append("St"); changed = True
    if not changed:
        return None
    if len(out) > 3:
        keep = sorted(rng.sample(range(len(out)), 3))
        out = [out[i] for i in keep]
    return out


def make(rec, variant, rng):
    title, maker = rec.get("title", ""), rec.get("maker", "")
    tw, sn = content(title), surname(maker)
    med, dec = medium(rec.get("materials", "")), decade(rec.get("date", ""))
    if variant == "subject":
        terms = subject_terms(rec.get("subject", ""))
        if len(terms) < 2:
            return None
        return rng.sample(terms, min(len(terms), rng.choice([2, 3])))
    if variant == "title1":
        return [rng.choice(tw), sn] if tw and sn else None
    if variant == "shuffled":
        if len(tw) < 2 or not sn:
            return None
        q = rng.sample(tw, min(len(tw), rng.choice([2, 3]))) + [sn]
        rng.shuffle(q)
        return q
    if variant == "no_artist":
        if len(tw) < 2 or not (med or dec):
            return None
        i = rng.randrange(len(tw) - 1)
        return tw[i:i + 2] + [med or dec]
    if variant == "typos":
        if len(tw) < 2 or not sn:
            return None
        q = [typo(w, rng) for w in rng.sample(tw, min(len(tw), rng.choice([2, 3])))] + [sn]
        return q if any(len(w) >= 5 for w in tw) else None
    if variant == "spelling":
        q = spelled(title, rng)
        return q + ([sn] if sn and rng.random() < 0.5 else []) if q else None
    if variant == "described":
        terms = subject_terms(rec.get("subject", ""))
        kind = TYPE_WORDS.get(rec.get("object_type", "").split("/")[0])
        if not terms or not (kind or med):
            return None
        q = rng.sample(terms, min(len(terms), 2)) + [w for w in (med, kind) if w]
        return q
    raise ValueError(variant)


VARIANTS = ["subject", "title1", "shuffled", "no_artist", "typos", "spelling", "described"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("out")
    ap.add_argument("--per-variant", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    opener = gzip.open if a.records.endswith(".gz") else open
    with opener(a.records, "rt", encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.strip()]
    rng = random.Random(a.seed)
    rows = []
    for variant in VARIANTS:
        order = list(range(len(recs)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made == a.per_variant:
                break
            q = make(recs[i], variant, rng)
            if not q:
                continue
            query = " ".join(q)
            qid = "v" + hashlib.sha256(f"{variant}:{recs[i]['id']}:{query}".encode()).hexdigest()[:11]
            rows.append({"qid": qid, "query": query, "record_id": recs[i]["id"], "variants": variant})
            made += 1
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["qid", "query", "record_id", "variants"])
        w.writeheader()
        w.writerows(rows)
    print(f"{a.out}: {len(rows)} queries, {len(VARIANTS)} variants")


if __name__ == "__main__":
    main()
