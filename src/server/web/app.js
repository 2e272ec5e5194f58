// provenance web page: plain JavaScript, no framework, no CDN.
"use strict";

const $ = (sel) => document.querySelector(sel);
const KEY = "provenance.key";
// Phones take 12-megapixel photos; matching needs far less. Shrinking
// here makes the upload fast on a poor connection.
const MAX_SIDE = 1600;
// A photo no larger than that goes up as it is: compressed again, its
// features move a little, and a verdict near a threshold can move with
// them (docs/decisions.md, "A photo the page need not shrink goes up as
// it is"), so the page would disagree with `batch` on the same file. Only
// formats the server reads, and files small enough not to slow the upload.
const AS_IS_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp"]);
const AS_IS_MAX_BYTES = 4 << 20;

function key() { return localStorage.getItem(KEY) || ""; }

// Characters that turn the direction of the text after them (a seller's
// "gpj.exe" shown as "exe.jpg"): shown as what they are, never obeyed.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
function plain(v) {
  return String(v).replace(BIDI, (c) => "<U+" + c.charCodeAt(0).toString(16).toUpperCase() + ">");
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = plain(v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(typeof c === "string" ? plain(c) : c);
  return e;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + key() }, options.headers || {});
  let resp;
  try {
    resp = await fetch(path, Object.assign({}, options, { headers }));
  } catch (e) {
    if (e.name === "AbortError" || e.name === "TimeoutError") throw e;
    throw new Error("Cannot reach the server. Check the connection and try again.");
  }
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { const body = await resp.json(); msg = body.error.message; } catch (_) { /* not JSON */ }
    if (resp.status === 401) {
      // A key the server refuses is of no use: forgotten, and said why.
      localStorage.removeItem(KEY);
      sessionStorage.setItem("provenance.refused", msg);
      role = null;
      location.hash = "#/key";
    }
    const err = new Error(msg);
    err.status = resp.status;
    err.retryAfter = Number(resp.headers.get("Retry-After")) || 1;
    throw err;
  }
  return resp;
}

// The key's role (`GET /v1/me`), asked once: the page offers only what
// the key may do (records, reviews and alerts are for experts).
let role = null;
async function keyRole() {
  if (role) return role;
  // Not known (no answer): the least the key may be, asked again next time.
  try { role = (await (await api("/v1/me")).json()).role; } catch (_) { return "officer"; }
  return role;
}
function expert() { return role === "expert" || role === "curator" || role === "admin"; }

// Images need the key too, so they are fetched and shown as blobs; one
// refused for the key's rate is asked again when the server says.
async function authImage(url, alt) {
  const img = el("img", { alt });
  for (let attempt = 0; ; attempt++) {
    try {
      const resp = await api(url);
      img.src = URL.createObjectURL(await resp.blob());
      return img;
    } catch (e) {
      if (e.status === 429 && attempt < 5) {
        await new Promise((ok) => setTimeout(ok, 1000 * Math.min(e.retryAfter, 10)));
        continue;
      }
      img.alt = alt + " (" + e.message + ")";
      return img;
    }
  }
}

// A record's id: a link to its page for a key that may read records.
function recordLink(id, cls) {
  return expert()
    ? el("a", { class: cls, href: "#/record/" + encodeURIComponent(id), text: id })
    : el("span", { class: cls, text: id });
}

function show(view) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== view;
}

function route() {
  const h = location.hash || "#/";
  if (!key() && h !== "#/key") { location.hash = "#/key"; return; }
  if (h === "#/key") {
    show("view-key");
    const refused = sessionStorage.getItem("provenance.refused");
    sessionStorage.removeItem("provenance.refused");
    $("#key-status").className = refused ? "error" : "muted";
    $("#key-status").textContent = refused ? "The server refused the key: " + refused + " Enter it again."
      : key() ? "A key is saved." : "No key saved yet.";
  }
  else if (h === "#/text") show("view-text");
  else if (h === "#/alerts") { show("view-alerts"); showAlerts(); }
  else if (h.startsWith("#/record/")) { show("view-record"); showRecord(decodeURIComponent(h.slice(9))); }
  else show("view-search");
  if (key()) keyRole().then(() => { if (expert()) countAlerts(); });
}

