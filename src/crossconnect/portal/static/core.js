/* crossconnect portal: sign-in (authorization code + PKCE), ARM/Graph calls, long-running
   operations, and small UI helpers. Plain JS, no dependencies. */
"use strict";
const Portal = (() => {
  const NET = "2024-05-01";
  const SESSION = "crossconnect.session";
  const PENDING = "crossconnect.pkce";
  const ARM_SCOPE = "https://management.azure.com/.default openid profile offline_access";
  const GRAPH_SCOPE = "https://graph.microsoft.com/.default offline_access";
  let config = null;

  // ---- crypto: random ids and SHA-256 (SubtleCrypto when available, else a small fallback) ----
  function randomBytes(n) { const a = new Uint8Array(n); crypto.getRandomValues(a); return a; }
  function b64url(bytes) {
    let s = ""; bytes.forEach(b => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function uuid() {
    const b = randomBytes(16); b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map(x => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function sha256Fallback(bytes) {
    const K = [], H = [];
    let n = 2, found = 0;
    const frac = x => ((x - Math.floor(x)) * 4294967296) | 0;
    while (found < 64) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) { if (found < 8) H[found] = frac(Math.pow(n, 1 / 2)); K[found++] = frac(Math.pow(n, 1 / 3)); }
      n++;
    }
    const len = bytes.length, words = [];
    const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
    padded.set(bytes); padded[len] = 0x80;
    const view = new DataView(padded.buffer); view.setUint32(padded.length - 4, len * 8);
    for (let i = 0; i < padded.length; i += 4) words.push(view.getUint32(i));
    const r = (x, k) => (x >>> k) | (x << (32 - k));
    for (let i = 0; i < words.length; i += 16) {
      const w = words.slice(i, i + 16); let [a, b, c, d, e, f, g, h] = H;
      for (let j = 0; j < 64; j++) {
        if (j >= 16) {
          const s0 = r(w[j - 15], 7) ^ r(w[j - 15], 18) ^ (w[j - 15] >>> 3);
          const s1 = r(w[j - 2], 17) ^ r(w[j - 2], 19) ^ (w[j - 2] >>> 10);
          w[j] = (w[j - 16] + s0 + w[j - 7] + s1) | 0;
        }
        const t1 = (h + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[j] + w[j]) | 0;
        const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, h].forEach((v, k) => { H[k] = (H[k] + v) | 0; });
    }
    const out = new Uint8Array(32); const ov = new DataView(out.buffer);
    H.forEach((v, k) => ov.setUint32(k * 4, v)); return out;
  }
  async function sha256(text) {
    const bytes = new TextEncoder().encode(text);
    if (window.crypto && crypto.subtle) return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return sha256Fallback(bytes);
  }

  // ---- session ------------------------------------------------------------------------------
  function session() { try { return JSON.parse(sessionStorage.getItem(SESSION)) || null; } catch (e) { return null; } }
  function saveSession(s) { sessionStorage.setItem(SESSION, JSON.stringify(s)); }
  function claims(token) {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  }
  function expired() { const s = session(); return !s || Date.now() / 1000 >= s.exp; }

  async function loadConfig() {
    if (!config) {
      const tenant = new URLSearchParams(location.search).get("tenant");
      const r = await fetch("/portal/config.json" + (tenant ? `?tenant=${encodeURIComponent(tenant)}` : ""));
      config = await r.json();
    }
    return config;
  }
  function redirectUri() { return `${location.origin}/portal/`; }

  async function signIn() {
    const cfg = await loadConfig();
    const verifier = b64url(randomBytes(48));
    const state = b64url(randomBytes(16));
    const challenge = b64url(await sha256(verifier));
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
    const q = new URLSearchParams({
      client_id: cfg.clientId, response_type: "code", redirect_uri: redirectUri(), scope: ARM_SCOPE,
      state, code_challenge: challenge, code_challenge_method: "S256", response_mode: "query",
    });
    location.assign(`/${cfg.tenantId}/oauth2/v2.0/authorize?${q}`);
  }

  async function tokenRequest(form) {
    const cfg = await loadConfig();
    const r = await fetch(`/${cfg.tenantId}/oauth2/v2.0/token`, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: cfg.clientId, ...form }),
    });
    const body = await r.json();
    if (!r.ok) throw new ApiError(r.status, body.error, body.error_description || body.error || `HTTP ${r.status}`);
    return body;
  }

  /** Finish a sign-in redirect (?code=...); true when the page must re-render. */
  async function completeSignIn() {
    const params = new URLSearchParams(location.search);
    if (!params.has("code") && !params.has("error")) return false;
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || "{}");
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, "", "/portal/" + (pending.hash || "#/subscriptions"));
    if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
    if (params.get("state") !== pending.state) throw new Error("The sign-in response did not match the request (state).");
    const body = await tokenRequest({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
      code_verifier: pending.verifier, scope: ARM_SCOPE,
    });
    const c = claims(body.access_token);
    saveSession({ arm: body.access_token, refresh: body.refresh_token, exp: c.exp, name: c.name, upn: c.upn,
                  oid: c.oid, tid: c.tid, graph: null, graphExp: 0 });
    return true;
  }

  async function graphToken() {
    const s = session();
    if (s.graph && Date.now() / 1000 < s.graphExp - 30) return s.graph;
    let body;
    try { body = await tokenRequest({ grant_type: "refresh_token", refresh_token: s.refresh, scope: GRAPH_SCOPE }); } catch (e) {
      if (e.status === 400 || e.status === 401) throw endSession(); // refresh refused (invalid_grant): sign in again
      throw e;
    }
    s.graph = body.access_token; s.graphExp = claims(body.access_token).exp; s.refresh = body.refresh_token || s.refresh;
    saveSession(s); return s.graph;
  }

  async function signOut() {
    const cfg = await loadConfig();
    sessionStorage.removeItem(SESSION);
    location.assign(`/${cfg.tenantId}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(redirectUri())}`);
  }

  // ---- calling ARM and Graph -----------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
    toString() { return `${this.code ? this.code + ": " : ""}${this.message}`; }
  }
  /** The session is over (its token expired or was refused, or a refresh was refused): mark it
      expired so that every check agrees, ask to sign in again, and return the error to throw. */
  function endSession() {
    const s = session(); if (s && s.exp) { s.exp = 0; saveSession(s); }
    sessionExpired();
    return new ApiError(401, "ExpiredAuthenticationToken", "Your session has expired.");
  }
  async function call(method, url, body, token) {
    if (expired()) throw endSession();
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null; try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (r.status === 401) throw endSession(); // the token is refused (e.g. expired by the server's clock)
    if (!r.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(r.status, err.code || `HTTP ${r.status}`, err.message || text || r.statusText);
    }
    return { status: r.status, data, headers: r.headers };
  }
  function withVersion(path, version) {
    return path.includes("api-version=") ? path : `${path}${path.includes("?") ? "&" : "?"}api-version=${version}`;
  }
  const arm = (method, path, body, version = NET) => call(method, withVersion(path, version), body, session().arm);
  async function armList(path, version = NET) {
    let url = withVersion(path, version); const items = [];
    while (url) { const r = await call("GET", url, undefined, session().arm); items.push(...(r.data.value || [])); url = r.data.nextLink; }
    return items;
  }
  const graph = async (method, path, body) => call(method, `/v1.0${path}`, body, await graphToken());

  /** Follow a long-running operation (Azure-AsyncOperation, else Location) to its end, showing its
      progress as a notification named by `label` (in words, not API names); none when `label` is
      null (the caller shows progress itself). */
  async function lro(label, response) {
    const asyncUrl = response.headers.get("Azure-AsyncOperation");
    const locationUrl = response.headers.get("Location");
    if (!asyncUrl && !locationUrl) return response.data;
    const t = label === null ? { done() {} } : toast(`${label}…`, "", true);
    try {
      for (let i = 0; i < 600; i++) {
        const wait = Math.min(Number(response.headers.get("Retry-After") || 1), 2);
        if (i > 0) await sleep(wait * 1000 / 2);
        if (asyncUrl) {
          const r = await call("GET", asyncUrl, undefined, session().arm);
          const status = (r.data && r.data.status) || "";
          if (status === "Succeeded") { t.done(`${label}: succeeded`, "ok"); return response.data; }
          if (status === "Failed" || status === "Canceled") {
            const e = (r.data && r.data.error) || {};
            throw new ApiError(400, e.code || status, e.message || `The operation ${status.toLowerCase()}.`);
          }
        } else {
          const r = await call("GET", locationUrl, undefined, session().arm);
          if (r.status !== 202) { t.done(`${label}: done`, "ok"); return r.data; }
        }
      }
      throw new ApiError(0, "Timeout", "The operation did not finish in time.");
    } catch (e) { t.done(`${label}: ${e}`, "bad"); throw e; }
  }
  const sleep = ms => new Promise(res => setTimeout(res, ms));

  // ---- UI helpers ----------------------------------------------------------------------------
  /** h("div.cls#id", {attrs}, children...) */
  function h(spec, attrs, ...children) {
    const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
    const el = document.createElementNS(/^(svg|rect|line|text|circle|g|path|title)$/.test(tag) ?
      "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
    (rest.match(/[.#][^.#]+/g) || []).forEach(p => { if (p[0] === ".") el.classList.add(p.slice(1)); else el.id = p.slice(1); });
    if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) { children.unshift(attrs); attrs = null; }
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    const add = c => { if (c === null || c === undefined || c === false) return; if (Array.isArray(c)) c.forEach(add);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c))); };
    children.forEach(add); return el;
  }
  function table(columns, rows, onSelect) {
    return h("div.table-wrap", h("table", h("thead", h("tr", columns.map(c => h("th", { class: c.optional ? "optional" : null }, c.title)))),
      h("tbody", rows.length ? rows.map(row => h("tr", { class: onSelect ? "selectable" : null, onclick: onSelect ? () => onSelect(row) : null },
        columns.map(c => h("td", { class: c.optional ? "optional" : null }, c.render ? c.render(row) : row[c.key] ?? "")))) :
        h("tr", h("td", { colspan: columns.length, class: "hint" }, "No items to display.")))));
  }
  function props(pairs) { return h("dl.props", pairs.filter(p => p).map(([k, v]) => [h("dt", k), h("dd", v ?? "—")])); }
  function badge(state) {
    const s = String(state || "");
    const cls = /^(Succeeded|Registered|Provisioned|Enabled|Configured|Connected|Established)$/i.test(s) ? "ok" :
      /(Failed|Deleting|NotProvisioned|Unregistered|Down|Idle|Active|Connect)$/i.test(s) ? (/NotProvisioned|Unregistered/.test(s) ? "info" : "bad") : "warn";
    return h(`span.badge.${cls}`, s || "—");
  }
  function copyButton(text, label = "Copy") {
    const b = h("button", { type: "button", "data-copy": text, onclick: async () => {
      try { await navigator.clipboard.writeText(text); } catch (e) {
        const ta = h("textarea", { value: text }); document.body.appendChild(ta); ta.select(); document.execCommand("copy"); ta.remove();
      }
      b.textContent = "Copied"; setTimeout(() => { b.textContent = label; }, 1500);
    } }, label); return b;
  }
  function errorBox(e) { return h("div.error-box", { role: "alert" }, String(e)); }
  function toast(text, kind = "", busy = false) {
    const msg = h("div", text); const el = h(`div.toast${kind ? "." + kind : ""}`, msg, busy ? h("div.progress") : null);
    const box = document.getElementById("toasts"); box.appendChild(el);
    while (box.children.length > 3) box.firstChild.remove();
    const close = () => setTimeout(() => el.remove(), 3500);
    if (!busy) close();
    return { done(t, k) { msg.textContent = t; el.querySelector(".progress")?.remove(); if (k) el.classList.add(k); close(); } };
  }
  /** Run an action from a button: disable it, show the ARM error in `where` if it fails. */
  async function act(button, where, fn) {
    if (button) button.disabled = true;
    if (where) where.replaceChildren();
    try { return await fn(); } catch (e) { if (where) where.replaceChildren(errorBox(e)); else toast(String(e), "bad"); return undefined; }
    finally { if (button) button.disabled = false; }
  }
  function field(label, input, hint) {
    if (!input.id) input.id = "f-" + label.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    return h("div.field", h("label", { for: input.id }, label), input, hint ? h("span.hint", hint) : null);
  }
  function select(options, value, attrs = {}) {
    return h("select", attrs, options.map(o => { const [v, t] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value ? "selected" : null }, t); }));
  }
  function crumbs(...items) {
    return h("div.crumbs", items.map((it, i) => [i ? " › " : "", it[1] ? h("a", { href: it[1] }, it[0]) : it[0]]));
  }
  function sessionExpired() {
    const blade = document.getElementById("blade");
    blade.dataset.blade = "sessionExpired";
    blade.replaceChildren(h("div.welcome", h("h1", "Your session has expired"),
      h("p", "Sign in again to continue."), h("button.primary#sign-in", { onclick: signIn }, "Sign in")));
  }
  const segments = id => id.split("/"); // "/subscriptions/x/resourceGroups/y/providers/ns/type/name"
  const nameOf = id => segments(id).pop();
  const subOf = id => segments(id)[2];
  const groupOf = id => { const s = segments(id); const i = s.findIndex(x => x.toLowerCase() === "resourcegroups"); return i > 0 ? s[i + 1] : ""; };
  const enc = encodeURIComponent;

  return { NET, h, table, props, badge, copyButton, errorBox, toast, act, field, select, crumbs, arm, armList, graph, lro,
    session, expired, signIn, signOut, completeSignIn, sessionExpired, uuid, ApiError, nameOf, subOf, groupOf, enc,
    blades: {}, sleep };
})();
