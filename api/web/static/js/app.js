/**
 * Mata Kota web UI: the shell, and the contract every view is written against.
 *
 * A view is an ES module in ./views/ that imports what it needs from "../app.js" (exactly this
 * path, with no query string, so that every view shares one instance of this module) and
 * registers itself when imported:
 *
 *   import { registerView, api, t, el, feed, fmtTime, fmtAgo } from "../app.js";
 *   registerView("map", {
 *     titleKey: "map.title",
 *     render(container, params) {        // may be async; container is <main id="view">, emptied
 *       container.append(el("h1", { text: t("map.title") }));
 *       const onUpdate = (e) => { ... e.detail ... };
 *       feed.addEventListener("incident.updated", onUpdate);
 *       return () => feed.removeEventListener("incident.updated", onUpdate);   // cleanup, optional
 *     },
 *   });
 *
 * Exports:
 *   api(path, options) -> Promise<any>
 *       fetch() with credentials: "same-origin". options are fetch's, except that `body`, when a
 *       plain object or array, is sent as JSON (and the method defaults to POST). Answers the parsed
 *       JSON (null for 204; the text for a non-JSON answer; the Response itself with raw: true).
 *       A non-2xx answer throws an Error whose message is the API's `detail`, with err.status and
 *       err.detail; a 401 also sends the browser to #/login (and back here after logging in).
 *   t(key, vars) -> string
 *       The string for `key` in the current language, then English, then the key itself.
 *       `{name}` in a string is replaced by vars.name. Strings live in
 *       /ui/i18n/{lang}/{view}.json for the views core, queue, incident, report, wall, map, health, plans:
 *       one flat JSON object per file whose keys carry the view as prefix ({"map.title": "Peta"}).
 *       All files are loaded at start and merged; id and en files hold the same keys.
 *   lang() -> "id" | "en"    the current language (Bahasa Indonesia first).
 *   registerView(name, { titleKey, render(container, params) })
 *       render may return (or resolve to) a cleanup function, called when leaving the view.
 *       The view is re-rendered when the language changes.
 *   navigate(hash)           go to a route, e.g. navigate("#/incidents/12").
 *   el(tag, attrs, ...children) -> HTMLElement
 *       attrs: class, text, on: {click: fn, ...}, aria-*, data-*, any other attribute (true gives
 *       an empty attribute; false, null and undefined leave it out); value, checked, disabled,
 *       selected, hidden are set as properties. children: nodes, strings, numbers, arrays of them;
 *       null, undefined and false are skipped.
 *   feed                     an EventTarget: the app's ONE live connection to /api/events/stream
 *       (authenticated by the session cookie). Each server event is re-dispatched as a
 *       CustomEvent named by its type - incident.created, incident.updated, incident.evidence,
 *       report.created, report.updated - with detail = the parsed event ({id, type, subject,
 *       subject_id, kind, created_at, payload}). It reconnects by itself, resuming after the last
 *       event seen. feed.connected says whether it is open now; a "connection" event fires when that
 *       changes. Do not open another EventSource on the stream: the server allows only a few.
 *   fmtTime(iso) -> "29 Nov 14.05 WIB": date and time in Asia/Jakarta (WIB).
 *   fmtAgo(iso)  -> "5 menit yang lalu": how long ago, in words of the current language.
 *   fmtDuration(seconds) -> "1 j 05 mnt" / "1h 05m": a compact length of time (for SLA clocks).
 *   currentUser() -> {name, role, kind} | null: who is logged in (from GET /api/auth/me).
 *   toast(message, kind = "info"|"ok"|"error"): a short notice, read out by screen readers.
 *
 * Routes (the URL hash): #/login, #/queue (the default), #/incidents/{id}, #/reports/{id} (a
 * citizen's report), #/wall, #/wall/{camera_id}, #/map, #/health, #/plans, #/plans/{id}. A query after
 * the route reaches the view too: #/map?camera=3 gives params {camera: "3"}. Views get params.id for
 * #/incidents/{id}, #/reports/{id} and #/plans/{id}, and params.camera_id for #/wall/{camera_id}.
 */

export const VIEWS = ["core", "queue", "incident", "report", "wall", "map", "health", "plans"];
const VIEW_MODULES = ["login", "queue", "incident", "report", "wall", "map", "health", "plans"];
const LANGS = ["id", "en"];
const TZ = "Asia/Jakarta";
const RETURN_KEY = "mk.returnTo";
const LANG_KEY = "mk.lang";

const views = new Map();
const strings = { id: {}, en: {} };
let currentLang = LANGS.includes(localStorage.getItem(LANG_KEY)) ? localStorage.getItem(LANG_KEY) : "id";
let user = null;
let cleanup = null;
let renderToken = 0;
let started = false;

// --- API ---------------------------------------------------------------------------------------

function isJsonBody(body) {
  return body !== null && typeof body === "object" && (Array.isArray(body) || Object.getPrototypeOf(body) === Object.prototype);
}

