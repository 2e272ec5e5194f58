//! Full-text search over record descriptions.

use crate::util::{Index, SCULPTURES, ids};

fn first(v: &serde_json::Value) -> Option<String> {
    ids(v).into_iter().next()
}

#[test]
fn misspelt_title_word_finds_the_record() {
    let ix = Index::demo();
    // "philosopher" (demo-002), "Tournesols" (demo-103), "sapphires" (demo-006).
    assert_eq!(
        first(&ix.text("philospher", &[])).as_deref(),
        Some("demo-002")
    );
    assert_eq!(
        first(&ix.text("Tournsols", &[])).as_deref(),
        Some("demo-103")
    );
    assert_eq!(
        first(&ix.text("saphires diadem", &[])).as_deref(),
        Some("demo-006")
    );
}

#[test]
fn accent_folded_maker_finds_both_records() {
    let ix = Index::demo();
    // "Atelier Bérénice Dufresne" made demo-001 (JSONL) and demo-103 (CSV).
    let mut top2 = ids(&ix.text("Berenice Dufresne", &[]));
    top2.truncate(2);
    top2.sort();
    assert_eq!(top2, ["demo-001", "demo-103"]);
    assert_eq!(
        first(&ix.text("Helene Akerstrom", &[])).as_deref(),
        Some("demo-003")
    );
}

#[test]
fn type_filter_narrows() {
    let ix = Index::demo();
    let words = "bronze gold painted stone";
    let all = ids(&ix.text(words, &[]));
    assert!(
        all.iter().any(|id| !SCULPTURES.contains(&id.as_str())),
        "{all:?}"
    );
    let mut narrowed = ids(&ix.text(words, &["--type", "sculpture"]));
    narrowed.sort();
    assert_eq!(narrowed, SCULPTURES);
    // A subtype narrows further.
    assert_eq!(
        ids(&ix.text(words, &["--type", "sculpture/bust"])),
        ["demo-002"]
    );
}

#[test]
fn status_filter_narrows() {
    let ix = Index::demo();
    let words = "unknown harp gold oil canvas";
    assert!(ids(&ix.text(words, &[])).len() > 3);
    assert_eq!(
        ids(&ix.text(words, &["--status", "recovered"])),
        ["demo-007"]
    );
    assert!(ids(&ix.text("painting", &["--status", "recovered"])).is_empty());
}

#[test]
fn text_only_record_is_searchable() {
    // demo-015 has no photograph, but its description is indexed.
    let ix = Index::demo();
    assert_eq!(
        first(&ix.text("dancing satyr", &[])).as_deref(),
        Some("demo-015")
    );
}

#[test]
fn query_syntax_is_not_an_error() {
    let ix = Index::demo();
    ix.text("title:\"harp AND (", &[]);
}

#[test]
fn unknown_status_is_an_error() {
    let ix = Index::demo();
    let out = ix.cmd("text", &["harp", "--status", "lost"]).expect_code(2);
    assert!(out.stderr.contains("lost"), "{}", out.stderr);
}

/// Records written in Russian, Greek, Italian, French, German, Spanish and
/// English (`fixtures/languages`), each with its `language`.
fn languages() -> Index {
    let ix = Index::new();
    ix.import(&[crate::util::fixture("languages/records.jsonl")])
        .ok();
    ix
}

#[test]
fn latin_letters_find_greek_and_cyrillic_records() {
    let ix = languages();
    // "Икона святого Николая Чудотворца", typed as an officer spells it.
    assert_eq!(
        first(&ix.text("ikona Nikolaj", &[])).as_deref(),
        Some("ru-1")
    );
    assert_eq!(
        first(&ix.text("икона Николай", &[])).as_deref(),
        Some("ru-1")
    );
    assert_eq!(
        first(&ix.text("Panagia Odigitria", &[])).as_deref(),
        Some("el-1")
    );
}