// Experts see how many alerts there are; other keys are refused the
// list, and the link stays hidden.
async function countAlerts(list) {
  try {
    const res = await (await api("/v1/alerts" + (list ? "" : "?limit=0"))).json();
    $("#alert-count").textContent = res.total;
    $("#alerts-link").hidden = false;
    return res;
  } catch (_) {
    $("#alerts-link").hidden = true;
    return null;
  }
}

async function showAlerts() {
  const status = $("#alerts-status"), out = $("#alerts");
  out.replaceChildren();
  status.textContent = "Loading…";
  const res = await countAlerts(true);
  if (!res) { status.className = "status error"; status.textContent = "Alerts are for experts' keys."; return; }
  status.className = "status";
  status.textContent = res.total + " alert(s)" +
    (res.alerts.length < res.matching ? "; the newest " + res.alerts.length + " shown" : "");
  for (const a of res.alerts) {
    const s = a.sighting;
    const where = [s.case && "case " + s.case, s.url, s.title, s.seller && "seller " + s.seller, s.seen && "seen " + s.seen]
      .filter(Boolean).join(" · ");
    out.append(el("article", { class: "card alert-card", "data-record": a.record, "data-sighting": s.id },
      el("div", { class: "head" },
        recordLink(a.record, "rid"),
        el("span", { class: "verdict " + a.verdict, text: a.verdict + " " + a.score.toFixed(2) })),
      el("p", { text: "Shown by sighting " + s.id + " (" + s.query + "), kept " + s.kept + " by " + s.kept_by + "; alert raised " + a.raised + "." }),
      where ? el("p", { class: "context", text: where }) : null));
  }
}

$("#key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  role = null;
  localStorage.setItem(KEY, $("#key").value.trim());
  $("#key").value = "";
  location.hash = "#/";
});

// The photo, shrunk, as a canvas (kept to draw the matched region on)
// and as the JPEG to upload, unless it needs no shrinking (AS_IS_TYPES).
// Formats the browser cannot draw (HEIC on most browsers) go up as they
// are: the server decodes them.
async function preparePhoto(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = el("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (scale === 1 && AS_IS_TYPES.has(file.type) && file.size <= AS_IS_MAX_BYTES) {
      return { canvas, blob: file, name: file.name };
    }
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.9));
    return { canvas, blob, name: "photo.jpg" };
  } catch (_) {
    return { canvas: null, blob: file, name: file.name };
  }
}

// The projective map taking the unit square's corners (0,0) (1,0) (1,1)
// (0,1) to the quad's four points (the reference's outline in the photo).
function squareToQuad(q) {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
  const dx1 = x1 - x2, dx2 = x3 - x2, dx3 = x0 - x1 + x2 - x3;
  const dy1 = y1 - y2, dy2 = y3 - y2, dy3 = y0 - y1 + y2 - y3;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = den ? (dx3 * dy2 - dx2 * dy3) / den : 0;
  const h = den ? (dx1 * dy3 - dx3 * dy1) / den : 0;
  const a = x1 - x0 + g * x1, b = x3 - x0 + h * x3, d = y1 - y0 + g * y1, e = y3 - y0 + h * y3;
  return (u, v) => {
    const w = g * u + h * v + 1;
    return [(a * u + b * v + x0) / w, (d * u + e * v + y0) / w];
  };
}

// Parts of the reference that are not what the photo shows, by kind: the
// same colours as `provenance search --explain`.
const PART_COLOURS = { d: "#e61414", "+": "#dc00dc", m: "#ff9600", o: "#808080" };
// Below this colour agreement the photo shows the design in other colours
// (src/search/colour.rs, COLOUR_AGREES).
const COLOUR_AGREES = 0.3;
const PART_WORDS = { d: "differ", "+": "added in the photo", m: "missing from the photo", o: "outside the photo" };