function detailText(detail, status) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg ? `${(d.loc || []).slice(1).join(".")}: ${d.msg}` : String(d))).join("; ");
  return detail ? JSON.stringify(detail) : `HTTP ${status}`;
}

export async function api(path, options = {}) {
  const { body, headers = {}, raw = false, ...rest } = options;
  const init = { credentials: "same-origin", ...rest, headers: { Accept: "application/json", ...headers } };
  if (isJsonBody(body)) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  if (init.body !== undefined && !init.method) init.method = "POST";
  const response = await fetch(path, init);
  if (response.status === 401 && !path.startsWith("/api/auth/login")) sendToLogin();
  if (!response.ok) {
    let detail = null;
    try {
      detail = (await response.json()).detail;
    } catch {
      detail = response.statusText;
    }
    const err = new Error(detailText(detail, response.status));
    err.status = response.status;
    err.detail = detail;
    throw err;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function sendToLogin() {
  user = null;
  feed.stop();
  showUser();
  const here = location.hash;
  if (!here.startsWith("#/login")) {
    sessionStorage.setItem(RETURN_KEY, here || "#/queue");
    navigate("#/login");
  }
}

export function currentUser() {
  return user;
}

/** Ask the API who is logged in; null when nobody is (without sending anyone to #/login). */
export async function refreshUser() {
  try {
    const response = await fetch("/api/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    user = response.ok ? await response.json() : null;
  } catch {
    user = null;
  }
  showUser();
  if (user) feed.start();
  else feed.stop();
  return user;
}

/** After a successful login: remember the user, open the feed, go back where the user was. */
export async function loggedIn() {
  await refreshUser();
  const back = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  navigate(back && !back.startsWith("#/login") ? back : "#/queue");
}

async function logout() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // the token may already be gone: the user is logged out either way
  }
  user = null;
  feed.stop();
  showUser();
  sessionStorage.removeItem(RETURN_KEY);
  navigate("#/login");
}

// --- i18n --------------------------------------------------------------------------------------

export function lang() {
  return currentLang;
}

export function t(key, vars) {
  let text = strings[currentLang][key] ?? strings.en[key] ?? key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] ?? m));
  return text;
}

async function loadStrings(language) {
  const files = await Promise.all(
    VIEWS.map((view) =>
      fetch(`/ui/i18n/${language}/${view}.json`)
        .then((r) => (r.ok ? r.json() : {}))
        .catch(() => ({})),
    ),
  );
  strings[language] = Object.assign({}, ...files);
}

async function setLang(language) {
  if (!LANGS.includes(language)) return;
  currentLang = language;
  localStorage.setItem(LANG_KEY, language);
  if (!Object.keys(strings[language]).length) await loadStrings(language);
  translateShell();
  if (started) route();
}

function translateShell() {
  document.documentElement.lang = currentLang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  for (const button of document.querySelectorAll(".lang-switch [data-lang]")) button.setAttribute("aria-pressed", String(button.dataset.lang === currentLang));
  showFeedState();
  showUser();
}

// --- DOM ---------------------------------------------------------------------------------------

const PROPS = new Set(["value", "checked", "disabled", "selected", "hidden", "indeterminate"]);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) {
      if (PROPS.has(name)) node[name] = false;
      continue;
    }
    if (name === "class") node.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (name === "text") node.textContent = value;
    else if (name === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    else if (PROPS.has(name)) node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  appendAll(node, children);
  return node;
}

function appendAll(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) appendAll(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const note = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null }, message);
  box.append(note);
  setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
}

// --- time --------------------------------------------------------------------------------------

const timeFormats = {};

function timeFormat() {
  timeFormats[currentLang] ??= new Intl.DateTimeFormat(currentLang === "id" ? "id-ID" : "en-GB", {
    timeZone: TZ,
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
  return timeFormats[currentLang];
}

export function fmtTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : `${timeFormat().format(date)} WIB`;
}

export function fmtAgo(iso) {
  if (!iso) return "";
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (Number.isNaN(seconds)) return "";
  const rtf = new Intl.RelativeTimeFormat(currentLang, { numeric: "auto", style: "short" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

const DURATION_UNITS = { id: [" hr", " j", " mnt", " dtk"], en: ["d", "h", "m", "s"] };

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(Math.abs(seconds)));
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const [ud, uh, um, us] = DURATION_UNITS[currentLang] ?? DURATION_UNITS.en;
  if (d) return `${d}${ud} ${h}${uh}`;
  if (h) return `${h}${uh} ${String(m).padStart(2, "0")}${um}`;
  return `${m}${um} ${String(sec).padStart(2, "0")}${us}`;
}

// --- live feed ---------------------------------------------------------------------------------

export const EVENT_TYPES = ["incident.created", "incident.updated", "incident.evidence", "report.created", "report.updated"];

class LiveFeed extends EventTarget {
  constructor() {
    super();
    this.connected = false;
    this.lastId = null;
    this.source = null;
    this.retryMs = 2000;
    this.timer = null;
  }

  start() {
    if (this.source || this.timer) return;
    const url = this.lastId === null ? "/api/events/stream" : `/api/events/stream?after=${this.lastId}`;
    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.retryMs = 2000;
      this.setConnected(true);
    };
    source.onerror = () => {
      this.setConnected(false);
      // The browser retries by itself unless the server refused the stream (401, 503): then we do.
      if (source.readyState === EventSource.CLOSED) {
        this.source = null;
        this.timer = setTimeout(() => {
          this.timer = null;
          if (user) this.start();
        }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 30000);
      }
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, (message) => this.relay(type, message));
  }

  relay(type, message) {
    let detail;
    try {
      detail = JSON.parse(message.data);
    } catch {
      return;
    }
    if (message.lastEventId) this.lastId = Number(message.lastEventId);
    else if (detail && Number.isInteger(detail.id)) this.lastId = detail.id;
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.source) this.source.close();
    this.source = null;
    this.setConnected(false);
  }

  setConnected(value) {
    if (this.connected === value) return;
    this.connected = value;
    this.dispatchEvent(new Event("connection"));
  }
}

