/**
 * The incident queue: open incidents, most severe and newest first, live from the feed, with the
 * citizens' reports beside them and keyboard shortcuts for the common moves.
 */

import { api, el, feed, fmtAgo, fmtDuration, fmtTime, navigate, registerView, t, toast } from "../app.js";
import { OPEN_STATUSES, SEVERITY_RANK, dueOf, label, loadAgencies, loadCameras, moveIncident } from "../incidents.js";

const PAGE = 200; // the API's largest page
const MAX_ROWS = 3000; // per status: a queue longer than this is a flood to triage on the map
const RANGES = { "": null, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const KINDS = ["congestion", "illegal_parking", "crowd", "wrong_way", "accident", "flood", "fire", "dumping", "camera_health"];
const FILTER_KEY = "mk.queue.filters";

/** Every page of incidents matching ``params``, fetched a few at a time. */
async function fetchAll(params) {
  const query = (offset) => `/api/incidents?${new URLSearchParams({ ...params, limit: PAGE, offset })}`;
  const first = await api(query(0));
  const total = Math.min(first.total, MAX_ROWS);
  const offsets = [];
  for (let offset = PAGE; offset < total; offset += PAGE) offsets.push(offset);
  const rest = await Promise.all(offsets.map((offset) => api(query(offset))));
  return [first, ...rest].flatMap((page) => page.items);
}

function compare(a, b) {
  return (
    (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) ||
    (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id)
  );
}

function readFilters() {
  try {
    return { status: "open", kind: "", kecamatan: "", camera_id: "", range: "", ...JSON.parse(sessionStorage.getItem(FILTER_KEY) || "{}") };
  } catch {
    return { status: "open", kind: "", kecamatan: "", camera_id: "", range: "" };
  }
}

class Queue {
  constructor(container) {
    this.container = container;
    this.filters = readFilters();
    this.incidents = new Map(); // id -> incident shown
    this.rows = new Map(); // id -> <tr>
    this.cameras = new Map();
    this.agencies = [];
    this.reports = [];
    this.selectedId = null;
    this.pending = new Set();
    this.flushTimer = null;
    this.reportTimer = null;
    this.loadToken = 0;
    this.loaded = false;
  }

  // --- layout ----------------------------------------------------------------------------------

  build() {
    this.count = el("span", { class: "queue-count", "aria-live": "polite" });
    this.tbody = el("tbody");
    this.table = el(
      "table",
      { class: "queue-table", "aria-label": t("queue.title"), "aria-describedby": "queue-legend" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["severity", "kind", "title", "camera", "kecamatan", "status", "agency", "age", "sla"].map((c) =>
            el("th", { scope: "col", class: `col-${c}`, text: t(`queue.col.${c}`) }),
          ),
        ),
      ),
      this.tbody,
    );
    this.table.addEventListener("click", (e) => this.onClick(e));
    this.table.addEventListener("dblclick", (e) => {
      const row = e.target.closest("tr[data-id]");
      if (row) navigate(`#/incidents/${row.dataset.id}`);
    });
    this.empty = el("p", { class: "muted queue-empty", hidden: true, text: t("queue.empty") });
    this.reportsBox = el("div", { class: "reports-list" });
    this.container.append(
      el(
        "div",
        { class: "queue-head" },
        el("h1", { text: t("queue.title") }),
        this.count,
      ),
      this.buildFilters(),
      this.buildLegend(),
      el(
        "div",
        { class: "queue-layout" },
        el("section", { class: "queue-main", "aria-label": t("queue.title") }, el("div", { class: "queue-scroll" }, this.table), this.empty),
        el("aside", { class: "queue-reports", "aria-labelledby": "reports-title" }, el("h2", { id: "reports-title", text: t("queue.reports.title") }), this.reportsBox),
      ),
      this.buildDispatchDialog(),
    );
  }

  select(name, options, value) {
    const id = `queue-filter-${name}`;
    const control = el(
      "select",
      { id, name, on: { change: () => this.setFilter(name, control.value) } },
      options.map(([v, text]) => el("option", { value: v, selected: v === value, text })),
    );
    return el("div", { class: "filter" }, el("label", { for: id, text: t(`queue.filter.${name}`) }), control);
  }

  buildFilters() {
    const f = this.filters;
    const statuses = [["open", t("queue.filter.open")], ["", t("queue.filter.any")], ...["new", "acknowledged", "dispatched", "in_progress", "on_hold", "resolved", "closed", "false_positive", "duplicate"].map((s) => [s, label("status", s)])];
    const kinds = [["", t("queue.filter.any")], ...KINDS.map((k) => [k, label("kind", k)])];
    const ranges = Object.keys(RANGES).map((r) => [r, t(`queue.range.${r || "all"}`)]);
    this.filterBox = el(
      "form",
      { class: "queue-filters", role: "search", "aria-label": t("queue.filter.label"), on: { submit: (e) => e.preventDefault() } },
      this.select("status", statuses, f.status),
      this.select("kind", kinds, f.kind),
      this.select("kecamatan", [["", t("queue.filter.any")]], f.kecamatan),
      this.select("camera_id", [["", t("queue.filter.any")]], f.camera_id),
      this.select("range", ranges, f.range),
      el("button", { type: "button", class: "btn btn-quiet", text: t("queue.filter.reset"), on: { click: () => this.resetFilters() } }),
    );
    return this.filterBox;
  }

  fillPlaceFilters() {
    const cameras = [...this.cameras.values()].sort((a, b) => a.name.localeCompare(b.name));
    const kecamatans = [...new Set(cameras.map((c) => c.location.kecamatan).filter(Boolean))].sort();
    const fill = (name, options) => {
      const control = this.filterBox.querySelector(`[name="${name}"]`);
      control.replaceChildren(
        el("option", { value: "", text: t("queue.filter.any") }),
        ...options.map(([v, text]) => el("option", { value: v, selected: v === this.filters[name], text })),
      );
    };
    fill("kecamatan", kecamatans.map((k) => [k, k]));
    fill("camera_id", cameras.map((c) => [c.id, `${c.name} (${c.id})`]));
  }

  buildLegend() {
    const keys = [["j / ↓", "next"], ["k / ↑", "prev"], ["Enter", "open"], ["a", "ack"], ["d", "dispatch"], ["f", "false"], ["r", "resolve"]];
    return el(
      "p",
      { id: "queue-legend", class: "queue-legend" },
      el("span", { class: "muted", text: `${t("queue.keys.title")}: ` }),
      keys.map(([k, what]) => el("span", { class: "key" }, el("kbd", { text: k }), " ", t(`queue.keys.${what}`))),
    );
  }

  buildDispatchDialog() {
    this.agencySelect = el("select", { id: "dispatch-agency", name: "agency" });
    this.dialog = el(
      "dialog",
      { class: "dispatch-dialog", "aria-labelledby": "dispatch-title" },
      el(
        "form",
        { method: "dialog" },
        el("h2", { id: "dispatch-title", text: t("queue.dispatch.title") }),
        el("label", { for: "dispatch-agency", text: t("queue.dispatch.agency") }),
        this.agencySelect,
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { value: "cancel", class: "btn btn-quiet", text: t("queue.dispatch.cancel") }),
          el("button", { value: "ok", class: "btn btn-primary", text: t("queue.dispatch.ok") }),
        ),
      ),
    );
    return this.dialog;
  }

  // --- data ------------------------------------------------------------------------------------

  query() {
    const params = {};
    if (this.filters.kind) params.kind = this.filters.kind;
    if (this.filters.camera_id) params.camera_id = this.filters.camera_id;
    const range = RANGES[this.filters.range];
    if (range) params.started_after = new Date(Date.now() - range * 1000).toISOString();
    return params;
  }

  matches(incident) {
    const f = this.filters;
    if (f.status === "open" ? !OPEN_STATUSES.includes(incident.status) : f.status && incident.status !== f.status) return false;
    if (f.kind && incident.kind !== f.kind) return false;
    if (f.camera_id && incident.camera_id !== f.camera_id) return false;
    if (f.kecamatan && this.cameras.get(incident.camera_id)?.location.kecamatan !== f.kecamatan) return false;
    const range = RANGES[f.range];
    if (range && Date.parse(incident.started_at) < Date.now() - range * 1000) return false;
    return true;
  }

  async load() {
    const token = ++this.loadToken;
    this.count.textContent = t("core.loading");
    const params = this.query();
    const statuses = this.filters.status === "open" ? OPEN_STATUSES : [this.filters.status || null];
    const lists = await Promise.all(statuses.map((s) => fetchAll(s ? { ...params, status: s } : params)));
    if (token !== this.loadToken) return;
    this.incidents = new Map(lists.flat().filter((i) => this.matches(i)).map((i) => [i.id, i]));
    this.loaded = true;
    this.renderAll(true);
    this.renderReports(); // group titles come from the incidents
  }

  async loadReports() {
    try {
      const page = await api("/api/citizen-reports?status=open&limit=200");
      this.reports = page.items;
    } catch (err) {
      if (err.status !== 401) this.reportsBox.replaceChildren(el("p", { class: "error", text: err.message }));
      return;
    }
    this.renderReports();
    if (this.loaded) this.renderAll(); // report counts on the rows
  }

  // --- rows ------------------------------------------------------------------------------------

  renderAll(record = false) {
    const started = performance.now();
    const sorted = [...this.incidents.values()].sort(compare);
    const fragment = document.createDocumentFragment();
    this.rows = new Map();
    this.reportCounts = this.countReports();
    for (const incident of sorted) fragment.append(this.row(incident));
    this.tbody.replaceChildren(fragment);
    if (record) window.__mkQueueRenderMs = performance.now() - started;
    this.showCount();
    if (!this.rows.has(this.selectedId)) this.selectedId = sorted.length ? sorted[0].id : null;
    this.markSelected(false);
  }

  countReports() {
    const counts = new Map();
    for (const r of this.reports) if (r.incident_id) counts.set(r.incident_id, (counts.get(r.incident_id) || 0) + 1);
    return counts;
  }

  showCount() {
    const n = this.incidents.size;
    this.count.textContent = t("queue.count", { n });
    this.empty.hidden = n > 0;
  }

  row(incident) {
    const camera = this.cameras.get(incident.camera_id);
    const tr = document.createElement("tr");
    tr.dataset.id = incident.id;
    tr.dataset.status = incident.status;
    tr.tabIndex = -1;
    tr.className = `sev-row-${incident.severity}`;
    const cell = (cls, content) => {
      const td = document.createElement("td");
      td.className = cls;
      if (typeof content === "string") td.textContent = content;
      else if (content) td.append(content);
      tr.append(td);
      return td;
    };
    cell("col-severity", el("span", { class: `sev sev-${incident.severity}`, text: label("severity", incident.severity) }));
    cell("col-kind", label("kind", incident.kind));
    const reports = this.reportCounts?.get(incident.id);
    cell(
      "col-title",
      el(
        "span",
        {},
        el("a", { href: `#/incidents/${incident.id}`, text: incident.title || `#${incident.id}` }),
        reports ? el("span", { class: "badge badge-reports", title: t("queue.reports.linked", { n: reports }), text: `📣 ${reports}` }) : null,
      ),
    );
    cell("col-camera", camera ? camera.name : incident.camera_id || "—");
    cell("col-kecamatan", camera?.location.kecamatan || "—");
    cell("col-status", el("span", { class: `status status-${incident.status}`, text: label("status", incident.status) }));
    cell("col-agency", incident.agency || (incident.routed_agency ? `→ ${incident.routed_agency}` : "—"));
    const age = cell("col-age", fmtAgo(incident.created_at));
    age.title = fmtTime(incident.created_at);
    cell("col-sla", "");
    this.fillSla(tr, incident);
    this.rows.set(incident.id, tr);
    return tr;
  }

  fillSla(tr, incident) {
    const td = tr.lastChild;
    const due = dueOf(incident);
    if (!due) {
      td.textContent = "—";
      tr.classList.remove("is-overdue");
      return;
    }
    const left = (Date.parse(due.at) - Date.now()) / 1000;
    const late = left < 0 || incident.overdue;
    tr.classList.toggle("is-overdue", late);
    td.textContent = late ? `⚠ ${t("queue.sla.late", { d: fmtDuration(left) })}` : t(`queue.sla.${due.what}`, { d: fmtDuration(left) });
    td.className = late ? "col-sla overdue" : "col-sla";
    td.title = `${t(`queue.sla.due.${due.what}`)}: ${fmtTime(due.at)}`;
  }

  tick() {
    for (const [id, tr] of this.rows) {
      const incident = this.incidents.get(id);
      this.fillSla(tr, incident);
      tr.children[7].textContent = fmtAgo(incident.created_at);
    }
  }

  upsert(incident) {
    const old = this.rows.get(incident.id);
    const show = this.matches(incident);
    if (!show) {
      if (old) {
        old.remove();
        this.rows.delete(incident.id);
        this.incidents.delete(incident.id);
        if (this.selectedId === incident.id) this.selectNear(old);
      }
      this.showCount();
      return;
    }
    const isNew = !old;
    this.incidents.set(incident.id, incident);
    const tr = this.row(incident);
    if (old) old.remove();
    // Insert before the first row that sorts after it.
    let before = null;
    for (const row of this.tbody.children) {
      if (compare(incident, this.incidents.get(Number(row.dataset.id))) < 0) {
        before = row;
        break;
      }
    }
    this.tbody.insertBefore(tr, before);
    tr.classList.add(isNew ? "row-new" : "row-changed");
    setTimeout(() => tr.classList.remove("row-new", "row-changed"), 4000);
    if (this.selectedId === incident.id || this.selectedId === null) {
      this.selectedId = incident.id;
      this.markSelected(false);
    }
    this.showCount();
  }

  selectNear(oldRow) {
    const rows = [...this.tbody.children];
    this.selectedId = rows.length ? Number(rows[0].dataset.id) : null;
    if (oldRow) this.markSelected(false);
  }

  // --- live updates ------------------------------------------------------------------------------

  onFeed(event) {
    const { subject, subject_id: id } = event.detail;
    if (subject === "incident") {
      this.pending.add(id);
      this.flushTimer ??= setTimeout(() => this.flush(), 300);
    } else if (subject === "report") {
      this.reportTimer ??= setTimeout(() => {
        this.reportTimer = null;
        this.loadReports();
      }, 1000);
    }
  }

  async flush() {
    this.flushTimer = null;
    const ids = [...this.pending];
    this.pending.clear();
    const results = await Promise.allSettled(ids.map((id) => api(`/api/incidents/${id}`)));
    for (const result of results) if (result.status === "fulfilled") this.upsert(result.value);
  }

  // --- selection and keys ------------------------------------------------------------------------

  markSelected(focus) {
    for (const tr of this.tbody.querySelectorAll("tr.selected")) {
      tr.classList.remove("selected");
      tr.removeAttribute("aria-current");
    }
    const tr = this.rows.get(this.selectedId);
    if (!tr) return;
    tr.classList.add("selected");
    tr.setAttribute("aria-current", "true");
    if (focus) {
      tr.focus({ preventScroll: true });
      tr.scrollIntoView({ block: "nearest" });
    }
  }

  move(step) {
    const current = this.rows.get(this.selectedId);
    const next = current ? (step > 0 ? current.nextElementSibling : current.previousElementSibling) : this.tbody.firstElementChild;
    if (!next) return;
    this.selectedId = Number(next.dataset.id);
    this.markSelected(true);
  }

  onClick(event) {
    const tr = event.target.closest("tr[data-id]");
    if (!tr) return;
    this.selectedId = Number(tr.dataset.id);
    this.markSelected(event.target.tagName !== "A");
  }

  onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, dialog")) return;
    if (event.key === "Enter" && event.target.closest("a, button")) return; // their own Enter
    const incident = this.incidents.get(this.selectedId);
    const actions = {
      j: () => this.move(1),
      ArrowDown: () => this.move(1),
      k: () => this.move(-1),
      ArrowUp: () => this.move(-1),
      Enter: () => incident && navigate(`#/incidents/${incident.id}`),
      a: () => incident && this.act(incident, { to: "acknowledged" }),
      d: () => incident && this.dispatch(incident),
      f: () => incident && this.act(incident, { to: "false_positive" }),
      r: () => incident && this.act(incident, { to: "resolved" }),
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  async act(incident, change) {
    try {
      const updated = await moveIncident(incident.id, change);
      toast(t("queue.moved", { id: incident.id, status: label("status", updated.status) }), "ok");
      this.upsert(updated);
    } catch (err) {
      toast(t("queue.refused", { id: incident.id, message: err.message }), "error");
    }
  }

  async dispatch(incident) {
    if (incident.routed_agency) {
      await this.act(incident, { to: "dispatched", agency: incident.routed_agency });
      return;
    }
    if (!this.agencies.length) this.agencies = await loadAgencies();
    this.agencySelect.replaceChildren(...this.agencies.map((a) => el("option", { value: a.code, text: `${a.code} — ${a.name}` })));
    this.dialog.returnValue = "";
    this.dialog.showModal();
    this.dialog.addEventListener(
      "close",
      () => {
        if (this.dialog.returnValue === "ok") this.act(incident, { to: "dispatched", agency: this.agencySelect.value });
        this.markSelected(true);
      },
      { once: true },
    );
  }

  // --- filters -----------------------------------------------------------------------------------

  setFilter(name, value) {
    this.filters = { ...this.filters, [name]: value };
    sessionStorage.setItem(FILTER_KEY, JSON.stringify(this.filters));
    this.load().catch((err) => toast(err.message, "error"));
  }

  resetFilters() {
    sessionStorage.removeItem(FILTER_KEY);
    this.filters = readFilters();
    for (const control of this.filterBox.querySelectorAll("select")) control.value = this.filters[control.name];
    this.load().catch((err) => toast(err.message, "error"));
  }

  // --- citizens' reports -------------------------------------------------------------------------

  renderReports() {
    const unlinked = this.reports.filter((r) => !r.incident_id);
    const groups = new Map();
    for (const r of this.reports) if (r.incident_id) groups.set(r.incident_id, [...(groups.get(r.incident_id) || []), r]);
    const item = (r) =>
      el(
        "li",
        { class: "report" },
        el("a", { class: "report-service", href: `#/reports/${r.id}`, text: r.service_name || r.service_code }),
        " ",
        el("span", { class: "muted", title: fmtTime(r.requested_at), text: fmtAgo(r.requested_at) }),
        r.description ? el("span", { class: "report-text", text: r.description }) : null,
        r.address ? el("span", { class: "muted report-address", text: r.address }) : null,
      );
    const parts = [];
    parts.push(el("h3", { text: t("queue.reports.unlinked", { n: unlinked.length }) }));
    parts.push(unlinked.length ? el("ul", {}, unlinked.map(item)) : el("p", { class: "muted", text: t("queue.reports.none") }));
    for (const [incidentId, reports] of groups) {
      const incident = this.incidents.get(incidentId);
      parts.push(
        el(
          "section",
          { class: "report-group" },
          el("h3", {}, el("a", { href: `#/incidents/${incidentId}`, text: incident ? incident.title : `#${incidentId}` })),
          el("ul", {}, reports.map(item)),
        ),
      );
    }
    this.reportsBox.replaceChildren(...parts);
  }
}

registerView("queue", {
  titleKey: "queue.title",
  async render(container) {
    const queue = new Queue(container);
    queue.build();
    const onFeed = (event) => queue.onFeed(event);
    const onKey = (event) => queue.onKey(event);
    const types = ["incident.created", "incident.updated", "incident.evidence", "report.created", "report.updated"];
    for (const type of types) feed.addEventListener(type, onFeed);
    document.addEventListener("keydown", onKey);
    const timer = setInterval(() => queue.tick(), 15000);
    const cleanup = () => {
      for (const type of types) feed.removeEventListener(type, onFeed);
      document.removeEventListener("keydown", onKey);
      clearInterval(timer);
      clearTimeout(queue.flushTimer);
      clearTimeout(queue.reportTimer);
    };
    try {
      const [cameras] = await Promise.all([loadCameras(), queue.loadReports()]);
      queue.cameras = cameras;
      queue.fillPlaceFilters();
      await queue.load();
    } catch (err) {
      if (err.status !== 401) container.append(el("p", { class: "error", role: "alert", text: err.message }));
    }
    return cleanup;
  },
});