// What was found small in the photo (its box under a third of the photo's
// longer side: a painting on a far wall) is shown zoomed, its box and half
// its side around it, the whole photo inset in a corner with that box
// on it: as `provenance search --explain` draws it (src/search/explain.rs).
const ZOOM_BELOW = 1 / 3, CONTEXT = 0.5, INSET = 0.25;

function zoomBox(region, w, h) {
  const xs = region.map((p) => p[0]), ys = region.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const side = Math.max(x1 - x0, y1 - y0);
  if (!(side > 0) || side >= ZOOM_BELOW * Math.max(w, h)) return null;
  const m = CONTEXT * side;
  const b = [Math.max(0, x0 - m), Math.max(0, y0 - m), Math.min(w, x1 + m), Math.min(h, y1 + m)];
  return b[2] - b[0] > 1 && b[3] - b[1] > 1 ? b : null;
}

function queryFigure(canvas, match) {
  if (!canvas) return el("figure", {}, el("figcaption", { text: "your photo (not displayable here)" }));
  const c = el("canvas");
  const g = c.getContext("2d");
  const ev = match.evidence || {};
  const region = ev.region;
  const box = region && zoomBox(region, canvas.width, canvas.height);
  // Drawing is in the photo's pixels; `s` is how many canvas pixels one is.
  let s = 1;
  if (box) {
    const [x0, y0, x1, y1] = box;
    s = Math.min(canvas.width / (x1 - x0), canvas.height / (y1 - y0));
    c.width = Math.round((x1 - x0) * s); c.height = Math.round((y1 - y0) * s);
    g.drawImage(canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, c.width, c.height);
    g.setTransform(s, 0, 0, s, -x0 * s, -y0 * s);
  } else {
    c.width = canvas.width; c.height = canvas.height;
    g.drawImage(canvas, 0, 0);
  }
  const map = ev.pixel_blocks && ev.pixel_blocks.map;
  if (region && map) {
    const rows = map.split(" "), n = rows.length, at = squareToQuad(region);
    g.lineWidth = Math.max(2, c.width / 250) / s;
    rows.forEach((row, j) => [...row].forEach((p, i) => {
      if (!PART_COLOURS[p]) return;
      g.strokeStyle = PART_COLOURS[p];
      g.beginPath();
      [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]].forEach(([u, v], k) => {
        const [x, y] = at(u / n, v / n);
        k ? g.lineTo(x, y) : g.moveTo(x, y);
      });
      g.closePath();
      g.stroke();
    }));
  }
  if (region) {
    g.strokeStyle = match.object ? objectColour(match.object) : "#00e640";
    g.lineWidth = Math.max(3, c.width / 150) / s;
    g.beginPath();
    region.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.closePath();
    g.stroke();
  }
  if (box) {
    const [x0, y0, x1, y1] = box;
    g.setTransform(1, 0, 0, 1, 0, 0);
    const t = Math.min(INSET * c.height / canvas.height, c.width / 2 / canvas.width);
    const bw = canvas.width * t + 4, bh = canvas.height * t + 4;
    // In the corner that covers least of the region (left ones first: the
    // region's own box in the canvas).
    const xs = region.map((p) => (p[0] - x0) * s), ys = region.map((p) => (p[1] - y0) * s);
    const f = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    const overlap = ([x, y]) =>
      Math.max(0, Math.min(f[2], x + bw) - Math.max(f[0], x)) * Math.max(0, Math.min(f[3], y + bh) - Math.max(f[1], y));
    const [ix, iy] = [[0, 0], [0, c.height - bh], [c.width - bw, 0], [c.width - bw, c.height - bh]]
      .reduce((best, k) => (overlap(k) < overlap(best) ? k : best));
    g.fillStyle = "#fff";
    g.fillRect(ix, iy, bw, bh);
    g.drawImage(canvas, ix + 2, iy + 2, bw - 4, bh - 4);
    g.strokeStyle = "#00e640";
    g.lineWidth = 2;
    g.strokeRect(ix + 2 + x0 * t, iy + 2 + y0 * t, (x1 - x0) * t, (y1 - y0) * t);
  }
  const said = box ? "your photo, zoomed on the matched region (the whole photo inset in the corner that hides least of it)" : "your photo";
  return el("figure", {}, c, el("figcaption", { text: region ? said + ": matched region outlined" + (map ? ", parts that differ marked" : "") : "your photo" }));
}

