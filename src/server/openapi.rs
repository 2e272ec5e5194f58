//! `GET /openapi.json`: the API described for client generators and for
//! people. [`ROUTES`] lists what the router serves; a test checks that
//! the document describes exactly those, and that each one answers.

use serde_json::{Value, json};

/// (method, path) of every API route.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/search"),
    ("get", "/v1/search/text"),
    ("post", "/v1/search/descriptors"),
    ("get", "/v1/records/{id}"),
    ("put", "/v1/records/{id}"),
    ("delete", "/v1/records/{id}"),
    ("get", "/v1/records/{id}/images/{n}"),
    ("get", "/v1/audit"),
    ("get", "/v1/reviews"),
    ("post", "/v1/reviews"),
    ("get", "/v1/sightings"),
    ("delete", "/v1/sightings/{id}"),
    ("get", "/v1/alerts"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/me"),
    ("get", "/openapi.json"),
];

fn errors(codes: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for c in codes {
        m.insert(
            (*c).into(),
            json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(m)
}

fn ok(description: &str, schema: Value, codes: &[&str]) -> Value {
    let mut r = errors(codes);
    r["200"] =
        json!({"description": description, "content": {"application/json": {"schema": schema}}});
    r
}

fn param(name: &str, place: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": place, "required": required, "description": description, "schema": {"type": "string"}})
}

/// A whole-number parameter from `min` to `max` (the server refuses others
/// with 400).
fn int_param(
    name: &str,
    place: &str,
    required: bool,
    description: &str,
    min: u64,
    max: u64,
) -> Value {
    json!({"name": name, "in": place, "required": required, "description": description, "schema": {"type": "integer", "minimum": min, "maximum": max}})
}

/// `{"description": ..., "content": {"application/json": {"schema": ...}}}`.
fn answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// A ranked candidate of a photo search.
fn match_schema() -> Value {
    json!({"type": "object", "properties": {
            "id": {"type": "string"}, "score": {"type": "number"},
            "verdict": {"enum": ["match", "partial", "possible", "none"], "description": "match: the photo shows this record's picture (an alarm). partial: the photo shares only a part of its picture with this record (a motif, a print of the same plate, a detail in another picture); not an alarm, for an expert. possible: weak evidence. none: a candidate, not a match. For a record made in multiples (record.made_in_multiples) a match means the same design; its inscriptions and features tell the object."},
            "borderline": {"type": "boolean", "description": "true when the verdict lies within the noise of a re-taken or re-saved photo of a threshold (the evidence's strength within 0.4, one standard deviation of that noise, of the `possible` or `match` threshold, or the parts that agree within one of the share `match` asks): another photo may change it, so do not act on a borderline match alone; absent when false"},
            "cut_off": {"type": "boolean", "description": "true when the verdict is `partial` or `possible` and more of the record's picture (its textured parts) lies outside the photo than in it: the photo cannot tell a close-up of this picture from a detail another picture shares, so photograph the whole object and search again; absent when false"},
            "words": {"type": "number", "description": "how well the record's text matches the words given with the photo (0-1); absent when none were given or they do not match it"},
            "object": {"type": "integer", "description": "which object of the photo this result explains (1 = the one with the strongest result): results with the same number are alternatives for one object, different numbers different objects, each with its own evidence.region; absent without a verdict or a verified region"},
            "image_index": {"type": "integer"}, "image_url": {"type": "string"},
            "evidence": {"type": "object", "description": "what the score rests on; a field is absent where it does not apply", "properties": {"inliers": {"type": "integer", "description": "local features agreeing on one transform"}, "putative": {"type": "integer", "description": "local features matched before the geometric check"}, "cells": {"type": "integer", "description": "cells of an 8x8 grid over the reference holding inliers"}, "coverage": {"type": "number"},
              "log10_nfa": {"type": "number", "description": "a-contrario number of false alarms of the inliers (log10)"},
              "hash_distance": {"type": "integer", "description": "differing bits of 128 between the photo's and the reference's hashes"}, "embedding_distance": {"type": "number"}, "aspect_difference": {"type": "number"},
              "region_hash_distance": {"type": "integer", "description": "the same for the outlined region of the photo, warped upright"}, "region_embedding_distance": {"type": "number"},
              "outline_error": {"type": "number", "description": "how far the reference's outline lies from an outline found in the photo, over its size"},
              "pixel_agreement": {"type": "number", "description": "the photo inside the verified outline against the reference, pixel by pixel (-1 to 1)"},
              "colour_agreement": {"type": "number", "description": "the colours inside the verified outline against the reference's (-1 to 1): high under any light, below 0.3 for the same design in other colours, which is then no match; absent where either side has too few colours"},
              "global_discount": {"type": "number", "description": "taken off for a rival reference that explains the photo better"},
              "second_look": {"type": "boolean", "description": "found only by the second, wider look"},
              "closer_look": {"type": "boolean", "description": "found by the closer look at a large photo in which the first look found nothing (a small picture): a match only where the photo shows two thirds of the reference's structure, else partial"},
              "not_compared": {"type": "boolean", "description": "would be a match by its local features, but more candidates would match than a search compares pixel by pixel: not judged, so no match"},
              "words": {"type": "number"},
              "region": {"description": "the reference's outline in the query's pixels: top-left, top-right, bottom-right, bottom-left", "type": "array", "items": {"type": "array", "items": {"type": "number"}}},
              "pixel_blocks": {"description": "the reference compared with the photo part by part inside the outline: counts and a map of 4 x 4 parts, row by row from the top-left, one character a part (a agree, d differ, m missing from the photo, + added in the photo, o outside the photo, . not judged); fine: the same counts in 8 x 8 parts", "type": "object", "properties": {
                "agree": {"type": "integer"}, "differ": {"type": "integer"}, "missing": {"type": "integer"}, "added": {"type": "integer"}, "outside": {"type": "integer"}, "map": {"type": "string"}, "fine": {"type": "object", "description": "agree, differ, missing, added, outside in 8 x 8 parts: a match needs both maps to show enough of the reference", "properties": {"agree": {"type": "integer"}, "differ": {"type": "integer"}, "missing": {"type": "integer"}, "added": {"type": "integer"}, "outside": {"type": "integer"}}}, "off_backdrop": {"type": "boolean", "description": "the reference stands on a plain backdrop and the photo was judged as the object off it (on a table, a cloth): what the photo shows around the object is not compared, nor the contrast of its outline; absent where it was judged as it is"}}}}},
            "review": {"$ref": "#/components/schemas/Review", "description": "an expert's decision on this candidate for this photo"},
            "record": {"type": "object", "properties": {"title": {"type": "string"}, "maker": {"type": "string"}, "date": {"type": "string"}, "object_type": {"type": "string"}, "source": {"type": "string"}, "status": {"enum": ["stolen", "missing", "recovered", "disputed"]}, "made_in_multiples": {"type": "boolean"}, "inscriptions": {"type": "string"}, "features": {"type": "string", "description": "distinguishing features"}}}}}
    )
}

/// The shapes the answers share.
fn schemas() -> Value {
    json!({
          "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string", "description": "as in the x-request-id header and the server's log"}}}}},
          "Database": {"type": "object", "properties": {"records": {"type": "integer"}, "images": {"type": "integer"}, "generation": {"type": "integer"}, "store_seq": {"type": "integer"}, "updated": {"type": "string"}}},
          "Match": match_schema(),
          "Review": {"type": "object", "properties": {"photo_sha256": {"type": "string"}, "record": {"type": "string"}, "decision": {"enum": ["confirmed", "rejected"]}, "note": {"type": "string"}, "by": {"type": "string", "description": "the key's name"}, "at": {"type": "string", "format": "date-time"}}},
          "SearchResult": {"type": "object", "properties": {"database": {"$ref": "#/components/schemas/Database"}, "query": {"type": "object"}, "verdict": {"type": "string"}, "note": {"type": ["string", "null"]}, "matches": {"type": "array", "items": {"$ref": "#/components/schemas/Match"}},
            "sighting": {"type": ["string", "null"], "description": "the id of the sighting the photo was kept as (keep=true, or a key that keeps every search)"},
            "calibration": {"type": "string", "description": "what a score means on this server; peers' scores are merged only when it is the same"},
            "words": {"type": ["object", "null"], "description": "null without words; when words were given with the photo: they order only candidates of one verdict whose image scores are within 0.1, only when no candidate is a match, and never change a score or a verdict", "properties": {"applied": {"type": "boolean", "description": "false when a match made the words irrelevant"}, "reordered": {"type": "boolean", "description": "the words changed the order the image scores give"}}},
            "sighting_error": {"type": ["string", "null"], "description": "why the photo was not kept as asked (a replica keeps none; a failure to keep never fails the search)"},
            "peers": {"type": "array", "description": "each peer asked (serve --peers): a match from a peer carries \"peer\": its name", "items": {"type": "object", "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}, "error": {"type": "string"}, "records": {"type": "integer"}, "generation": {"type": "integer"}, "ms": {"type": "integer"}, "sent": {"enum": ["descriptors"], "description": "present when the peer was sent the photo's descriptors, not the photo: its candidates' pixels were compared here"}}}}}},
          "TextResult": {"type": "object", "properties": {"database": {"$ref": "#/components/schemas/Database"}, "calibration": {"type": "string"},
            "matches": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "score": {"type": "number", "description": "0-1, comparable within one query only"}, "peer": {"type": "string"}, "record": {"type": "object"}}}},
            "peers": {"type": "array", "items": {"type": "object"}}}},
          "Written": {"type": "object", "properties": {"id": {"type": "string"}, "created": {"type": "boolean"}, "images": {"type": "integer", "description": "how many photos the record has"}, "record": {"type": "object"}, "database": {"$ref": "#/components/schemas/Database"},
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}, "description": "kept sightings that show the new photos (absent when no photo was sent)"}}},
          "Sighting": {"type": "object", "properties": {"id": {"type": "string"}, "query": {"type": "string", "description": "the batch's input name, or \"upload\""}, "photo_sha256": {"type": "string"},
            "case": {"type": "string"}, "url": {"type": "string"}, "title": {"type": "string"}, "seller": {"type": "string"}, "seen": {"type": "string"},
            "kept_by": {"type": "string"}, "kept": {"type": "string", "format": "date-time"}}},
          "Alert": {"type": "object", "properties": {"id": {"type": "integer"}, "record": {"type": "string"}, "sighting": {"$ref": "#/components/schemas/Sighting"},
            "score": {"type": "number"}, "verdict": {"enum": ["match", "partial", "possible"]}, "evidence": {"type": "object"},
            "checked": {"enum": ["photo", "descriptors"], "description": "photo: the kept photo was searched again and this is that search's verdict; descriptors: the photo could not be read, the kept features alone proved the pair (at most possible)"},
            "raised": {"type": "string", "format": "date-time"}}}
    })
}

