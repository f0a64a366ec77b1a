/**
 * The map: the city's kecamatan (and, zoomed in, kelurahan) boundaries as the base layer, online
 * tiles only when the service is configured with them; the cameras coloured by stream health with
 * the sector each one sees; open incidents and open citizens' reports, kept current by the live feed.
 *
 * #/map?camera=<id> opens on that camera. window.__mkMap counts what is drawn, for browser tests.
 */

import { api, el, feed, fmtAgo, fmtTime, registerView, t } from "../app.js";

const LEAFLET = "/ui/vendor/leaflet-1.9.4";
const CENTER = [-2.976, 104.775]; // Palembang, when nothing else tells where to look
const KELURAHAN_ZOOM = 14; // kelurahan outlines from this zoom on: below it they are clutter
const REFRESH_MS = 30000; // camera health is not on the live feed: poll it
const OPEN_INCIDENT = ["new", "acknowledged", "dispatched", "in_progress", "on_hold"];
const EARTH_M = 6371008.8;
const DOWN = new Set(["offline", "auth_failed", "tampered"]);
const REPORT_EVENTS = ["report.created", "report.updated"];
const INCIDENT_EVENTS = ["incident.created", "incident.updated"];

let leaflet = null;

/** Load the vendored Leaflet once (a classic script: it defines window.L). */
function loadLeaflet() {
  leaflet ??= new Promise((resolve, reject) => {
    if (window.L) return resolve(window.L);
    document.head.append(el("link", { rel: "stylesheet", href: `${LEAFLET}/leaflet.css` }));
    const script = el("script", { src: `${LEAFLET}/leaflet.js` });
    script.addEventListener("load", () => resolve(window.L));
    script.addEventListener("error", () => {
      leaflet = null;
      reject(new Error(t("map.error.leaflet")));
    });
    document.head.append(script);
  });
  return leaflet;
}

/** The state's colour class: up, down, or starting (colour plus shape and text, never colour alone). */
export function healthClass(state) {
  if (state === "online") return "ok";
  if (state === "degraded") return "warn";
  if (DOWN.has(state)) return "down";
  return "idle";
}

const GLYPH = { ok: "●", warn: "◐", down: "✕", idle: "…" }; // the state without its colour

/** The point `distance` metres from (lat, lon) towards `bearing` degrees (a flat earth is fine at this scale). */
function offset(lat, lon, bearing, distance) {
  const rad = (bearing * Math.PI) / 180;
  const dLat = (distance * Math.cos(rad)) / EARTH_M;
  const dLon = (distance * Math.sin(rad)) / (EARTH_M * Math.cos((lat * Math.PI) / 180));
  return [lat + (dLat * 180) / Math.PI, lon + (dLon * 180) / Math.PI];
}

/** The camera's view sector, heading ± fov/2 out to range_m, as a polygon's corners. */
export function sector(location) {
  const { lat, lon, heading, fov_deg: fov = 60, range_m: range = 80 } = location;
  const steps = Math.max(4, Math.ceil(Math.min(fov, 360) / 10));
  const from = fov >= 360 ? 0 : heading - fov / 2;
  const arc = [];
  for (let i = 0; i <= steps; i += 1) arc.push(offset(lat, lon, from + (Math.min(fov, 360) * i) / steps, range));
  return fov >= 360 ? arc : [[lat, lon], ...arc];
}

function icon(L, shape, tone, glyph) {
  const size = shape === "incident" ? 26 : 22; // a diamond needs more room for the same glyph
  return L.divIcon({
    className: `mk-marker mk-${shape} mk-${tone}`,
    html: `<span class="mk-glyph" aria-hidden="true">${glyph}</span>`,
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
    popupAnchor: [0, -size / 2],
  });
}

function stateLabel(state) {
  return t(`map.state.${state}`);
}

function popup(...children) {
  return el("div", { class: "mk-popup" }, ...children);
}