// Colours of the objects found in one photo, in their numbers' order.
const OBJECT_COLOURS = ["#00e640", "#00aaff", "#ff9600", "#dc00dc", "#e61414", "#00c8b4", "#8c64ff", "#ffd200"];

function objectColour(n) { return OBJECT_COLOURS[(n - 1) % OBJECT_COLOURS.length]; }

// The photo once, with the region of every object found outlined and
// numbered like its card.
function overviewFigure(canvas, objects) {
  const c = el("canvas", { class: "overview-photo" });
  c.width = canvas.width; c.height = canvas.height;
  const g = c.getContext("2d");
  g.drawImage(canvas, 0, 0);
  const r = Math.max(10, c.width / 45);
  for (const m of objects) {
    const region = m.evidence.region, colour = objectColour(m.object);
    g.strokeStyle = colour;
    g.lineWidth = Math.max(3, c.width / 150);
    g.beginPath();
    region.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.closePath();
    g.stroke();
    const cx = region.reduce((s, p) => s + p[0], 0) / 4, cy = region.reduce((s, p) => s + p[1], 0) / 4;
    g.fillStyle = colour;
    g.beginPath();
    g.arc(cx, cy, r, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = "#000";
    g.font = "bold " + Math.round(r * 1.3) + "px system-ui, sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(String(m.object), cx, cy);
  }
  return el("figure", { class: "overview", "data-objects": String(objects.length) }, c,
    el("figcaption", { text: objects.length + " objects found in your photo, each numbered as its card" }));
}

// What differs between the photo and the record's picture, in words: its
// parts, then its colours.
function differences(m) {
  const ev = m.evidence || {};
  const parts = partDifferences(m, ev.pixel_blocks);
  const a = ev.colour_agreement;
  if (typeof a !== "number" || a >= COLOUR_AGREES) return parts;
  const colours = el("p", { class: "differences colours", text: "Coloured otherwise than the record's picture (colour agreement " + a.toFixed(2) + "): the same design in other colours, a colourway or a copy, not this object unless coloured light explains it." });
  return parts ? el("div", {}, parts, colours) : colours;
}

function partDifferences(m, b) {
  if (!b) return null;
  const total = b.agree + b.differ + b.missing + b.outside;
  const parts = [["d", b.differ], ["+", b.added], ["m", b.missing], ["o", b.outside]]
    .filter(([, k]) => k > 0).map(([p, k]) => k + " " + PART_WORDS[p]);
  if (m.verdict !== "partial" && parts.length === 0 && !b.off_backdrop) return null;
  const lead = m.verdict === "partial"
    ? "Shares only part of its picture with your photo: not the same object. "
    : "";
  return el("p", { class: "differences" + (m.verdict === "partial" ? " partial" : "") },
    lead + "Parts of the record's picture: " + b.agree + " of " + total + " agree" + (parts.length ? "; " + parts.join(", ") : "") + "." + fineParts(b));
}

// The same count in parts a quarter as large: a detail that half covers a part shows less there.
function fineParts(b) {
  const f = b.fine;
  if (!f) return "";
  const total = f.agree + f.differ + f.missing + f.outside;
  const off = b.off_backdrop ? " Judged as the object off the record's plain backdrop: what surrounds it in your photo is not compared." : "";
  return (total ? " In parts a quarter as large, " + f.agree + " of " + total + " agree." : "") + off;
}

// Objects made in multiples: the picture proves the design, these fields the object.
function multiples(r) {
  if (!r.made_in_multiples) return null;
  const box = el("div", { class: "multiples" },
    el("p", { text: "Made in multiples (" + (r.object_type || "object") + "): a visual match means the same design, not necessarily this object. Compare:" }));
  const dl = el("dl");
  dl.append(el("dt", { text: "Inscriptions" }), el("dd", { text: r.inscriptions || "none recorded" }));
  dl.append(el("dt", { text: "Distinguishing features" }), el("dd", { text: r.features || "none recorded" }));
  box.append(dl);
  return box;
}

function fields(r) {
  const dl = el("dl");
  for (const [k, label] of [["title", "Title"], ["maker", "Maker"], ["date", "Date"], ["object_type", "Type"], ["status", "Status"], ["source", "Source"]]) {
    if (r[k]) dl.append(el("dt", { text: label }), el("dd", { text: r[k] }));
  }
  return dl;
}

// An expert's decision on this candidate for this photo, in words.
function reviewText(r) {
  return "Reviewed: " + r.decision + " by " + r.by + " at " + r.at + (r.note ? ": " + r.note : "");
}

// Confirm or reject a candidate for this photo (experts; an officer's key
// is refused, and the card says so).
function reviewBox(m, sha) {
  const shown = el("p", { class: "review" + (m.review ? " " + m.review.decision : ""), text: m.review ? reviewText(m.review) : "" });
  const note = el("input", { class: "review-note", placeholder: "note (optional)", "aria-label": "review note" });
  const send = (decision) => async () => {
    try {
      const resp = await api("/v1/reviews", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ photo_sha256: sha, record: m.id, decision, note: note.value.trim() }),
      });
      const r = (await resp.json()).review;
      shown.className = "review " + r.decision;
      shown.textContent = reviewText(r);
    } catch (e) { shown.className = "review error"; shown.textContent = e.message; }
  };
  const confirm = el("button", { type: "button", class: "confirm", text: "Confirm" });
  const reject = el("button", { type: "button", class: "reject", text: "Reject" });
  confirm.addEventListener("click", send("confirmed"));
  reject.addEventListener("click", send("rejected"));
  return el("div", { class: "review-box" }, shown, el("div", { class: "review-actions" }, note, confirm, reject));
}

