/* recording-auditor report: findings by recording or one per row, and the inventory, over embedded data.
 *
 * The data (<script type="application/json" id="report-data">) is embedded once and compactly:
 *   columns      the column maps of the rows below: {findings: {SEV: 0, ...}, recordings: {...},
 *                suppressions: {...}}; auditor/outputs/html/rows.py defines them, once
 *   strings      every distinct text (locations, messages, evidence JSON ...); rows hold indexes, -1 = none
 *   findings     one row per finding, read by column name through columns.findings
 *   recordings   one row per recording, read through columns.recordings
 * Only one page of rows is ever in the DOM, so 100,000 findings stay smooth. All text goes in
 * through textContent: nothing from the data is parsed as HTML.
 *
 * A merged report (auditor merge) keeps each scope's rows in its own script element,
 * id="report-part-K", listed in D.parts: {strings, findings, recordings}, the rows as columns,
 * whose string indexes count on from the shared D.strings; a fingerprint of 0 is computed here. In a large merge (D.lazy) a part is gzip in base64 and is
 * read when its scope is first shown, so the report opens on one scope of 1,000,000 findings.
 */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const S = D.strings;
  const F = D.columns.findings;
  const R = D.columns.recordings;
  const SUP = D.columns.suppressions;
  const PAGE_SIZES = [25, 50, 100, 250];
  const PRINT_LIMIT = 1000;
  const SNIPPET_DAYS = 90; // the expiry the "to accept it" lines propose: review an accepted risk

  const str = (i) => (i >= 0 ? S[i] : "");
  const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
  const NAMED = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  function vis(text) {
    return String(text).replace(INVISIBLE, (c) => {
      if (NAMED[c]) return NAMED[c];
      const code = c.charCodeAt(0);
      // As the terminal and the template show them (auditor.textsafe.for_terminal): \xNN below 0x80.
      return code < 0x80 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
    });
  }
  // No control character reaches a text node raw, whatever the caller passed (as in the template).
  const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
  function clean(text) {
    return String(text).replace(CONTROL, (c) => {
      const code = c.charCodeAt(0);  // \xNN below 0x80, \u0085 above, as everywhere else
      return code < 0x80 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
    });
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = clean(text);
    return e;
  }
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => n.toLocaleString("en-US");
  const plural = (n, word, many) => fmt(n) + " " + (n === 1 ? word : many || word + "s");
  // A path that may wrap after each "/", shown as `vis` shows it.
  function pathNode(text, cls) {
    const code = el("code", cls || "path");
    const parts = vis(text).split("/");
    parts.forEach((part, i) => {
      if (i) {
        code.appendChild(document.createTextNode("/"));
        code.appendChild(document.createElement("wbr"));
      }
      if (part) code.appendChild(document.createTextNode(part));
    });
    return code;
  }
  // "2026-11-22T05:11:03.123456+00:00" -> "2026-11-22 05:11 UTC"; other text as given.
  function when(iso) {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::[\d.]+)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(iso || "");
    if (!m) return iso || "—";
    if (!m[2]) return m[1];
    const utc = m[3] === "Z" || m[3] === "+00:00" || m[3] === "+0000";
    return m[1] + " " + m[2] + (utc ? " UTC" : m[3] ? " " + m[3] : "");
  }
  function sizeText(n) {
    if (typeof n !== "number") return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return (u ? n.toFixed(1) : String(n)) + " " + units[u];
  }
  function addDays(isoDay, days) {
    const t = Date.parse(isoDay + "T00:00:00Z");
    return isNaN(t) ? isoDay : new Date(t + days * 86400000).toISOString().slice(0, 10);
  }

  // Lower-cased strings, made on the first search only.
  let lower = null;
  function matchingStrings(query) {
    if (!lower) lower = S.map((s) => s.toLowerCase());
    const hit = new Uint8Array(S.length);
    for (let i = 0; i < lower.length; i++) if (lower[i].indexOf(query) !== -1) hit[i] = 1;
    return hit;
  }
  // Sort ranks of strings (code-point order), made once per column on first use: `of[index + 1]`
  // (index -1, none, ranks first), in a typed array rather than a Map, since a merge of 1,000,000
  // findings sorts by them.
  const rankCache = {};
  function ranks(rows, col) {
    if (rankCache[col]) return rankCache[col];
    const seen = new Uint8Array(S.length + 1);
    const used = [];
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i][col] + 1;
      if (!seen[v]) {
        seen[v] = 1;
        used.push(v - 1);
      }
    }
    used.sort((a, b) => {
      const x = str(a), y = str(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const of = new Int32Array(S.length + 1);
    used.forEach((v, i) => (of[v + 1] = i));
    return (rankCache[col] = { of: of, size: used.length });
  }

  // ---------------------------------------------------------------- fingerprints
  // SHA-256 (FIPS 180-4) of bytes, as hex: a merged part leaves out each fingerprint that is
  // models.make_fingerprint(rule, location), the first 32 hex digits of SHA-256 of
  // "rule\0location\0" in UTF-8, and the script computes it when it is shown or searched.
  const K256 = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const W256 = new Uint32Array(64);
  function sha256hex(bytes) {
    const n = bytes.length;
    const blocks = Math.ceil((n + 9) / 64);
    const m = new Uint8Array(blocks * 64);
    m.set(bytes);
    m[n] = 0x80;
    const bits = n * 8;
    const view = new DataView(m.buffer);
    view.setUint32(m.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(m.length - 4, bits >>> 0);
    let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
    let h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    const w = W256;
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) w[t] = view.getUint32(off + t * 4);
      for (let t = 16; t < 64; t++) {
        const a = w[t - 15], b = w[t - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    return [h0, h1, h2, h3, h4, h5, h6, h7].map((x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
  }
  const utf8 = new TextEncoder();
  // A row's fingerprint, computed once when the part left it out (0).
  function fpOf(r) {
    if (r[F.FP] === 0) r[F.FP] = sha256hex(utf8.encode(D.rules[r[F.RULE]].id + "\0" + str(r[F.LOC]) + "\0")).slice(0, 32);
    return r[F.FP];
  }

  // ---------------------------------------------------------------- pager
  function Pager(container, onChange, noun) {
    this.page = 0;
    this.size = 50;
    this.total = 0;
    const first = el("button", "", "« First"), prev = el("button", "", "‹ Prev");
    const next = el("button", "", "Next ›"), last = el("button", "", "Last »");
    const info = el("span", "page-of");
    const sizeSel = el("select");
    sizeSel.setAttribute("aria-label", noun + " per page");
    PAGE_SIZES.forEach((n) => {
      const o = el("option", "", n + " per page");
      o.value = String(n);
      if (n === this.size) o.selected = true;
      sizeSel.appendChild(o);
    });
    [first, prev, next, last].forEach((b) => (b.type = "button"));
    container.append(first, prev, info, next, last, sizeSel);
    const go = (p) => {
      this.page = Math.max(0, Math.min(p, this.pages() - 1));
      onChange();
    };
    first.addEventListener("click", () => go(0));
    prev.addEventListener("click", () => go(this.page - 1));
    next.addEventListener("click", () => go(this.page + 1));
    last.addEventListener("click", () => go(this.pages() - 1));
    sizeSel.addEventListener("change", () => {
      this.size = Number(sizeSel.value);
      go(0);
    });
    this.update = () => {
      info.textContent = "Page " + fmt(this.page + 1) + " of " + fmt(this.pages());
      first.disabled = prev.disabled = this.page === 0;
      next.disabled = last.disabled = this.page >= this.pages() - 1;
    };
  }
  Pager.prototype.pages = function () {
    return Math.max(1, Math.ceil(this.total / this.size));
  };

  // ---------------------------------------------------------------- findings: filters
  const findings = D.findings;
  const recordings = D.recordings;
  const TOTAL = D.total || { findings: findings.length, recordings: recordings.length };

  // ---------------------------------------------------------------- a merged report's parts
  const PARTS = D.parts || [];
  const partState = PARTS.map(() => null); // null: not read; a Promise while it is unpacked; true: read
  const SHARED = S.length;
  const STRING_COLUMNS = D.columns.strings || { findings: [], recordings: [] };
  const FS = STRING_COLUMNS.findings.map((c) => F[c]);
  const RS = STRING_COLUMNS.recordings.map((c) => R[c]);
  // A part's strings go after those read so far; its rows' string and recording indexes move with them.
  function rowsOf(columns) {
    const n = columns.length ? columns[0].length : 0;
    const rows = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = new Array(columns.length);
      for (let c = 0; c < columns.length; c++) r[c] = columns[c][i];
      rows[i] = r;
    }
    return rows;
  }
  function addPart(p) {
    const shift = S.length - SHARED;
    const recShift = recordings.length;
    for (let i = 0; i < p.strings.length; i++) S.push(p.strings[i]);
    for (const r of rowsOf(p.findings)) {
      if (shift) for (const c of FS) if (r[c] >= SHARED) r[c] += shift;
      if (r[F.RECORDING] >= 0) r[F.RECORDING] += recShift;
      findings.push(r);
    }
    for (const r of rowsOf(p.recordings)) {
      if (shift) for (const c of RS) if (r[c] >= SHARED) r[c] += shift;
      recordings.push(r);
    }
    lower = null;
    Object.keys(rankCache).forEach((k) => delete rankCache[k]);
  }
  // gzip in base64, unpacked by the browser itself (no fetch: the CSP forbids every one).
  async function unpack(node) {
    const bin = atob(node.textContent);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  function readPart(k) {
    if (partState[k]) return partState[k];
    const node = $("report-part-" + k);
    if (node.dataset.encoding === "json") {
      addPart(JSON.parse(node.textContent));
      return (partState[k] = true);
    }
    return (partState[k] = unpack(node).then((p) => {
      addPart(p);
      partState[k] = true;
    }));
  }
  // Reads the parts a scope needs ("" = every scope): a Promise while one is still unpacked, else null.
  function need(scope) {
    const waits = [];
    PARTS.forEach((p, k) => {
      if (scope && p.scope !== scope) return;
      const state = readPart(k);
      if (state !== true) waits.push(state);
    });
    return waits.length ? Promise.all(waits) : null;
  }
  function unreadable(error) {
    $("f-count").textContent = "This browser could not read the findings (" + error + "); every finding is in the JSON result.";
    delete document.documentElement.dataset.loading;
    document.documentElement.dataset.ready = "1";
  }
  const fState = { q: "", state: "open", severity: "", category: "", rule: "", group: "", client: "", status: "", owner: "", due: "", sortKey: "sev", sortDir: 1 };
  const groupSelect = $("f-group");
  fState.group = groupSelect ? groupSelect.value : ""; // a large merge opens on its first scope
  const DEFAULT_GROUP = fState.group;
  let fView = new Int32Array(0);
  let view = document.querySelector('.view-switch [aria-pressed="true"]');
  view = view ? view.dataset.view : "findings";
  const openRows = new Set();
  const sevIndex = new Map(D.severities.map((s, i) => [s, i]));
  const catIndex = new Map(D.categories.map((c, i) => [c, i]));
  const ruleIndex = new Map(D.rules.map((r, i) => [r.id, i]));
  const STATE_OF = { open: 0, suppressed: 1, resolved: 2 };
  function findingState(row) {
    if (row[F.STATUS] === 3) return 2;
    return row[F.SUP] >= 0 ? 1 : 0;
  }

  function filterFindings() {
    const sev = fState.severity ? sevIndex.get(fState.severity) : -1;
    const cat = fState.category ? catIndex.get(fState.category) : -1;
    const rule = fState.rule ? ruleIndex.get(fState.rule) : -1;
    const state = fState.state === "all" ? -1 : STATE_OF[fState.state];
    const status = fState.status ? D.statuses.indexOf(fState.status) : -1;
    const q = fState.q.trim().toLowerCase();
    const hit = q ? matchingStrings(q) : null;
    const hexQ = /^[0-9a-f]+$/.test(q); // only such a query can be the start of a fingerprint
    const ruleHit = q ? D.rules.map((r) => (r.id + " " + r.title).toLowerCase().indexOf(q) !== -1) : null;
    const client = fState.client.trim().toLowerCase();
    const clientHit = client ? (lower || (lower = S.map((s) => s.toLowerCase()))) : null;
    const groupIdx = fState.group ? S.indexOf(fState.group) : -1;
    const ownerIdx = fState.owner && fState.owner !== "-" ? S.indexOf(fState.owner) : -1;
    const out = new Int32Array(findings.length);
    let n = 0;
    for (let i = 0; i < findings.length; i++) {
      const r = findings[i];
      if (sev >= 0 && r[F.SEV] !== sev) continue;
      if (cat >= 0 && r[F.CAT] !== cat) continue;
      if (rule >= 0 && r[F.RULE] !== rule) continue;
      if (state >= 0 && findingState(r) !== state) continue;
      if (status >= 0 && r[F.STATUS] !== status) continue;
      if (fState.group && r[F.GROUP] !== groupIdx) continue;
      if (clientHit && (r[F.CLIENT] < 0 || clientHit[r[F.CLIENT]].indexOf(client) === -1)) continue;
      if (fState.owner === "-" ? r[F.OWNER] >= 0 : fState.owner && r[F.OWNER] !== ownerIdx) continue;
      if (fState.due === "overdue" && !overdue(r)) continue;
      if (fState.due === "none" && r[F.DUE] >= 0) continue;
      if (hit) {
        if (!(hit[r[F.LOC]] || (r[F.MSG] >= 0 && hit[r[F.MSG]]) || (r[F.CLIENT] >= 0 && hit[r[F.CLIENT]]) || (r[F.OWNER] >= 0 && hit[r[F.OWNER]]) || ruleHit[r[F.RULE]] || (hexQ && fpOf(r).indexOf(q) === 0))) continue;
      }
      out[n++] = i;
    }
    fView = out.slice(0, n);
    sortFindings();
    groupByRecording();
  }

  // By the chosen column (either way), then severity, then location, then as embedded: one
  // number per row (exact below 2^53), so a million rows sort without a comparator's lookups.
  function sortFindings() {
    const dir = fState.sortDir;
    const loc = ranks(findings, F.LOC);
    let key, span;
    if (fState.sortKey === "sev") [key, span] = [(r) => r[F.SEV], D.severities.length];
    else if (fState.sortKey === "rule") [key, span] = [(r) => r[F.RULE], D.rules.length];
    else if (fState.sortKey === "status") [key, span] = [(r) => r[F.STATUS], D.statuses.length];
    else if (fState.sortKey === "client") {
      const client = ranks(findings, F.CLIENT);
      [key, span] = [(r) => client.of[r[F.CLIENT] + 1], client.size];
    } else [key, span] = [(r) => loc.of[r[F.LOC] + 1], loc.size];
    const nSev = D.severities.length;
    const nLoc = loc.size;
    const keys = new Float64Array(findings.length);
    for (let k = 0; k < fView.length; k++) {
      const i = fView[k], r = findings[i];
      const first = dir > 0 ? key(r) : span - 1 - key(r);
      keys[i] = (first * nSev + r[F.SEV]) * nLoc + loc.of[r[F.LOC] + 1];
    }
    fView.sort((a, b) => keys[a] - keys[b] || a - b);
  }

  // Due before the audit day, and still open.
  function overdue(r) {
    return r[F.DUE] >= 0 && str(r[F.DUE]) < D.as_of && findingState(r) === 0;
  }
  // "Dr Rivera · due 2026-12-15" (or "overdue since ..."), "no owner".
  function ownerText(r) {
    if (r[F.OWNER] < 0) return "no owner";
    const due = r[F.DUE] >= 0 ? str(r[F.DUE]) : "";
    return vis(str(r[F.OWNER])) + (due ? (overdue(r) ? " · overdue since " : " · due ") + due : "");
  }

  // ---------------------------------------------------------------- one finding's details
  function statusLabel(r) {
    const parts = [];
    const status = D.statuses[r[F.STATUS]];
    if (status) parts.push(status);
    if (r[F.SUP] >= 0) parts.push("suppressed");
    return parts;
  }

  function evidenceNode(value) {
    if (value === null || value === undefined) return el("span", "", "—");
    if (Array.isArray(value)) {
      if (value.every((v) => v === null || typeof v !== "object")) return el("span", "", value.map((v) => vis(v === null ? "—" : v)).join(", ") || "—");
      const wrap = el("div");
      value.forEach((v) => wrap.appendChild(evidenceNode(v)));
      return wrap;
    }
    if (typeof value === "object") {
      const dl = el("dl");
      Object.keys(value).forEach((k) => {
        dl.appendChild(el("dt", "", vis(k)));
        const dd = el("dd");
        dd.appendChild(evidenceNode(value[k]));
        dl.appendChild(dd);
      });
      return dl;
    }
    return el("span", "", vis(value));
  }

  // The lines to add to .auditor-ignore.yaml, valid as pasted into a new file (tests load them).
  function acceptSnippet(fp) {
    return (
      "# .auditor-ignore.yaml - in a file that exists already, add only the entry under suppressions:\n" +
      "version: 1\n" +
      "suppressions:\n" +
      "  - fingerprint: " + fp + "\n" +
      '    reason: "Assessed by <name> on <date>: <why the risk is accepted>"\n' +
      "    expires: " + addDays(D.as_of, SNIPPET_DAYS) + "\n"
    );
  }

  // A location as a suppression glob that matches it and nothing else ("*", "?" and "[" made literal),
  // quoted as a YAML double-quoted scalar (JSON's escapes are YAML's).
  function literalGlob(location) {
    return JSON.stringify(location.replace(/[[*?]/g, (c) => "[" + c + "]"));
  }
  function notRecordingSnippet(location) {
    return (
      "# .auditor-ignore.yaml - in a file that exists already, add only the entry under suppressions:\n" +
      "version: 1\n" +
      "suppressions:\n" +
      "  - location: " + literalGlob(location) + "\n" +
      "    not_a_session_recording: true\n" +
      '    reason: "Not a session recording: <what it is>, checked by <name> on <date>"\n' +
      "    expires: " + addDays(D.as_of, SNIPPET_DAYS) + "\n"
    );
  }

  function detailGrid(i) {
    const r = findings[i];
    const dl = el("dl", "detail-grid");
    const add = (label, node) => {
      dl.appendChild(el("dt", "", label));
      const dd = el("dd");
      if (typeof node === "string") dd.textContent = clean(node);
      else dd.appendChild(node);
      dl.appendChild(dd);
    };
    add("Message", vis(str(r[F.MSG])));
    add("Location", pathNode(str(r[F.LOC])));
    let evidence = {};
    try { evidence = JSON.parse(str(r[F.EV]) || "{}"); } catch (e) { evidence = { raw: str(r[F.EV]) }; }
    const ev = el("div", "evidence");
    ev.appendChild(evidenceNode(evidence));
    add("Evidence", ev);
    let controls = [];
    try { controls = JSON.parse(str(r[F.CTL]) || "[]"); } catch (e) { controls = []; }
    const cl = el("div", "controls-list");
    controls.forEach((c) => cl.appendChild(el("span", "pill", c)));
    if (!controls.length) cl.textContent = "—";
    add("Controls", cl);
    add("Remediation", str(r[F.REM]) || "—");
    const rule = D.rules[r[F.RULE]];
    add("Rule", rule.title + " (" + rule.id + ")");
    add("Owner", ownerText(r));
    if (r[F.FIRST] >= 0) add("First seen", when(str(r[F.FIRST])));
    add("Fingerprint", el("code", "hash", fpOf(r) || "—"));
    if (r[F.SUP] >= 0) {
      const s = D.suppressions[r[F.SUP]];
      add("Suppressed", vis(s[SUP.REASON]) + (s[SUP.EXPIRES] ? " (until " + s[SUP.EXPIRES] + ")" : "") + (s[SUP.LINE] ? ", " + vis(s[SUP.FILE] || "") + " line " + s[SUP.LINE] : ""));
    } else if (fpOf(r) && D.statuses[r[F.STATUS]] !== "resolved") {
      add("To accept it", el("pre", "snippet", acceptSnippet(fpOf(r))));
    }
    return dl;
  }

  // A button that shows and hides a details block (aria-expanded on the button, not on a row).
  // The block is filled on first opening: a page of 50 recordings then holds 50 cards, not
  // 200 evidence grids nobody opened.
  let detailIds = 0;
  const fillers = new Map();
  function disclosure(label, target, fill) {
    const id = "d-" + ++detailIds;
    target.id = id;
    target.hidden = true;
    const b = el("button", "disclose", label);
    b.type = "button";
    b.setAttribute("aria-controls", id);
    b.setAttribute("aria-expanded", "false");
    fillers.set(id, fill);
    return b;
  }
  function setOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    const id = button.getAttribute("aria-controls");
    const target = $(id);
    if (!target) return;
    if (open && fillers.has(id)) {
      fillers.get(id)(target);
      fillers.delete(id);
    }
    target.hidden = !open;
  }

  // ---------------------------------------------------------------- view 1: one row per finding
  function findingRow(i, expanded) {
    const r = findings[i];
    const tr = el("tr", "row");
    tr.dataset.index = String(i);
    const sev = D.severities[r[F.SEV]];
    const tdSev = el("td");
    tdSev.appendChild(el("span", "sev sev-chip-" + sev, sev));
    const rule = D.rules[r[F.RULE]];
    const tdRule = el("td");
    tdRule.appendChild(el("span", "", rule.title));
    tdRule.appendChild(el("span", "rule-id", rule.id));
    const tdLoc = el("td");
    tdLoc.appendChild(pathNode(str(r[F.LOC])));
    tdLoc.appendChild(el("span", "msg", vis(str(r[F.MSG]))));
    const tdClient = el("td", "nowrap", r[F.CLIENT] >= 0 ? vis(str(r[F.CLIENT])) : "—");
    const tdStatus = el("td");
    statusLabel(r).forEach((s) => tdStatus.appendChild(el("span", "pill pill-" + s, s)));
    tdStatus.appendChild(el("span", "owner", r[F.OWNER] >= 0 ? vis(str(r[F.OWNER])) : "no owner"));
    if (r[F.DUE] >= 0) tdStatus.appendChild(el("span", "owner moment" + (overdue(r) ? " overdue" : ""), (overdue(r) ? "overdue since " : "due ") + str(r[F.DUE])));
    tr.append(tdSev, tdRule, tdLoc, tdClient, tdStatus);
    const detail = el("tr", "detail");
    const td = el("td");
    td.colSpan = 5;
    detail.appendChild(td);
    const button = disclosure("Details", detail, () => td.appendChild(detailGrid(i)));
    button.setAttribute("aria-label", "Details of " + rule.id + " at " + vis(str(r[F.LOC])));
    tdSev.appendChild(button);
    if (expanded) {
      tr.classList.add("open");
      detail.hidden = false;
      td.appendChild(detailGrid(i));
      fillers.delete(detail.id);
      button.setAttribute("aria-expanded", "true");
    }
    return [tr, detail];
  }

  function toggleRow(tr) {
    const i = Number(tr.dataset.index);
    const open = !openRows.has(i);
    if (open) openRows.add(i);
    else openRows.delete(i);
    tr.classList.toggle("open", open);
    setOpen(tr.querySelector("button.disclose"), open);
  }

  const fBody = $("f-body");
  const fPager = new Pager($("f-pager"), () => render(), "Findings");
  function renderFindings(limit) {
    fPager.total = fView.length;
    if (fPager.page >= fPager.pages()) fPager.page = fPager.pages() - 1;
    const start = typeof limit === "number" ? 0 : fPager.page * fPager.size;
    const end = Math.min(fView.length, typeof limit === "number" ? limit : start + fPager.size);
    const frag = document.createDocumentFragment();
    for (let k = start; k < end; k++) {
      const i = fView[k];
      frag.append(...findingRow(i, openRows.has(i) || typeof limit === "number"));
    }
    if (end === start) {
      const tr = el("tr");
      const td = el("td", "empty", "No findings match these filters.");
      td.colSpan = 5;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    fBody.replaceChildren(frag);
    fPager.update();
    return [start, end];
  }

  fBody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr.row");
    if (!tr || window.getSelection().toString()) return;
    toggleRow(tr);
  });

  // ---------------------------------------------------------------- view 2: by recording
  // Groups of the filtered findings by location, worst first: one card per recording.
  let groups = [];
  function groupByRecording() {
    const byLoc = new Map();
    for (let k = 0; k < fView.length; k++) {
      const i = fView[k];
      const loc = findings[i][F.LOC];
      let g = byLoc.get(loc);
      if (!g) byLoc.set(loc, (g = { loc: loc, rec: findings[i][F.RECORDING], items: [], worst: 99 }));
      g.items.push(i);
      if (findings[i][F.SEV] < g.worst) g.worst = findings[i][F.SEV];
    }
    const locRank = ranks(findings, F.LOC).of;
    groups = Array.from(byLoc.values());
    groups.forEach((g) => g.items.sort((a, b) => findings[a][F.SEV] - findings[b][F.SEV] || findings[a][F.RULE] - findings[b][F.RULE] || a - b));
    groups.sort((a, b) => a.worst - b.worst || b.items.length - a.items.length || locRank[a.loc + 1] - locRank[b.loc + 1]);
  }

  function factsList(g) {
    const dl = el("dl", "rec-facts");
    const add = (label, text) => {
      const div = el("div");
      div.append(el("dt", "", label), el("dd", "", text));
      dl.appendChild(div);
    };
    const rec = g.rec >= 0 ? recordings[g.rec] : null;
    const first = findings[g.items[0]];
    const owners = Array.from(new Set(g.items.map((i) => ownerText(findings[i]))));
    const client = rec ? str(rec[R.CLIENT]) : str(first[F.CLIENT]);
    const people = rec ? str(rec[R.PEOPLE]) : "";
    add("Client", client ? vis(client) + (people ? " with " + vis(people) : "") : "not attributed (unknown individual)");
    if (rec) {
      add("Session", str(rec[R.SESSION]) || (str(rec[R.REC]) ? "recorded " + str(rec[R.REC]) : "unknown"));
      add("Kind", (str(rec[R.MEDIA]) || "unknown") + " · " + sizeText(rec[R.SIZE]));
      add("Encryption", D.encryption[rec[R.ENC]] + (str(rec[R.ENCTXT]) ? " (" + str(rec[R.ENCTXT]) + ")" : ""));
      if (rec[R.NOTREC] >= 0) add("Suppressed", vis(str(rec[R.NOTREC])));
    } else {
      add("Kind", str(first[F.LOC]).indexOf("s3://") === 0 ? "S3 bucket or object" : "not in the inventory");
    }
    add("Owner", owners.join("; "));
    if (g.items.some((i) => overdue(findings[i]))) dl.lastChild.classList.add("overdue");
    return dl;
  }

  function recordingCard(g, printing) {
    const li = el("li", "rec");
    const head = el("div", "rec-head");
    const sev = D.severities[g.worst];
    head.appendChild(el("span", "sev sev-chip-" + sev, sev));
    const h = el("h3", "rec-where");
    h.appendChild(pathNode(str(g.loc)));
    head.appendChild(h);
    li.appendChild(head);
    li.appendChild(factsList(g));
    const list = el("ul", "rec-findings");
    const remedies = [];
    const seen = new Set();
    g.items.forEach((i) => {
      const r = findings[i];
      const item = el("li");
      const line = el("div", "rec-finding");
      const s = D.severities[r[F.SEV]];
      line.appendChild(el("span", "sev sev-chip-" + s, s));
      const text = el("div", "rec-text");
      const rule = D.rules[r[F.RULE]];
      const title = el("strong", "", rule.title);
      text.appendChild(title);
      text.appendChild(el("span", "rule-id", rule.id));
      statusLabel(r).forEach((st) => text.appendChild(el("span", "pill pill-" + st, st)));
      text.appendChild(el("span", "msg", vis(str(r[F.MSG]))));
      line.appendChild(text);
      item.appendChild(line);
      if (!printing) {
        const box = el("div", "rec-detail");
        const button = disclosure("Evidence and fingerprint", box, () => box.appendChild(detailGrid(i)));
        button.dataset.index = String(i);
        button.setAttribute("aria-label", "Evidence and fingerprint of " + rule.id);
        text.appendChild(button);
        item.appendChild(box);
        if (openRows.has(i)) pending.push(button);
      } else {
        text.appendChild(el("span", "rule-id", "fingerprint " + (fpOf(r) || "—")));
      }
      list.appendChild(item);
      if (r[F.REM] >= 0 && !seen.has(r[F.REM]) && findingState(r) === 0) {
        seen.add(r[F.REM]);
        remedies.push(str(r[F.REM]));
      }
    });
    li.appendChild(list);
    if (!printing && g.rec >= 0 && recordings[g.rec][R.NOTREC] < 0) {
      const box = el("div", "rec-detail");
      const location = str(g.loc);
      const button = disclosure("Not a session recording?", box, () => {
        box.appendChild(el("p", "note", "If this file is not a session recording (music, a training video), these lines suppress every finding on it and the inventory says why:"));
        box.appendChild(el("pre", "snippet", notRecordingSnippet(location)));
      });
      button.classList.add("not-rec");
      li.append(button, box);
    }
    if (remedies.length) {
      const todo = el("div", "rec-todo");
      todo.appendChild(el("h4", "", "What to do"));
      const ol = el("ol");
      remedies.forEach((t) => ol.appendChild(el("li", "", t)));
      todo.appendChild(ol);
      li.appendChild(todo);
    }
    return li;
  }

  const rList = $("r-list");
  let pending = [];
  const rPager = new Pager($("r-pager"), () => render(), "Recordings");
  function renderRecordings(limit) {
    rPager.total = groups.length;
    if (rPager.page >= rPager.pages()) rPager.page = rPager.pages() - 1;
    const printing = typeof limit === "number";
    const start = printing ? 0 : rPager.page * rPager.size;
    const end = Math.min(groups.length, printing ? limit : start + rPager.size);
    const frag = document.createDocumentFragment();
    pending = [];
    for (let k = start; k < end; k++) frag.appendChild(recordingCard(groups[k], printing));
    if (end === start) frag.appendChild(el("li", "empty", "No findings match these filters."));
    rList.replaceChildren(frag);
    pending.forEach((b) => setOpen(b, true)); // details opened before a re-render stay open
    rList.start = start + 1;
    rPager.update();
    return [start, end];
  }
  rList.addEventListener("click", (e) => {
    const b = e.target.closest("button.disclose");
    if (!b) return;
    const i = Number(b.dataset.index);
    const open = b.getAttribute("aria-expanded") !== "true";
    if (open) openRows.add(i);
    else openRows.delete(i);
    setOpen(b, open);
  });

  // ---------------------------------------------------------------- both views
  function render(limit) {
    const total = TOTAL.findings;
    fillers.clear(); // the rows they would fill are about to be replaced
    if (view === "recordings") {
      const [start, end] = renderRecordings(limit);
      const shown = groups.length
        ? "Showing " + fmt(start + 1) + "–" + fmt(end) + " of " + plural(groups.length, "recording") + " with " + plural(fView.length, "matching finding") + " (" + fmt(total) + " findings in this audit)."
        : "No matching findings (" + fmt(total) + " in this audit).";
      $("f-count").textContent = shown;
    } else {
      const [start, end] = renderFindings(limit);
      $("f-count").textContent = fView.length
        ? "Showing " + fmt(start + 1) + "–" + fmt(end) + " of " + fmt(fView.length) + " matching finding" + (fView.length === 1 ? "" : "s") + " (" + fmt(total) + " in this audit)."
        : "No matching findings (" + fmt(total) + " in this audit).";
    }
    // A large merge shows one scope at a time: say so, since search and filters stay inside it.
    if (D.lazy && fState.group) $("f-count").textContent += " Only the scope " + vis(fState.group) + " is searched: choose All scopes for every one.";
  }
  function setView(name) {
    view = name;
    document.querySelectorAll(".view-switch [data-view]").forEach((b) => b.setAttribute("aria-pressed", b.dataset.view === name ? "true" : "false"));
    $("r-view").hidden = name !== "recordings";
    $("f-view").hidden = name !== "findings";
    render();
  }
  document.querySelectorAll(".view-switch [data-view]").forEach((b) => b.addEventListener("click", () => setView(b.dataset.view)));

  function refresh() {
    fPager.page = 0;
    rPager.page = 0;
    const wait = PARTS.length ? need(fState.group) : null;
    if (!wait) return show();
    document.documentElement.dataset.loading = "1";
    $("f-count").textContent = "Reading the findings of " + (fState.group ? vis(fState.group) : "every scope") + "…";
    wait.then(show, unreadable);
  }
  function show() {
    filterFindings();
    render();
    if (PARTS.length) {
      // A merged report's inventory shows the scope chosen above.
      iPager.page = 0;
      filterInventory();
      renderInventory();
    }
    delete document.documentElement.dataset.loading;
  }
  function bindFilter(id, key, event) {
    const node = $(id);
    if (!node) return;
    let timer = 0;
    node.addEventListener(event || "change", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        fState[key] = node.value;
        refresh();
      }, event === "input" ? 120 : 0);
    });
  }
  bindFilter("f-q", "q", "input");
  bindFilter("f-state", "state");
  bindFilter("f-severity", "severity");
  bindFilter("f-category", "category");
  bindFilter("f-rule", "rule");
  bindFilter("f-group", "group");
  bindFilter("f-client", "client", "input");
  bindFilter("f-status", "status");
  bindFilter("f-owner", "owner");
  bindFilter("f-due", "due");
  const FILTER_IDS = { q: "f-q", state: "f-state", severity: "f-severity", category: "f-category", rule: "f-rule", group: "f-group", client: "f-client", status: "f-status", owner: "f-owner", due: "f-due" };
  function setFilter(key, value) {
    const node = $(FILTER_IDS[key]);
    if (node) node.value = value;
    fState[key] = value;
    if (key !== "state" && fState.state !== "open" && fState.state !== "all") {
      fState.state = "open";
      $("f-state").value = "open";
    }
    refresh();
  }
  $("f-reset").addEventListener("click", () => {
    Object.keys(FILTER_IDS).forEach((k) => {
      const node = $(FILTER_IDS[k]);
      const value = k === "state" ? "open" : k === "group" ? DEFAULT_GROUP : "";
      if (node) node.value = value;
      fState[k] = value;
    });
    refresh();
  });
  document.querySelectorAll("#f-table th[data-sort]").forEach((th) => {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      fState.sortDir = fState.sortKey === key ? -fState.sortDir : 1;
      fState.sortKey = key;
      document.querySelectorAll("#f-table th[data-sort]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", fState.sortDir > 0 ? "ascending" : "descending");
      sortFindings();
      render();
    });
  });
  // Chart bars and links with data-filter narrow the findings.
  document.querySelectorAll("[data-filter]").forEach((node) => {
    const apply = (e) => {
      e.preventDefault();
      setFilter(node.dataset.filter, node.dataset.value);
      $("findings").scrollIntoView({ behavior: "smooth", block: "start" });
    };
    node.addEventListener("click", apply);
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") apply(e);
    });
  });

  // ---------------------------------------------------------------- inventory
  const iState = { q: "", enc: "", open: "", hold: "" };
  let iView = new Int32Array(0);
  function filterInventory() {
    const q = iState.q.trim().toLowerCase();
    const hit = q ? matchingStrings(q) : null;
    const enc = iState.enc === "" ? -1 : Number(iState.enc);
    const scope = PARTS.length && fState.group ? S.indexOf(fState.group) : -1;
    const out = new Int32Array(recordings.length);
    let n = 0;
    for (let i = 0; i < recordings.length; i++) {
      const r = recordings[i];
      if (enc >= 0 && r[R.ENC] !== enc) continue;
      if (scope >= 0 && r[R.GROUP] !== scope) continue;
      if (iState.open === "1" && !r[R.OPEN]) continue;
      if (iState.open === "0" && r[R.OPEN]) continue;
      if (iState.hold === "1" && r[R.HOLD] < 0) continue;
      if (hit && !(hit[r[R.LOC]] || (r[R.CLIENT] >= 0 && hit[r[R.CLIENT]]) || (r[R.MEDIA] >= 0 && hit[r[R.MEDIA]]))) continue;
      out[n++] = i;
    }
    iView = out.slice(0, n);
  }
  const iBody = $("i-body");
  const iPager = new Pager($("i-pager"), () => renderInventory(), "Recordings");
  function stacked(cls, first, second) {
    const td = el("td", cls);
    td.appendChild(el("span", "", first));
    if (second) td.appendChild(el("span", "sub", second));
    return td;
  }
  function renderInventory(limit) {
    iPager.total = iView.length;
    if (iPager.page >= iPager.pages()) iPager.page = iPager.pages() - 1;
    const start = typeof limit === "number" ? 0 : iPager.page * iPager.size;
    const end = Math.min(iView.length, typeof limit === "number" ? limit : start + iPager.size);
    const frag = document.createDocumentFragment();
    for (let k = start; k < end; k++) {
      const r = recordings[iView[k]];
      const tr = el("tr");
      const loc = el("td");
      loc.appendChild(pathNode(str(r[R.LOC])));
      if (r[R.EXP] >= 0) loc.appendChild(el("span", "sub", "exposed: " + vis(str(r[R.EXP]))));
      if (r[R.HOLD] >= 0) loc.appendChild(el("span", "sub hold", "legal hold " + vis(str(r[R.HOLD]))));
      if (r[R.NOTREC] >= 0) loc.appendChild(el("span", "sub notrec", vis(str(r[R.NOTREC]))));
      const enc = el("td");
      enc.appendChild(el("span", "pill " + ["pill-pass", "pill-neutral", "pill-fail", "pill-neutral"][r[R.ENC]], D.encryption[r[R.ENC]]));
      if (str(r[R.ENCTXT])) enc.appendChild(el("span", "sub mono", vis(str(r[R.ENCTXT]))));
      const open = el("td");
      if (r[R.OPEN]) {
        const sev = D.severities[r[R.WORST]];
        open.appendChild(el("span", "sev sev-chip-" + sev, fmt(r[R.OPEN]) + " · " + sev));
      } else if (r[R.NOTREC] >= 0) open.appendChild(el("span", "pill pill-neutral pill-wrap", "not a session recording"));
      else open.appendChild(el("span", "pill pill-pass", "compliant"));
      const client = r[R.CLIENT] >= 0 ? vis(str(r[R.CLIENT])) + (str(r[R.PEOPLE]) ? " with " + vis(str(r[R.PEOPLE])) : "") : "—";
      const session = str(r[R.SESSION]) ? "session " + str(r[R.SESSION]) : "";
      const age = r[R.AGE] === null ? "" : plural(r[R.AGE], "day") + " old";
      tr.append(
        loc,
        stacked("", client, session),
        stacked("", str(r[R.MEDIA]) || "—", sizeText(r[R.SIZE])),
        enc,
        stacked("", str(r[R.REC]) || "unknown", age),
        open
      );
      frag.appendChild(tr);
    }
    if (end === start) {
      const tr = el("tr");
      const td = el("td", "empty", "No recordings match these filters.");
      td.colSpan = 6;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    iBody.replaceChildren(frag);
    $("i-count").textContent = iView.length
      ? "Showing " + fmt(start + 1) + "–" + fmt(end) + " of " + plural(iView.length, "recording") + "."
      : "No matching recordings (" + fmt(TOTAL.recordings) + " in this audit).";
    iPager.update();
  }
  [["i-q", "q", "input"], ["i-enc", "enc"], ["i-open", "open"], ["i-hold", "hold"]].forEach(([id, key, event]) => {
    const node = $(id);
    let timer = 0;
    node.addEventListener(event || "change", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        iState[key] = node.value;
        iPager.page = 0;
        filterInventory();
        renderInventory();
      }, event === "input" ? 120 : 0);
    });
  });

  // ---------------------------------------------------------------- print: expand what is shown
  let printing = false;
  function beforePrint() {
    if (printing) return;
    printing = true;
    render(PRINT_LIMIT);
    renderInventory(Math.min(iView.length, PRINT_LIMIT));
    const many = view === "recordings" ? groups.length : fView.length;
    if (many > PRINT_LIMIT) $("f-count").textContent = "Printed the first " + fmt(PRINT_LIMIT) + " of " + fmt(many) + (view === "recordings" ? " recordings with matching findings" : " matching findings") + "; the JSON result has all of them.";
  }
  function afterPrint() {
    if (!printing) return;
    printing = false;
    render();
    renderInventory();
  }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);
  const printQuery = window.matchMedia("print");
  if (printQuery.addEventListener) printQuery.addEventListener("change", (e) => (e.matches ? beforePrint() : afterPrint()));

  function start() {
    filterFindings();
    render();
    filterInventory();
    renderInventory();
    document.documentElement.dataset.ready = "1";
  }
  const first = PARTS.length ? need(fState.group) : null;
  if (first) first.then(start, unreadable);
  else start();
})();
