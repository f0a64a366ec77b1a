/**
 * One citizen's report (#/reports/{id}): what the citizen wrote and photographed, where and when, the
 * cameras near it (the suggested one to ask for a fresh picture), and the incident it is linked to,
 * with linking, unlinking and correlating again. Refreshes itself from the live feed.
 */

import { api, el, feed, fmtAgo, fmtTime, registerView, t, toast } from "../app.js";
import { label } from "../incidents.js";

function fact(name, value) {
  return [el("dt", { text: name }), el("dd", {}, value ?? "—")];
}

function metres(m) {
  if (m === null || m === undefined) return "—";
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

/** Only the API's own copy of the photo is shown inline; a URL the citizen gave is a link, never fetched. */
function ownPhoto(url) {
  return typeof url === "string" && url.startsWith("/api/");
}

class ReportPage {
  constructor(container, id) {
    this.container = container;
    this.id = id;
    this.report = null;
    this.photo = undefined;
    this.fresh = new Map(); // camera id -> its fresh-picture box, kept across refreshes
  }

  build() {
    this.head = el("div", { class: "report-head" });
    this.photoBox = el("section", { class: "report-photo panel", "aria-labelledby": "report-photo-title" });
    this.factsBox = el("section", { class: "report-facts panel", "aria-labelledby": "report-facts-title" });
    this.camerasBox = el("section", { class: "report-cameras panel", "aria-labelledby": "report-cameras-title" });
    this.incidentBox = el("section", { class: "report-incident panel", "aria-labelledby": "report-incident-title" });
    this.container.append(
      el("p", { class: "back" }, el("a", { href: "#/queue", text: `← ${t("report.back")}` })),
      this.head,
      el(
        "div",
        { class: "report-grid" },
        el("div", { class: "report-col-main" }, this.photoBox, this.camerasBox),
        el("div", { class: "report-col-side" }, this.factsBox, this.incidentBox),
      ),
    );
    this.buildIncident();
  }

  // --- data --------------------------------------------------------------------------------------

  async refresh() {
    this.show(await api(`/api/citizen-reports/${this.id}`));
  }

  show(report) {
    this.report = report;
    document.title = `${t("report.title")} ${report.service_request_id} · Mata Kota`;
    this.renderHead(report);
    this.renderPhoto(report);
    this.renderFacts(report);
    this.renderCameras(report);
    this.renderIncident(report);
  }

  /** POST to one of the report's actions; the answer is the report as it is now. Errors go to a toast. */
  async post(action, body, busy) {
    for (const b of busy) b.disabled = true;
    try {
      this.show(await api(`/api/citizen-reports/${this.id}/${action}`, { method: "POST", body }));
      return true;
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
      return false;
    } finally {
      for (const b of busy) b.disabled = false;
    }
  }

  // --- head, photo, facts ------------------------------------------------------------------------

  renderHead(report) {
    const parts = [
      el(
        "h1",
        {},
        el("span", { class: "muted", text: `${t("report.title")} ` }),
        `${report.service_name} · ${report.service_request_id}`,
      ),
      el("span", { class: `badge report-status report-status-${report.status}`, text: t(`report.status.${report.status}`) }),
      report.camera_confirmed_at ? el("span", { class: "badge report-confirmed", text: `✓ ${t("report.confirmed")}` }) : null,
      report.confidential ? el("span", { class: "badge", text: t("report.confidential") }) : null,
    ];
    this.head.replaceChildren(...parts.filter(Boolean));
  }

  renderPhoto(report) {
    if (this.photo === report.photo_url) return; // keep the loaded image across refreshes
    this.photo = report.photo_url;
    let photo;
    if (ownPhoto(report.photo_url)) {
      photo = el("img", {
        src: report.photo_url,
        class: "evidence-img",
        alt: t("report.photo.alt", { id: report.service_request_id }),
        on: { error: (e) => e.target.replaceWith(el("p", { class: "muted evidence-missing", text: t("report.photo.none") })) },
      });
    } else if (report.photo_url) {
      photo = el("p", { class: "muted" }, el("a", { href: report.photo_url, target: "_blank", rel: "noopener noreferrer", text: t("report.photo.external") }));
    } else {
      photo = el("p", { class: "muted evidence-missing", text: t("report.photo.none") });
    }
    this.photoBox.replaceChildren(
      el("h2", { id: "report-photo-title", text: t("report.photo") }),
      el("figure", {}, photo, el("figcaption", { class: "report-description", text: report.description || t("report.description.none") })),
    );
  }

  renderFacts(report) {
    const reporter = report.reporter;
    const who = reporter
      ? [[reporter.first_name, reporter.last_name].filter(Boolean).join(" "), reporter.phone, reporter.email].filter(Boolean).join(" · ") || "—"
      : t("report.anonymous");
    const place = report.lat != null && report.lon != null ? `${report.lat.toFixed(5)}, ${report.lon.toFixed(5)}` : null;
    this.factsBox.replaceChildren(
      el("h2", { id: "report-facts-title", text: t("report.facts") }),
      el(
        "dl",
        { class: "facts" },
        fact(t("report.description"), report.description),
        fact(t("report.category"), `${report.service_name} (${report.service_code})`),
        fact(t("report.address"), report.address),
        fact(t("report.coordinates"), place),
        fact(t("report.requested"), `${fmtTime(report.requested_at)} (${fmtAgo(report.requested_at)})`),
        fact(t("report.status"), [t(`report.status.${report.status}`), report.status_notes ? el("span", { class: "muted", text: ` · ${report.status_notes}` }) : null]),
        fact(t("report.agency"), report.agency_responsible),
        fact(t("report.reporter"), who),
        fact(t("report.correlated"), report.correlated_at ? fmtTime(report.correlated_at) : t("report.correlated.never")),
      ),
    );
  }

  // --- cameras and fresh pictures ----------------------------------------------------------------

  renderCameras(report) {
    const cameras = report.cameras || [];
    this.camerasBox.replaceChildren(
      el("h2", { id: "report-cameras-title", text: t("report.cameras", { n: cameras.length }) }),
      cameras.length
        ? el("ul", { class: "report-camera-list" }, cameras.map((camera) => this.cameraItem(camera)))
        : el("p", { class: "muted", text: t("report.cameras.none") }),
    );
  }

  cameraItem(camera) {
    let result = this.fresh.get(camera.camera_id);
    if (!result) {
      result = el("div", { class: "fresh-result", "aria-live": "polite" });
      this.fresh.set(camera.camera_id, result);
    }
    const button = el("button", {
      type: "button",
      class: ["btn", camera.suggested_for_snapshot && "btn-primary"],
      text: t("report.fresh.ask"),
      "aria-label": t("report.fresh.askCamera", { camera: camera.name }),
      on: { click: () => this.askFresh(camera, button, result) },
    });
    return el(
      "li",
      { class: ["report-camera", camera.suggested_for_snapshot && "is-suggested"], "data-camera": camera.camera_id },
      el(
        "div",
        { class: "report-camera-head" },
        el("a", { href: `#/wall/${encodeURIComponent(camera.camera_id)}`, text: `${camera.name} (${camera.camera_id})` }),
        camera.suggested_for_snapshot ? el("span", { class: "badge badge-suggested", text: `★ ${t("report.camera.suggested")}` }) : null,
        el("span", { class: ["badge", camera.in_view ? "badge-in-view" : "badge-out-of-view"], text: t(camera.in_view ? "report.camera.inView" : "report.camera.outOfView") }),
      ),
      el("p", { class: "muted", text: t("report.camera.where", { d: metres(camera.distance_m), bearing: Math.round(camera.bearing_deg), heading: Math.round(camera.heading) }) }),
      button,
      result,
    );
  }

  async askFresh(camera, button, result) {
    button.disabled = true;
    result.replaceChildren(el("p", { class: "muted", text: t("report.fresh.waiting") }));
    try {
      const shot = await api(`/api/cameras/${encodeURIComponent(camera.camera_id)}/snapshots?wait_s=10`, { body: { report_id: this.id } });
      if (shot.status === "ready" && shot.image_url) {
        result.replaceChildren(
          el("img", { src: shot.image_url, class: "evidence-img", alt: t("report.fresh.alt", { camera: camera.name, time: fmtTime(shot.frame_at) }) }),
          el("p", { class: "muted", text: fmtTime(shot.frame_at) }),
        );
      } else {
        const why = shot.error || t("report.fresh.state", { state: shot.status, camera: shot.camera_state || "" });
        result.replaceChildren(el("p", { class: "error", text: why }));
      }
    } catch (err) {
      result.replaceChildren();
      if (err.status !== 401) toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  // --- the incident: link, unlink, correlate -----------------------------------------------------

  /** The incident panel's controls, built once so that what the operator typed survives a refresh. */
  buildIncident() {
    this.note = el("input", { id: "report-note", type: "text", maxlength: 2000, placeholder: t("report.note.placeholder") });
    this.linkedBox = el("div", { class: "report-linked" });
    this.unlinkButton = el("button", {
      type: "button",
      class: "btn btn-danger",
      text: t("report.unlink"),
      hidden: true,
      on: { click: () => this.unlink() },
    });
    this.correlateButton = el("button", {
      type: "button",
      class: "btn",
      text: t("report.correlate"),
      title: t("report.correlate.help"),
      on: { click: () => this.correlate() },
    });
    this.linkInput = el("input", { id: "report-link-incident", name: "incident_id", type: "number", min: 1, inputmode: "numeric", placeholder: "#" });
    this.linkButton = el("button", { type: "submit", class: "btn btn-primary", text: t("report.link") });
    const form = el(
      "form",
      { class: "report-link-form", "aria-label": t("report.link.form"), on: { submit: (e) => this.onLinkSubmit(e) } },
      el("label", { for: "report-link-incident", text: t("report.link.incident") }),
      el("div", { class: "report-link-row" }, this.linkInput, this.linkButton),
    );
    this.nearbyBox = el("div", { class: "report-nearby-box" });
    this.incidentBox.append(
      el("h2", { id: "report-incident-title", text: t("report.incident") }),
      this.linkedBox,
      el("label", { for: "report-note", text: t("report.note") }),
      this.note,
      el("div", { class: "action-buttons" }, this.unlinkButton, this.correlateButton),
      form,
      this.nearbyBox,
    );
  }

  busyButtons() {
    return [this.unlinkButton, this.correlateButton, this.linkButton, ...this.nearbyBox.querySelectorAll("button")];
  }

  noteBody() {
    const note = this.note.value.trim();
    return note ? { note } : {};
  }

  async link(incidentId) {
    if (await this.post("link", { incident_id: incidentId, ...this.noteBody() }, this.busyButtons())) {
      this.note.value = "";
      this.linkInput.value = "";
      toast(t("report.linked", { id: incidentId }), "ok");
    }
  }

  async unlink() {
    if (await this.post("unlink", this.noteBody(), this.busyButtons())) {
      this.note.value = "";
      toast(t("report.unlinked"), "ok");
    }
  }

  async correlate() {
    if (await this.post("correlate", undefined, this.busyButtons())) toast(t("report.correlated.done"), "ok");
  }

  onLinkSubmit(event) {
    event.preventDefault();
    const value = Number(this.linkInput.value);
    if (!this.linkInput.value || !Number.isInteger(value) || value < 1) {
      toast(t("report.link.missing"), "error");
      this.linkInput.focus();
      return;
    }
    this.link(value);
  }

  renderIncident(report) {
    const incident = report.incident;
    if (incident) {
      this.linkedBox.replaceChildren(
        el(
          "p",
          {},
          el("a", { href: `#/incidents/${incident.id}`, class: "report-incident-link", text: `#${incident.id} ${incident.title}` }),
          " ",
          el("span", { class: `status status-${incident.status}`, text: label("status", incident.status) }),
        ),
        el("p", { class: "muted", text: t("report.incident.where", { kind: label("kind", incident.kind), d: metres(incident.distance_m), time: fmtTime(incident.started_at) }) }),
      );
      this.unlinkButton.setAttribute("aria-label", t("report.unlink.label", { id: incident.id }));
    } else {
      this.linkedBox.replaceChildren(el("p", { class: "muted report-unlinked", text: t("report.incident.none") }));
    }
    this.unlinkButton.hidden = !incident;
    const nearby = report.nearby_incidents || [];
    this.nearbyBox.replaceChildren(
      ...(nearby.length
        ? [
            el("h3", { text: t("report.nearby", { n: nearby.length }) }),
            el(
              "ul",
              { class: "report-nearby" },
              nearby.map((n) =>
                el(
                  "li",
                  {},
                  el("a", { href: `#/incidents/${n.id}`, text: `#${n.id} ${n.title}` }),
                  el("span", { class: "muted", text: ` · ${label("status", n.status)} · ${metres(n.distance_m)} ` }),
                  el("button", {
                    type: "button",
                    class: "btn",
                    text: t("report.link.to", { id: n.id }),
                    "aria-label": t("report.link.toLabel", { id: n.id, title: n.title }),
                    on: { click: () => this.link(n.id) },
                  }),
                ),
              ),
            ),
          ]
        : [el("p", { class: "muted", text: t("report.nearby.none") })]),
    );
  }
}

registerView("report", {
  titleKey: "report.title",
  async render(container, params) {
    const id = Number(params.id);
    if (!Number.isInteger(id) || id < 1) {
      container.append(el("p", { class: "error", role: "alert", text: t("report.notFound") }));
      return undefined;
    }
    const page = new ReportPage(container, id);
    page.build();
    let timer = null;
    const onFeed = (event) => {
      const { subject, subject_id: subjectId } = event.detail;
      if (subject === "report" && subjectId !== id) return;
      if (subject === "incident" && subjectId !== page.report?.incident_id) return;
      clearTimeout(timer);
      timer = setTimeout(() => page.refresh().catch((err) => err.status !== 401 && toast(err.message, "error")), 300);
    };
    const types = ["report.updated", "incident.updated"];
    for (const type of types) feed.addEventListener(type, onFeed);
    const cleanup = () => {
      for (const type of types) feed.removeEventListener(type, onFeed);
      clearTimeout(timer);
    };
    try {
      await page.refresh();
    } catch (err) {
      if (err.status !== 401) container.append(el("p", { class: "error", role: "alert", text: err.status === 404 ? t("report.notFound") : err.message }));
    }
    return cleanup;
  },
});