// Words given with a photo order close candidates only, never a match.
function wordsNote(w) {
  if (w.reordered) return "Your words changed the order of candidates the photo alone could not tell apart; scores and verdicts are the photo's.";
  if (w.applied) return "Your words did not change the order.";
  return "Your words were not used to order the results: the photo gives a match.";
}

async function card(m, canvas, sha, alternative = false) {
  const ev = m.evidence || {};
  const head = el("div", { class: "head" },
    m.object ? objectLabel(m.object, alternative) : "",
    // A peer's record is read at the peer, not here.
    m.peer ? el("span", { class: "rid", text: m.id }) : recordLink(m.id, "rid"),
    el("span", { class: "verdict " + m.verdict, text: m.verdict }),
    m.borderline ? el("span", { class: "borderline", text: "borderline" }) : "");
  const from = m.peer ? " · from " + m.peer : "";
  const score = el("p", { class: "muted", text: "score " + m.score.toFixed(2) + (ev.inliers ? " · " + ev.inliers + " agreeing points" : "") + (m.words != null ? " · words " + m.words.toFixed(2) : "") + from });
  const c = el("article", { class: "card", "data-id": m.id, "data-verdict": m.verdict, "data-peer": m.peer || "", "data-object": m.object || "" }, head, score);
  if (m.borderline) {
    c.dataset.borderline = "true";
    c.append(el("p", { class: "note borderline-note", text: "Borderline: a re-taken or re-saved photo changes a verdict this close to its threshold about one time in three. Take another photo before acting on it." }));
  }
  if (m.cut_off) {
    c.dataset.cutOff = "true";
    c.append(el("p", { class: "note cut-off-note", text: "Cut off: most of this picture lies outside your photo, which cannot tell a close-up of it from a detail another picture shares. Photograph the whole object and search again." }));
  }
  const diff = differences(m);
  if (diff) c.append(diff);
  const status = (m.record || {}).status;
  if (status === "recovered" || status === "disputed") {
    c.append(el("p", { class: "note", text: "Recorded as " + status + ": shown for information, not an alarm." }));
  }
  if (m.image_url) {
    const ref = await authImage(m.image_url + "?max=800", "reference photo of " + m.id);
    c.append(el("div", { class: "pair" }, queryFigure(canvas, m), el("figure", {}, ref, el("figcaption", { text: "database photo" }))));
  }
  const multi = multiples(m.record);
  if (multi) c.append(multi);
  c.append(fields(m.record));
  if (sha && expert()) c.append(reviewBox(m, sha));
  return c;
}