class CityMap {
  constructor(L, box, status, params) {
    this.L = L;
    this.status = status;
    this.params = params;
    this.cameras = new Map(); // id -> {camera, marker, sector}
    this.incidents = new Map(); // id -> {incident, marker}
    this.reports = new Map(); // id -> {report, marker}
    this.map = L.map(box, { zoomControl: true, attributionControl: true, keyboard: true, minZoom: 10, maxZoom: 19 });
    this.map.attributionControl.setPrefix(false);
    this.layers = {
      kecamatan: L.featureGroup(),
      kelurahan: L.featureGroup(),
      sectors: L.featureGroup().addTo(this.map),
      cameras: L.featureGroup().addTo(this.map),
      incidents: L.featureGroup().addTo(this.map),
      reports: L.featureGroup().addTo(this.map),
    };
    this.map.setView(CENTER, 12);
    this.map.on("zoomend", () => this.showKelurahan());
  }

  async loadBase() {
    const config = await api("/api/geo/config").catch(() => ({ tiles: null, boundaries: [] }));
    if (config.tiles) {
      this.L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 }).addTo(this.map);
    }
    if (!config.boundaries.includes("kecamatan")) {
      this.note(t("map.noBoundaries"));
      return;
    }
    this.map.attributionControl.addAttribution(t("map.attribution.big"));
    const geo = await api("/api/geo/kecamatan.geojson");
    this.L.geoJSON(geo, {
      style: { className: "mk-kecamatan", weight: 2, fillOpacity: 0.06 },
      onEachFeature: (feature, layer) =>
        layer.bindTooltip(feature.properties.name, { sticky: true, className: "mk-tip" }),
    }).addTo(this.layers.kecamatan);
    this.layers.kecamatan.addTo(this.map).bringToBack();
    this.hasKelurahan = config.boundaries.includes("kelurahan");
    if (!this.params.camera) this.map.fitBounds(this.layers.kecamatan.getBounds(), { padding: [8, 8] });
  }

  async showKelurahan() {
    const wanted = this.hasKelurahan && this.map.getZoom() >= KELURAHAN_ZOOM;
    if (!wanted) {
      this.layers.kelurahan.remove();
      return;
    }
    if (!this.kelurahanLoaded) {
      this.kelurahanLoaded = api("/api/geo/kelurahan.geojson").then((geo) =>
        this.L.geoJSON(geo, {
          style: { className: "mk-kelurahan", weight: 1, fillOpacity: 0, dashArray: "4 4" },
          onEachFeature: (feature, layer) =>
            layer.bindTooltip(`${feature.properties.name} (${feature.properties.kecamatan})`, {
              sticky: true,
              className: "mk-tip",
            }),
        }).addTo(this.layers.kelurahan),
      );
    }
    try {
      await this.kelurahanLoaded;
    } catch (err) {
      this.kelurahanLoaded = null;
      this.note(err.message);
      return;
    }
    if (this.map && this.map.getZoom() >= KELURAHAN_ZOOM) {
      this.layers.kelurahan.addTo(this.map);
      this.layers.kecamatan.bringToBack();
    }
  }

  // -- cameras --------------------------------------------------------------------------------

  async loadCameras() {
    const cameras = await api("/api/cameras");
    const seen = new Set();
    for (const camera of cameras) {
      if (!camera.enabled) continue;
      seen.add(camera.id);
      this.putCamera(camera);
    }
    for (const id of [...this.cameras.keys()]) if (!seen.has(id)) this.dropCamera(id);
    for (const entry of this.incidents.values()) this.placeIncident(entry);
    this.publish();
  }

  putCamera(camera) {
    const { L } = this;
    const tone = healthClass(camera.status.state);
    const label = t("map.camera.label", { name: camera.name, state: stateLabel(camera.status.state) });
    let entry = this.cameras.get(camera.id);
    if (!entry) {
      entry = {
        marker: L.marker([camera.location.lat, camera.location.lon], { keyboard: true, riseOnHover: true }),
        sector: L.polygon(sector(camera.location), { weight: 1, fillOpacity: 0.25, interactive: false, className: `mk-sector mk-${tone}` }),
      };
      entry.marker.addTo(this.layers.cameras);
      entry.sector.addTo(this.layers.sectors);
      this.cameras.set(camera.id, entry);
    }
    entry.camera = camera;
    entry.marker.setLatLng([camera.location.lat, camera.location.lon]);
    entry.marker.setIcon(icon(L, "camera", tone, GLYPH[tone]));
    entry.sector.setLatLngs(sector(camera.location));
    entry.sector.options.className = `mk-sector mk-${tone}`; // Leaflet reads it only when it draws the path
    entry.sector.getElement()?.setAttribute("class", entry.sector.options.className);
    this.label(entry.marker, label);
    entry.marker.bindPopup(() => this.cameraPopup(entry.camera));
  }

  dropCamera(id) {
    const entry = this.cameras.get(id);
    if (!entry) return;
    entry.marker.remove();
    entry.sector.remove();
    this.cameras.delete(id);
  }

  cameraPopup(camera) {
    const { state, since, reason } = camera.status;
    const where = [camera.location.address, camera.location.kelurahan, camera.location.kecamatan].filter(Boolean);
    return popup(
      el("strong", { text: camera.name }),
      el("div", {}, el("span", { class: `mk-pill mk-${healthClass(state)}`, text: stateLabel(state) }),
        since ? ` ${t("map.since", { when: fmtAgo(since) })}` : ""),
      reason ? el("div", { class: "muted", text: reason }) : null,
      where.length ? el("div", { class: "muted", text: where.join(", ") }) : null,
      el("div", { class: "mk-links" },
        el("a", { href: `#/wall/${encodeURIComponent(camera.id)}`, text: t("map.camera.watch") }),
        el("a", { href: `#/health`, text: t("map.camera.health") })),
    );
  }

  // -- incidents ------------------------------------------------------------------------------

  async loadIncidents() {
    const pages = await Promise.all(
      OPEN_INCIDENT.map((status) => api(`/api/incidents?status=${status}&limit=200`)),
    );
    for (const page of pages) for (const incident of page.items) this.putIncident(incident);
  }

  /** Where an incident is: its camera, else a citizen's report linked to it; null when neither is known. */
  incidentPosition(incident, index) {
    const camera = incident.camera_id ? this.cameras.get(incident.camera_id)?.camera : null;
    if (camera) {
      // Out along the camera's view, and fanned out when one camera has several open incidents.
      const { lat, lon, heading, range_m: range = 80 } = camera.location;
      return offset(lat, lon, heading + (index % 5) * 12 - 24, range * 0.55);
    }
    for (const { report } of this.reports.values()) {
      if (report.incident_id === incident.id && report.lat != null && report.lon != null) return [report.lat, report.lon];
    }
    return null;
  }

  putIncident(incident) {
    if (!OPEN_INCIDENT.includes(incident.status)) {
      this.dropIncident(incident.id);
      return;
    }
    const entry = this.incidents.get(incident.id) ?? { marker: null };
    entry.incident = { ...(entry.incident || {}), ...incident };
    this.incidents.set(incident.id, entry);
    this.placeIncident(entry);
  }

  placeIncident(entry) {
    const { L } = this;
    const { incident } = entry;
    const siblings = [...this.incidents.values()].filter((e) => e.incident.camera_id && e.incident.camera_id === incident.camera_id);
    const position = this.incidentPosition(incident, siblings.indexOf(entry));
    if (!position) {
      if (entry.marker) entry.marker.remove();
      entry.marker = null;
      return;
    }
    const severity = incident.severity || "info";
    if (!entry.marker) {
      entry.marker = L.marker(position, { keyboard: true, riseOnHover: true, zIndexOffset: 500 }).addTo(this.layers.incidents);
    }
    entry.marker.setLatLng(position);
    entry.marker.setIcon(icon(L, "incident", `sev-${severity}`, "!"));
    this.label(entry.marker, t("map.incident.label", { id: incident.id, title: incident.title }));
    entry.marker.bindPopup(() => this.incidentPopup(entry.incident));
  }

  dropIncident(id) {
    const entry = this.incidents.get(id);
    if (!entry) return;
    if (entry.marker) entry.marker.remove();
    this.incidents.delete(id);
  }

  incidentPopup(incident) {
    const camera = incident.camera_id ? this.cameras.get(incident.camera_id)?.camera : null;
    return popup(
      el("strong", { text: incident.title }),
      el("div", {}, el("span", { class: `sev sev-${incident.severity}`, text: incident.severity }), " ",
        el("span", { class: "badge", text: incident.status })),
      camera ? el("div", { class: "muted", text: camera.name }) : null,
      incident.started_at ? el("div", { class: "muted", text: `${fmtTime(incident.started_at)} (${fmtAgo(incident.started_at)})` }) : null,
      el("div", { class: "mk-links" }, el("a", { href: `#/incidents/${incident.id}`, text: t("map.incident.open", { id: incident.id }) })),
    );
  }

  // -- citizens' reports ----------------------------------------------------------------------

  async loadReports() {
    const page = await api("/api/citizen-reports?status=open&limit=200");
    for (const report of page.items) this.putReport(report);
  }

  putReport(report) {
    const { L } = this;
    if (report.status !== "open" || report.lat == null || report.lon == null) {
      this.dropReport(report.id);
      return;
    }
    const entry = this.reports.get(report.id) ?? { marker: null };
    entry.report = { ...(entry.report || {}), ...report };
    this.reports.set(report.id, entry);
    if (!entry.marker) {
      entry.marker = L.marker([report.lat, report.lon], { keyboard: true, riseOnHover: true, zIndexOffset: 250 }).addTo(this.layers.reports);
    }
    entry.marker.setLatLng([report.lat, report.lon]);
    entry.marker.setIcon(icon(L, "report", report.incident_id ? "linked" : "unlinked", "✉"));
    const service = entry.report.service_name || entry.report.service_code;
    this.label(entry.marker, t("map.report.label", { id: report.id, service }));
    entry.marker.bindPopup(() => this.reportPopup(entry.report));
  }

  dropReport(id) {
    const entry = this.reports.get(id);
    if (!entry) return;
    if (entry.marker) entry.marker.remove();
    this.reports.delete(id);
  }

  reportPopup(report) {
    const when = report.requested_at || report.requested_datetime;
    return popup(
      el("strong", { text: t("map.report.title", { service: report.service_name || report.service_code }) }),
      report.description ? el("div", { text: report.description }) : null,
      report.address ? el("div", { class: "muted", text: report.address }) : null,
      when ? el("div", { class: "muted", text: `${fmtTime(when)} (${fmtAgo(when)})` }) : null,
      el("div", { class: "mk-links" },
        el("a", { href: `#/reports/${report.id}`, text: t("map.report.open") }),
        report.incident_id
          ? el("a", { href: `#/incidents/${report.incident_id}`, text: t("map.incident.open", { id: report.incident_id }) })
          : el("span", { class: "muted", text: t("map.report.unlinked") })),
    );
  }

  // -- live feed ------------------------------------------------------------------------------

  onIncident(event) {
    const payload = event.detail?.payload;
    if (!payload || payload.id == null) return;
    this.putIncident(payload);
    this.publish();
  }

  onReport(event) {
    const payload = event.detail?.payload;
    if (!payload || payload.id == null) return;
    this.putReport(payload);
    // A report that got linked may place an incident that had no camera.
    for (const entry of this.incidents.values()) if (!entry.incident.camera_id) this.placeIncident(entry);
    this.publish();
  }

  // -- helpers --------------------------------------------------------------------------------

  label(marker, text) {
    marker.options.title = text;
    const node = marker.getElement();
    if (node) {
      node.setAttribute("aria-label", text);
      node.setAttribute("title", text);
    } else {
      marker.once("add", () => this.label(marker, text));
    }
  }

  note(text) {
    this.status.replaceChildren(el("span", { class: "error", role: "alert", text }));
  }

  /** Without boundaries, look at the cameras. */
  fitCameras() {
    if (this.layers.kecamatan.getLayers().length || !this.cameras.size || this.params.camera) return;
    this.map.fitBounds(this.layers.cameras.getBounds().pad(0.2), { maxZoom: 16 });
  }

  focusCamera(id) {
    const entry = this.cameras.get(id);
    if (!entry) {
      this.note(t("map.camera.unknown", { id }));
      return;
    }
    this.map.setView(entry.marker.getLatLng(), 17);
    entry.marker.openPopup();
  }

  counts() {
    const placed = (entries) => [...entries.values()].filter((e) => e.marker).length;
    return { cameras: this.cameras.size, incidents: placed(this.incidents), reports: placed(this.reports) };
  }

  publish() {
    const counts = this.counts();
    if (this.ready) window.__mkMap = counts; // only once all layers are in: browser tests wait for it
    const down = [...this.cameras.values()].filter((e) => DOWN.has(e.camera.status.state)).length;
    const unplaced = this.incidents.size - counts.incidents;
    this.summary.textContent = t("map.summary", { ...counts, down })
      + (unplaced ? ` ${t("map.unplaced", { n: unplaced })}` : "");
  }

  destroy() {
    this.map.remove();
    this.map = null;
  }
}