#[test]
fn types_and_materials_are_found_across_languages() {
    let ix = languages();
    // The first five, in any order.
    let first_five = |words: &str| {
        let mut top = ids(&ix.text(words, &[]));
        top.truncate(5);
        top.sort();
        top
    };
    assert_eq!(
        first_five("icons"),
        ["de-2", "el-1", "it-2", "ru-1", "ru-2"]
    );
    // Oil on canvas: "óleo sobre lienzo", "huile sur toile", "масло на холсте".
    assert_eq!(
        first_five("oil canvas"),
        ["en-1", "es-1", "fr-1", "ru-2", "ru-3"]
    );
    assert_eq!(first(&ix.text("silver coin", &[])).as_deref(), Some("el-2"));
}

#[test]
fn stemming_and_stop_words_follow_the_records_language() {
    let ix = languages();
    // German plural, Italian plural.
    assert_eq!(
        first(&ix.text("Ikonen Georg", &[])).as_deref(),
        Some("de-2")
    );
    assert_eq!(
        first(&ix.text("vergine roccia", &[])).as_deref(),
        Some("it-3")
    );
    // "la" is an Italian and a French stop word: it finds the records that
    // hold it, but counts for less than a word that is not one.
    let mut la = ids(&ix.text("la", &[]));
    la.sort();
    assert_eq!(la, ["fr-1", "it-3"]);
    assert_eq!(first(&ix.text("la perlas", &[])).as_deref(), Some("es-2"));
}

#[test]
fn a_title_made_of_stop_words_is_found_by_its_words() {
    let ix = languages();
    // Every word of these titles is a stop word of its record's language.
    assert_eq!(first(&ix.text("Io e lei", &[])).as_deref(), Some("it-4"));
    assert_eq!(
        first(&ix.text("to be or not to be", &[])).as_deref(),
        Some("en-3")
    );
}

/// Records whose text the tokenizer alone would cut or lose
/// (`fixtures/languages/scripts.jsonl`): a decomposed accent, soft hyphens,
/// the Turkish İ, Chinese and Japanese, a Cyrillic place of theft, a
/// source with a trailing blank, an inventory number as the id.
fn scripts() -> Index {
    let ix = Index::new();
    ix.import(&[crate::util::fixture("languages/scripts.jsonl")])
        .ok();
    ix
}

#[test]
fn words_are_found_however_their_text_is_encoded() {
    let ix = scripts();
    for (typed, id) in [
        ("Cézanne", "nfd-1"), // the record writes e + a combining accent
        ("Cezanne", "nfd-1"),
        ("Granduca", "shy-1"), // the record hyphenates it softly
        ("Izmir", "tr-1"),     // the record writes İzmir
        ("Ibrahim Calli", "tr-1"),
        ("清明", "zh-1"), // two characters of a five-character title
        ("北斎", "ja-1"), // the maker's given name, in a run without spaces
        ("神奈川沖浪裏", "ja-1"),
        ("Yaroslavl", "ru-place"), // theft_place Ярославль, transliterated
        ("INV-2024-0042", "INV-2024-0042"), // the id, as on the officer's paper
    ] {
        assert_eq!(
            first(&ix.text(typed, &[])).as_deref(),
            Some(id),
            "{typed:?} finds {id}"
        );
    }
}