/// Every route, as [`ROUTES`] lists them.
fn paths() -> Value {
    let auth = json!([{"bearer": []}]);
    let id = param("id", "path", true, "record id");
    json!({
        "/v1/search": {"post": {"summary": "Search by photo (officer)", "security": auth,
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["photo"], "properties": {
            "photo": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP, TIFF, GIF, BMP or HEIC"},
            "text": {"type": "string", "maxLength": 2000, "description": "words describing the object (at most 2,000 bytes; the first 64 distinct words are searched): they may order candidates the photo cannot tell apart (see SearchResult.words)"}, "type": {"type": "string"}, "top": {"type": "integer", "minimum": 1, "maximum": 100, "description": "results, besides the best result of each object found"},
            "max_objects": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10, "description": "objects looked for in the photo (a seized lot, a wall, a catalogue page): after the first look, the part of the photo the objects found leave unexplained is looked at again until nothing more is found, the photo holds this many or a time bound is reached"},
            "keep": {"type": "boolean", "description": "keep the photo as a sighting: a record added later that it shows raises an alert"},
            "case": {"type": "string"}, "url": {"type": "string"}, "title": {"type": "string"}, "seller": {"type": "string"}, "seen": {"type": "string", "description": "where and when the photo was seen, kept with the sighting"}}}}}},
          "responses": ok("ranked candidates", json!({"$ref": "#/components/schemas/SearchResult"}), &["400", "401", "403", "408", "413", "415", "429", "503"])}},
        "/v1/search/text": {"get": {"summary": "Search record descriptions (officer)", "security": auth,
          "parameters": [param("q", "query", true, "words: at most 2,000 bytes, the first 64 distinct searched"), int_param("top", "query", false, "results (default 10)", 1, 100), param("type", "query", false, "object type"), param("status", "query", false, "stolen, missing, recovered, disputed"), param("source", "query", false, "source database")],
          "responses": ok("ranked records", json!({"$ref": "#/components/schemas/TextResult"}), &["400", "401", "403", "408", "429", "503"])}},
        "/v1/search/descriptors": {"post": {"summary": "Search by a photo's descriptors instead of the photo (officer): what a server sends a peer listed with \"send\": \"descriptors\" in its PEERS.json. No pixels are sent, and none are kept or audited here. The answer is the candidates, before any pixel comparison, with the reference grids of those the pixels judge: the asking server, which holds the photo, compares them and gives the verdicts.", "security": auth,
          "parameters": [int_param("top", "query", false, "candidates (default 10)", 1, 100), param("type", "query", false, "object type")],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["format", "embedder", "calibration", "width", "height", "hashes", "embeddings", "features", "regions", "tilts"], "description": "made by provenance (describe/wire.rs): the descriptors must come from the same embedder and calibration as this server's, or the request is refused (400) with a reason"}}}},
          "responses": ok("candidates", json!({"type": "object", "properties": {"calibration": {"type": "string"}, "database": {"$ref": "#/components/schemas/Database"}, "candidates": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "image_index": {"type": "integer"}, "record": {"type": "object"}, "evidence": {"type": "object"}, "pairs": {"type": "array"}, "grid": {"type": "string", "description": "the reference's pixel grid, base64"}}}}}}), &["400", "401", "403", "413", "429", "503"])}},
        "/v1/records/{id}": {
          "get": {"summary": "Read a record (expert)", "security": auth, "parameters": [id],
            "responses": ok("the record; images as URLs", json!({"type": "object"}), &["400", "401", "403", "404", "429"])},
          "put": {"summary": "Create or replace a record (curator)", "security": auth, "parameters": [id],
            "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
              "record": {"type": "string", "description": "the record as JSON (Object ID fields)"},
              "image": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "its photos, in order; none keeps the current ones"}}}}}},
            "responses": {
              "200": answer("replaced", json!({"$ref": "#/components/schemas/Written"})), "201": answer("created", json!({"$ref": "#/components/schemas/Written"})),
              "400": errors(&["400"])["400"], "401": errors(&["401"])["401"], "403": errors(&["403"])["403"], "404": answer("deleted while the photos were described", json!({"$ref": "#/components/schemas/Error"})),
              "408": errors(&["408"])["408"], "413": errors(&["413"])["413"], "415": errors(&["415"])["415"], "429": errors(&["429"])["429"],
              "503": answer("nothing was changed: a replica (serve --follow) takes no writes (code `read_only_replica`), or another writer (an import) held the index past half of --timeout (code `busy`, naming it, Retry-After)", json!({"$ref": "#/components/schemas/Error"})),
              "507": {"description": "the index's disk is full: nothing was changed; searches go on (code `disk_full`, Retry-After)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
          "delete": {"summary": "Delete a record, its images and the alerts raised for it (curator)", "security": auth, "parameters": [id],
            "responses": ok("deleted", json!({"type": "object"}), &["400", "401", "403", "404", "408", "429", "503", "507"])}},
        "/v1/records/{id}/images/{n}": {"get": {"summary": "A record's image n (officer); ?max=N gives a JPEG of at most N px", "security": auth,
          "parameters": [id, int_param("n", "path", true, "image position, from 0", 0, u32::MAX as u64), int_param("max", "query", false, "longest side, in pixels: a JPEG of at most this size (16-4096)", 16, 4096)],
          "responses": {"200": {"description": "the image", "content": {"image/*": {}}}, "400": errors(&["400"])["400"], "401": errors(&["401"])["401"], "404": errors(&["404"])["404"], "429": errors(&["429"])["429"], "500": answer("the stored image cannot be read", json!({"$ref": "#/components/schemas/Error"}))}}},
        "/v1/audit": {"get": {"summary": "The audit log, newest first (expert)", "security": auth,
          "parameters": [int_param("limit", "query", false, "entries (default 100)", 1, 10_000), param("action", "query", false, "search, search_text, search_descriptors, read_record, put_record, delete_record, review, delete_sighting, refused (a change or search refused before its handler ran)"), param("key", "query", false, "key name"), param("id", "query", false, "record id")],
          "responses": ok("entries", json!({"type": "object", "properties": {"entries": {"type": "array", "items": {"type": "object"}}}}), &["400", "401", "403", "429"])}},
        "/v1/reviews": {
          "get": {"summary": "Experts' decisions on candidates, newest first (expert)", "security": auth,
            "parameters": [param("photo", "query", false, "the photo's SHA-256 (a search's query.sha256): 64 hexadecimal digits"), int_param("limit", "query", false, "the newest this many (default 1000)", 1, 10_000)],
            "responses": ok("reviews", json!({"type": "object", "properties": {"reviews": {"type": "array", "items": {"$ref": "#/components/schemas/Review"}}}}), &["400", "401", "403", "429"])},
          "post": {"summary": "Confirm or reject a candidate for a photo (expert); a later decision on the same pair replaces it", "security": auth,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["photo_sha256", "record", "decision"], "properties": {
              "photo_sha256": {"type": "string", "description": "the search's query.sha256"}, "record": {"type": "string"},
              "decision": {"enum": ["confirmed", "rejected"]}, "note": {"type": "string", "maxLength": 4000}}}}}},
            "responses": ok("the review kept", json!({"type": "object", "properties": {"review": {"$ref": "#/components/schemas/Review"}}}), &["400", "401", "403", "404", "408", "413", "415", "429", "503"])}},
        "/v1/sightings": {"get": {"summary": "Kept sightings, newest first (expert)", "security": auth,
          "parameters": [int_param("limit", "query", false, "the newest this many (default 1000)", 1, 10_000)],
          "responses": ok("sightings", json!({"type": "object", "properties": {"count": {"type": "integer", "description": "every kept sighting, listed or not"}, "sightings": {"type": "array", "items": {"$ref": "#/components/schemas/Sighting"}}}}), &["400", "401", "403", "429"])}},
        "/v1/sightings/{id}": {"delete": {"summary": "Delete a sighting, its alerts and its uploaded photo (expert)", "security": auth,
          "parameters": [param("id", "path", true, "sighting id")],
          "responses": ok("deleted", json!({"type": "object"}), &["401", "403", "404", "408", "429", "503"])}},
        "/v1/alerts": {"get": {"summary": "Retro-alerts: records added after a kept sighting showed them, newest first (expert)", "security": auth,
          "parameters": [param("since", "query", false, "only alerts raised on or after this date or RFC 3339 time"), param("verdict", "query", false, "only these verdicts: match, partial, possible, comma-separated"), int_param("limit", "query", false, "the newest this many (default 100; 0: the counts alone)", 0, 1_000)],
          "responses": ok("alerts", json!({"type": "object", "properties": {"total": {"type": "integer"}, "matching": {"type": "integer", "description": "alerts the filters keep, of which the newest `limit` are listed"}, "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}), &["400", "401", "403", "429"])}},
        "/v1/me": {"get": {"summary": "The key's name and role (any key): what the web page offers it", "security": auth,
          "responses": ok("the key", json!({"type": "object", "properties": {"name": {"type": "string"}, "role": {"enum": ["officer", "expert", "curator", "admin"]}}}), &["401", "429"])}},
        "/healthz": {"get": {"summary": "Alive (no key)", "responses": {"200": {"description": "ok"}}}},
        "/readyz": {"get": {"summary": "Ready to search (no key)", "responses": {"200": answer("ready, with the database served and, on a replica following snapshots (serve --follow), the snapshot's name", json!({"type": "object", "properties": {"ready": {"type": "boolean"}, "database": {"$ref": "#/components/schemas/Database"}, "snapshot": {"type": ["string", "null"]}}})), "500": answer("not ready: the database cannot be read", json!({"$ref": "#/components/schemas/Error"})), "503": answer("not ready: records.sqlite was replaced under this server (store_replaced); restart it", json!({"$ref": "#/components/schemas/Error"}))}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (any key)", "security": auth, "responses": {"200": {"description": "text exposition", "content": {"text/plain": {}}}, "401": errors(&["401"])["401"], "429": errors(&["429"])["429"]}}},
        "/openapi.json": {"get": {"summary": "This document (no key)", "responses": {"200": answer("OpenAPI 3.1", json!({"type": "object"}))}}}
    })
}

pub fn document() -> Value {
    json!({
      "openapi": "3.1.0",
      "info": {"title": "provenance", "version": env!("CARGO_PKG_VERSION"),
               "description": "Cross-checks photos of seized cultural goods against stolen-works databases. Roles: officer (search) < expert (read records, audit) < curator (write records) < admin."},
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": schemas()
      },
      "paths": paths()
    })
}

pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_exactly_the_routes() {
        let doc = document();
        let mut described: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                described.push((method.clone(), path.clone()));
            }
        }
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        described.sort();
        routes.sort();
        assert_eq!(described, routes);
    }
}