function legend() {
  const item = (shape, tone, glyph, key) =>
    el("li", {}, el("span", { class: `mk-marker mk-${shape} mk-${tone} mk-legend-icon`, "aria-hidden": "true" },
      el("span", { class: "mk-glyph", text: glyph })), t(key));
  return el("section", { class: "mk-legend panel", "aria-labelledby": "mk-legend-title" },
    el("h2", { id: "mk-legend-title", text: t("map.legend.title") }),
    el("ul", {},
      item("camera", "ok", GLYPH.ok, "map.legend.online"),
      item("camera", "warn", GLYPH.warn, "map.legend.degraded"),
      item("camera", "down", GLYPH.down, "map.legend.down"),
      item("camera", "idle", GLYPH.idle, "map.legend.starting"),
      el("li", {}, el("span", { class: "mk-legend-sector", "aria-hidden": "true" }), t("map.legend.sector")),
      item("incident", "sev-high", "!", "map.legend.incident"),
      item("report", "unlinked", "✉", "map.legend.report"),
      el("li", {}, el("span", { class: "mk-legend-kecamatan", "aria-hidden": "true" }), t("map.legend.kecamatan")),
      el("li", {}, el("span", { class: "mk-legend-kelurahan", "aria-hidden": "true" }), t("map.legend.kelurahan"))));
}