#[test]
fn a_source_filter_ignores_case_and_blanks_and_a_blank_filter_nothing() {
    let ix = scripts();
    // Stored as "Interpol ".
    for source in ["interpol", "INTERPOL", " Interpol"] {
        assert_eq!(
            ids(&ix.text("Cezanne", &["--source", source])),
            ["nfd-1"],
            "{source:?}"
        );
    }
    // Blank filters filter nothing, as the API's empty parameters do.
    assert_eq!(
        ids(&ix.text("Cezanne", &["--source", "", "--status", " "])),
        ["nfd-1"]
    );
    assert!(
        ix.text("Cezanne", &["--source", "national-it"])["matches"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // `--top` is bounded: past it a usage error, not an allocation.
    let out = ix.cmd("text", &["vase", "--top", "100000000000"]);
    out.expect_code(2);
}

/// A record's text reaches an officer's terminal escaped: a title holding
/// control characters can neither clear the screen nor forge a line.
#[test]
fn a_records_control_characters_are_shown_escaped() {
    let ix = Index::new();
    let file = ix.scratch("ctl.jsonl");
    let rec = serde_json::json!({"id": "ctl-1", "title": "Chalice\u{1b}[2J\rALL CLEAR",
        "object_type": "painting\u{1b}[41m"});
    std::fs::write(&file, rec.to_string()).unwrap();
    ix.import(&[&file]).ok();
    let shown = ix.cmd("text", &["chalice"]).ok().stdout;
    assert!(shown.contains("ctl-1"), "{shown:?}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\r'),
        "{shown:?}"
    );
}

/// `search --json PHOTO --text WORDS`, which must succeed.
fn search_with_words(ix: &Index, photo: &std::path::Path, words: &str) -> serde_json::Value {
    let args = [
        photo.as_os_str(),
        "--json".as_ref(),
        "--text".as_ref(),
        words.as_ref(),
    ];
    ix.cmd("search", &args).ok().json()
}

/// A photo of nothing in the database: every candidate is weak, so the
/// words given with it order them, and the answer says so; scores and
/// verdicts stay the photo's.
#[test]
fn words_order_candidates_the_photo_cannot_tell_apart() {
    let ix = Index::demo();
    let photo = crate::util::query("neg_guitar.jpg");
    let alone = ix.search(&photo);
    assert!(alone.get("words").is_none(), "{alone}");
    let with = search_with_words(&ix, &photo, "harp");
    assert_eq!(with["words"]["applied"], true, "{with}");
    assert_eq!(with["words"]["reordered"], true, "{with}");
    let top = &with["matches"][0];
    assert_eq!(top["id"], "demo-007", "the harp: {with}");
    assert_eq!(top["verdict"], "none", "{with}");
    let image_score = crate::util::matches(&alone)
        .iter()
        .find(|m| m["id"] == "demo-007")
        .map(|m| m["score"].clone());
    assert_eq!(Some(top["score"].clone()), image_score, "{with}");
    assert!(top["words"].as_f64().unwrap() > 0.0, "{top}");
}

/// With a `match` the words never reorder: the photo has spoken.
#[test]
fn words_never_move_a_match() {
    let ix = Index::demo();
    let photo = crate::util::query("demo-013_photo_tilt.jpg");
    let title = "Relief with feathered deity"; // demo-101, a weak candidate here
    let v = search_with_words(&ix, &photo, title);
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "match", "{v}");
    assert_eq!(v["words"]["applied"], false, "{v}");
    assert_eq!(v["words"]["reordered"], false, "{v}");
}

/// Records added one at a time (each a commit of its own, as every change
/// through the API is) are merged as they come: the text index does not
/// grow one segment per change for every search to visit.
#[test]
fn one_record_at_a_time_leaves_few_text_segments() {
    let ix = Index::new();
    let changes = 24;
    for i in 0..changes {
        let file = ix.scratch(&format!("r{i}.jsonl"));
        let record = serde_json::json!({"id": format!("lot-{i}"), "source": "test",
            "status": "stolen", "object_type": "painting", "title": format!("Harbour view {i}")});
        std::fs::write(&file, format!("{record}\n")).unwrap();
        ix.import(&[&file]).ok();
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ix.path().join("ix/text/meta.json")).unwrap())
            .unwrap();
    let segments = meta["segments"].as_array().unwrap().len();
    assert!(
        segments <= changes / 2,
        "{segments} segments after {changes} commits"
    );
    // Every record is still found.
    assert_eq!(ids(&ix.text("harbour", &["--top", "100"])).len(), changes);
}