export const feed = new LiveFeed();

function showFeedState() {
  const box = document.getElementById("feed-status");
  if (!box) return;
  box.dataset.state = feed.connected ? "on" : "off";
  box.querySelector(".feed-label").textContent = t(feed.connected ? "core.feed.on" : "core.feed.off");
}

function showUser() {
  const box = document.getElementById("user-box");
  if (!box) return;
  box.hidden = !user;
  document.getElementById("user-name").textContent = user ? user.name : "";
  document.getElementById("user-role").textContent = user ? t(`core.role.${user.role}`) : "";
}

// --- router ------------------------------------------------------------------------------------

export function registerView(name, { titleKey, render }) {
  views.set(name, { titleKey, render });
  if (started && currentRoute().name === name) route();
}

export function navigate(hash) {
  const target = hash.startsWith("#") ? hash : `#${hash}`;
  if (location.hash === target) route();
  else location.hash = target;
}

const ROUTE_NAMES = { incidents: "incident", reports: "report" };
const ROUTE_PARAM = { incident: "id", report: "id", wall: "camera_id", plans: "id" };

function currentRoute() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = ROUTE_NAMES[parts[0]] ?? (parts[0] || "queue");
  const params = Object.fromEntries(new URLSearchParams(query));
  if (parts[1] !== undefined && ROUTE_PARAM[name]) params[ROUTE_PARAM[name]] = parts[1];
  return { name, params };
}

async function route() {
  const token = ++renderToken;
  const { name, params } = currentRoute();
  if (name !== "login" && !user) {
    await refreshUser();
    if (token !== renderToken) return;
    if (!user) {
      sendToLogin();
      return;
    }
  }
  if (typeof cleanup === "function") {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
  }
  cleanup = null;
  const container = document.getElementById("view");
  container.replaceChildren();
  container.dataset.view = name;
  document.body.dataset.view = name;
  for (const link of document.querySelectorAll(".app-nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = views.get(name);
  if (!view) {
    document.title = "Mata Kota";
    container.append(el("h1", { text: t("core.notFound") }), el("p", {}, el("a", { href: "#/queue", text: t("core.nav.queue") })));
    return;
  }
  document.title = `${t(view.titleKey)} · Mata Kota`;
  try {
    const result = await view.render(container, params);
    if (token !== renderToken) {
      if (typeof result === "function") result();
      return;
    }
    cleanup = result;
  } catch (err) {
    console.error(err);
    if (token === renderToken && err.status !== 401) {
      container.append(el("p", { class: "error", role: "alert" }, t("core.error.view", { message: err.message })));
    }
  }
}

// --- start -------------------------------------------------------------------------------------

async function start() {
  document.getElementById("logout")?.addEventListener("click", logout);
  for (const button of document.querySelectorAll(".lang-switch [data-lang]")) {
    button.addEventListener("click", () => setLang(button.dataset.lang));
  }
  feed.addEventListener("connection", showFeedState);
  await Promise.all([loadStrings(currentLang), currentLang === "en" ? null : loadStrings("en")]);
  translateShell();
  // Import the views after this module has run, so that registerView is ready; one broken view
  // must not take the others down.
  const loaded = await Promise.allSettled(VIEW_MODULES.map((view) => import(`./views/${view}.js`)));
  loaded.forEach((result, i) => {
    if (result.status === "rejected") console.error(`view ${VIEW_MODULES[i]} failed to load`, result.reason);
  });
  started = true; // the first route asks the API who is logged in
  window.addEventListener("hashchange", route);
  if (!location.hash) history.replaceState(null, "", "#/queue");
  await route();
  document.documentElement.dataset.ready = "true";
}

start();