// "object N" in its outline's colour (set as a property: the page's
// content security policy refuses inline style attributes).
function objectLabel(n, alternative) {
  const e = el("span", { class: "object", text: "object " + n + (alternative ? ", also" : "") });
  e.style.background = objectColour(n);
  return e;
}

// The search in flight: a new one cancels it, and only the latest one's
// answer is shown (an officer retrying on a slow line must not see the
// previous photo's results under the new one).
let searching = null;
const SEARCH_TIMEOUT_MS = 90000;

$("#search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("#photo").files[0];
  if (!file) return;
  if (searching) searching.abort();
  const mine = new AbortController();
  searching = mine;
  const timer = setTimeout(() => mine.abort(), SEARCH_TIMEOUT_MS);
  const current = () => searching === mine;
  const status = $("#search-status"), out = $("#results");
  out.replaceChildren();
  status.className = "status";
  status.textContent = "Preparing photo…";
  await keyRole();
  const photo = await preparePhoto(file);
  if (!current()) return;
  const form = new FormData();
  form.append("photo", photo.blob, photo.name);
  if ($("#type").value.trim()) form.append("type", $("#type").value.trim());
  if ($("#words").value.trim()) form.append("text", $("#words").value.trim());
  if ($("#keep").checked) {
    form.append("keep", "true");
    if ($("#case").value.trim()) form.append("case", $("#case").value.trim());
  }
  status.textContent = "Searching…";
  try {
    const res = await (await api("/v1/search", { method: "POST", body: form, signal: mine.signal })).json();
    if (!current()) return;
    const db = res.database;
    const strong = res.matches.filter((m) => m.verdict !== "none");
    const found = new Set(strong.map((m) => m.object).filter((o) => o)).size;
    status.textContent = strong.length
      ? strong.length + " candidate(s)" + (found > 1 ? " for " + found + " objects" : "") + " among " + db.records + " records"
      : "No match among " + db.records + " records (" + db.images + " images).";
    if (res.sighting) status.textContent += "; kept as sighting " + res.sighting;
    if (res.peers && res.peers.length) out.append(peerLine(res.peers));
    if (res.note) out.append(el("p", { class: "note", text: res.note }));
    if (res.words) out.append(el("p", { class: "note words", text: wordsNote(res.words) }));
    // A card per object found, its best result first, then the other
    // candidates for the same object (a variant, a shared detail), each
    // marked; and the photo once with every object numbered.
    const groups = new Map(), loose = [];
    for (const m of strong) {
      if (!m.object) loose.push(m);
      else if (groups.has(m.object)) groups.get(m.object).push(m);
      else groups.set(m.object, [m]);
    }
    const objects = [...groups.values()].map((g) => g[0]).filter((m) => m.evidence && m.evidence.region);
    if (objects.length > 1 && photo.canvas) out.append(overviewFigure(photo.canvas, objects));
    const sha = res.query && res.query.sha256;
    // Cards made side by side (each fetches its database photo), shown in order.
    const made = [];
    for (const group of groups.values()) {
      for (const [i, m] of group.entries()) made.push(card(m, photo.canvas, sha, i > 0));
    }
    for (const m of loose) made.push(card(m, photo.canvas, sha));
    const cards = await Promise.all(made);
    if (!current()) return;
    out.append(...cards);
    // Weak candidates are not matches; listed for the expert, folded away.
    const weak = res.matches.filter((m) => m.verdict === "none").slice(0, 5);
    if (weak.length) {
      const list = el("ul");
      for (const m of weak) {
        list.append(el("li", {}, recordLink(m.id, "wid"),
          " " + (m.record.title || "") + " (score " + m.score.toFixed(2) + ")"));
      }
      out.append(el("details", { class: "weak" }, el("summary", { text: weak.length + " weak candidate(s), not matches" }), list));
    }
  } catch (e) {
    if (!current()) return;
    status.className = "status error";
    status.textContent = e.name === "AbortError"
      ? "The server did not answer in " + SEARCH_TIMEOUT_MS / 1000 + " s. Check the connection and press Search again."
      : e.message;
  } finally {
    clearTimeout(timer);
    if (current()) searching = null;
  }
});

