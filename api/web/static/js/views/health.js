/**
 * The health board: which cameras are down now and for how long, and camera uptime per kecamatan
 * and per camera over the last 24 hours and 7 days. Refreshed every 30 seconds.
 */

import { api, el, fmtDuration, fmtTime, registerView, t } from "../app.js";

const REFRESH_MS = 30000;
const DOWN = new Set(["offline", "auth_failed", "tampered"]);
const WINDOWS = [
  { hours: 24, key: "day" },
  { hours: 168, key: "week" },
];
const GOOD = 0.99; // uptime at or above: green
const FAIR = 0.95; // at or above: amber; below: red

/** The uptime's colour class: good, fair, poor, or none when never judged. */
export function uptimeClass(uptime) {
  if (uptime === null || uptime === undefined) return "none";
  if (uptime >= GOOD) return "good";
  if (uptime >= FAIR) return "fair";
  return "poor";
}

function percent(uptime) {
  if (uptime === null || uptime === undefined) return "—";
  const value = uptime * 100;
  return `${value >= 99.95 || value === 0 ? value.toFixed(0) : value.toFixed(1)} %`;
}

/** A cell with the uptime as text and as a bar (the bar repeats the text, so screen readers skip it). */
function uptimeCell(total) {
  const uptime = total ? total.uptime : null;
  const tone = uptimeClass(uptime);
  const width = uptime === null || uptime === undefined ? 0 : Math.max(2, Math.round(uptime * 100));
  const title = total ? t("health.downFor", { time: fmtDuration(total.down_s) }) : null;
  const fill = el("span");
  fill.style.width = `${width}%`; // through the CSSOM: a strict style-src still allows it
  return el("td", { class: `hb-uptime hb-${tone}`, title },
    el("span", { class: "hb-value", text: percent(uptime) }),
    el("span", { class: "hb-bar", "aria-hidden": "true" }, fill));
}

function stateText(state) {
  return t(`health.state.${state}`);
}

function uptimeTable(caption, firstHeader, rows, extra) {
  return el("table", { class: "hb-table" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: firstHeader }),
      extra.headers.map((h) => el("th", { scope: "col", text: h })),
      WINDOWS.map((w) => el("th", { scope: "col", text: t(`health.window.${w.key}`) })),
      el("th", { scope: "col", class: "hb-num", text: t("health.col.down24") }))),
    el("tbody", {}, rows.length
      ? rows.map((row) => el("tr", {},
        el("th", { scope: "row" }, row.label),
        extra.cells(row),
        WINDOWS.map((w) => uptimeCell(row[w.key])),
        el("td", { class: "hb-num", text: row.day ? fmtDuration(row.day.down_s) : "—" })))
      : el("tr", {}, el("td", { colspan: 3 + extra.headers.length, class: "muted", text: t("health.empty") }))));
}

function mergeReports(reports, label) {
  // reports: {day, week} -> rows keyed by key; answer one row per key with both windows' totals.
  const rows = new Map();
  for (const w of WINDOWS) {
    for (const row of reports[w.key].rows) {
      const entry = rows.get(row.key) ?? { key: row.key, cameras: row.cameras, label: label(row.key) };
      entry[w.key] = row.total;
      rows.set(row.key, entry);
    }
  }
  const worst = (row) => row.day?.uptime ?? row.week?.uptime ?? 2;
  return [...rows.values()].sort((a, b) => worst(a) - worst(b) || String(a.label).localeCompare(String(b.label)));
}

class HealthBoard {
  constructor(container) {
    this.updated = el("p", { class: "muted hb-updated", "aria-live": "polite" });
    this.error = el("p", { class: "error", role: "alert" });
    this.summary = el("div", { class: "hb-summary" });
    this.offline = el("section", { class: "hb-section", "aria-labelledby": "hb-offline-title" });
    this.kecamatan = el("section", { class: "hb-section" });
    this.cameras = el("section", { class: "hb-section" });
    container.append(
      el("div", { class: "hb-head" }, el("h1", { text: t("health.title") }), this.updated),
      this.error, this.summary, this.offline, this.kecamatan, this.cameras,
    );
  }