registerView("map", {
  titleKey: "map.title",
  async render(container, params) {
    const box = el("div", { id: "mk-map", class: "mk-map", role: "region", "aria-label": t("map.region") });
    const status = el("p", { class: "mk-status", role: "status", "aria-live": "polite" });
    const summary = el("p", { class: "mk-summary muted", "aria-live": "polite" });
    container.append(
      el("div", { class: "mk-head" }, el("h1", { text: t("map.title") }), summary),
      status,
      el("div", { class: "mk-layout" }, box, legend()),
    );
    const L = await loadLeaflet();
    if (!box.isConnected) return undefined; // the user left while Leaflet loaded
    const city = new CityMap(L, box, status, params);
    city.summary = summary;
    const onIncident = (e) => city.onIncident(e);
    const onReport = (e) => city.onReport(e);
    for (const type of INCIDENT_EVENTS) feed.addEventListener(type, onIncident);
    for (const type of REPORT_EVENTS) feed.addEventListener(type, onReport);
    const refresh = () => city.loadCameras().catch((err) => city.note(err.message));
    const timer = setInterval(refresh, REFRESH_MS);
    const cleanup = () => {
      clearInterval(timer);
      for (const type of INCIDENT_EVENTS) feed.removeEventListener(type, onIncident);
      for (const type of REPORT_EVENTS) feed.removeEventListener(type, onReport);
      city.destroy();
      delete window.__mkMap;
    };
    try {
      await city.loadBase().catch((err) => city.note(err.message));
      await city.loadCameras();
      city.fitCameras();
      await city.loadReports(); // before the incidents: a report may be what places an incident
      await city.loadIncidents();
      city.ready = true;
      city.publish();
      if (params.camera) city.focusCamera(params.camera);
      city.showKelurahan();
    } catch (err) {
      cleanup();
      throw err;
    }
    return cleanup;
  },
});