// Which other servers were searched, and which did not answer.
function peerLine(peers) {
  // A peer sent only the photo's descriptors is said to be: the officer
  // knows what left the building.
  const ok = peers
    .filter((p) => p.ok)
    .map((p) => p.name + " (" + p.records + " records" +
      (p.sent === "descriptors" ? "; sent descriptors, not the photo" : "") + ")");
  const down = peers.filter((p) => !p.ok).map((p) => p.name + " (" + p.error + ")");
  const parts = [];
  if (ok.length) parts.push("Also searched: " + ok.join(", ") + ".");
  if (down.length) parts.push("Did not answer: " + down.join("; ") + ".");
  return el("p", { class: "peers" + (down.length ? " down" : ""), text: parts.join(" ") });
}

$("#text-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const p = new URLSearchParams({ q: $("#q").value, top: "20" });
  if ($("#t-type").value.trim()) p.set("type", $("#t-type").value.trim());
  if ($("#t-status").value) p.set("status", $("#t-status").value);
  if ($("#t-source").value.trim()) p.set("source", $("#t-source").value.trim());
  const status = $("#text-status"), out = $("#text-results");
  out.replaceChildren();
  status.className = "status";
  status.textContent = "Searching…";
  try {
    await keyRole();
    const res = await (await api("/v1/search/text?" + p)).json();
    status.textContent = res.matches.length + " record(s) among " + res.database.records;
    for (const m of res.matches) {
      out.append(el("article", { class: "card", "data-id": m.id },
        el("div", { class: "head" }, recordLink(m.id, "rid")),
        fields(m.record)));
    }
  } catch (e) {
    status.className = "status error";
    status.textContent = e.message;
  }
});

async function showRecord(id) {
  const out = $("#record");
  out.replaceChildren(el("p", { text: "Loading…" }));
  try {
    const r = (await (await api("/v1/records/" + encodeURIComponent(id))).json()).record;
    const dl = el("dl");
    for (const [k, v] of Object.entries(r)) {
      if (k !== "images" && v !== "" && v != null) dl.append(el("dt", { text: k }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) }));
    }
    const photos = el("div", { class: "photos" });
    photos.append(...await Promise.all(r.images.map((url) => authImage(url + "?max=1200", "photo of " + id))));
    out.replaceChildren(el("h1", { text: r.title || r.id }), multiples(r) || "", dl, el("h2", { text: r.images.length + " photo(s)" }), photos);
  } catch (e) {
    out.replaceChildren(el("p", { class: "error", text: e.message }));
  }
}

// A case number goes with a kept sighting only: the field waits for "Keep".
function caseField() { $("#case").disabled = !$("#keep").checked; }
$("#keep").addEventListener("change", caseField);
caseField();

// Back to where the officer came from (an inline `javascript:` link is
// refused by the page's content security policy).
$("#back").addEventListener("click", (ev) => {
  ev.preventDefault();
  if (history.length > 1) history.back(); else location.hash = "#/";
});

window.addEventListener("hashchange", route);
route();