  async refresh() {
    const uptime = (hours, group) => api(`/api/reports/uptime?hours=${hours}&group=${group}`);
    const [cameras, kecDay, kecWeek, camDay, camWeek] = await Promise.all([
      api("/api/cameras"),
      uptime(24, "kecamatan"),
      uptime(168, "kecamatan"),
      uptime(24, "camera"),
      uptime(168, "camera"),
    ]);
    const byId = new Map(cameras.map((c) => [c.id, c]));
    const now = Date.now();
    this.showSummary(cameras);
    this.showOffline(cameras, now);
    const kecamatanRows = mergeReports({ day: kecDay, week: kecWeek }, (key) => (key === "(unknown)" ? t("health.noKecamatan") : key));
    this.kecamatan.replaceChildren(uptimeTable(t("health.byKecamatan"), t("health.col.kecamatan"), kecamatanRows, {
      headers: [t("health.col.cameras")],
      cells: (row) => el("td", { class: "hb-num", text: String(row.cameras.length) }),
    }));
    const cameraRows = mergeReports({ day: camDay, week: camWeek }, (key) => byId.get(key)?.name ?? key);
    this.cameras.replaceChildren(uptimeTable(t("health.byCamera"), t("health.col.camera"), cameraRows, {
      headers: [t("health.col.kecamatan"), t("health.col.now")],
      cells: (row) => {
        const camera = byId.get(row.key);
        const state = camera?.status.state ?? "starting";
        return [
          el("td", { text: camera?.location.kecamatan ?? "—" }),
          el("td", {}, el("span", { class: `hb-state hb-state-${DOWN.has(state) ? "down" : state}`, text: stateText(state) })),
        ];
      },
    }));
    this.updated.textContent = t("health.updated", { when: fmtTime(new Date(now).toISOString()) });
    this.error.textContent = "";
  }

  showSummary(cameras) {
    const enabled = cameras.filter((c) => c.enabled);
    const count = (test) => enabled.filter((c) => test(c.status.state)).length;
    const tile = (value, key, tone) =>
      el("div", { class: `hb-tile hb-${tone}` }, el("span", { class: "hb-tile-value", text: String(value) }), el("span", { text: t(key) }));
    this.summary.replaceChildren(
      tile(enabled.length, "health.tile.total", "none"),
      tile(count((s) => s === "online"), "health.tile.online", "good"),
      tile(count((s) => s === "degraded"), "health.tile.degraded", "fair"),
      tile(count((s) => DOWN.has(s)), "health.tile.down", "poor"),
    );
  }

  showOffline(cameras, now) {
    const down = cameras
      .filter((c) => c.enabled && DOWN.has(c.status.state))
      .map((c) => ({ camera: c, since: c.status.since ? new Date(c.status.since).getTime() : null }))
      .sort((a, b) => (a.since ?? now) - (b.since ?? now)); // longest down first
    const title = el("h2", { id: "hb-offline-title", text: t("health.offline.title", { n: down.length }) });
    if (!down.length) {
      this.offline.replaceChildren(title, el("p", { class: "hb-allgood", text: t("health.offline.none") }));
      return;
    }
    this.offline.replaceChildren(title, el("table", { class: "hb-table hb-offline" },
      el("thead", {}, el("tr", {},
        ["camera", "kecamatan", "state", "since", "duration", "reason"].map((key) =>
          el("th", { scope: "col", text: t(`health.col.${key}`) })))),
      el("tbody", {}, down.map(({ camera, since }) => el("tr", { class: "hb-down-row" },
        el("th", { scope: "row" }, el("a", { href: `#/map?camera=${encodeURIComponent(camera.id)}`, text: camera.name })),
        el("td", { text: camera.location.kecamatan ?? "—" }),
        el("td", {}, el("span", { class: "hb-state hb-state-down", text: stateText(camera.status.state) })),
        el("td", { text: since ? fmtTime(camera.status.since) : "—" }),
        el("td", { class: "hb-num hb-duration", text: since ? fmtDuration((now - since) / 1000) : "—" }),
        el("td", { class: "muted", text: camera.status.reason ?? "" }))))));
  }
}

registerView("health", {
  titleKey: "health.title",
  async render(container) {
    const board = new HealthBoard(container);
    let busy = false;
    const tick = async () => {
      if (busy) return; // a slow answer must not pile up requests
      busy = true;
      try {
        await board.refresh();
      } catch (err) {
        if (err.status !== 401) board.error.textContent = t("health.error", { message: err.message });
      } finally {
        busy = false;
      }
    };
    await tick();
    const timer = setInterval(tick, REFRESH_MS);
    return () => clearInterval(timer);
  },
});
