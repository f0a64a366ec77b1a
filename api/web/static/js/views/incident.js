/**
 * One incident: its clip and snapshot, where it happened, the citizens' reports and incidents linked
 * to it, its audit trail and SLA, and the workflow actions. Refreshes itself from the live feed.
 */

import { api, currentUser, el, feed, fmtAgo, fmtDuration, fmtTime, registerView, t, toast } from "../app.js";
import { dueOf, label, loadAgencies, loadCameras, moveIncident } from "../incidents.js";

const ACTIONS = [
  // [status, button style]
  ["acknowledged", "btn-primary"],
  ["dispatched", "btn-primary"],
  ["in_progress", ""],
  ["on_hold", ""],
  ["resolved", "btn-primary"],
  ["closed", ""],
  ["false_positive", "btn-danger"],
  ["duplicate", ""],
];

function fact(name, value) {
  return [el("dt", { text: name }), el("dd", {}, value ?? "—")];
}

function metres(m) {
  if (m === null || m === undefined) return "—";
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

class IncidentPage {
  constructor(container, id) {
    this.container = container;
    this.id = id;
    this.incident = null;
    this.media = { snapshot: undefined, clip: undefined };
  }

  build() {
    this.head = el("div", { class: "incident-head" });
    this.mediaBox = el("section", { class: "incident-media panel", "aria-label": t("incident.media") });
    this.factsBox = el("section", { class: "incident-facts panel", "aria-labelledby": "incident-facts-title" });
    this.actionsBox = this.buildActions();
    this.freshBox = this.buildFresh();
    this.reportsBox = el("section", { class: "incident-reports panel", "aria-labelledby": "incident-reports-title" });
    this.linksBox = el("section", { class: "incident-links panel", "aria-labelledby": "incident-links-title" });
    this.auditBox = el("section", { class: "incident-audit panel", "aria-labelledby": "incident-audit-title" });
    this.container.append(
      el("p", { class: "back" }, el("a", { href: "#/queue", text: `← ${t("incident.back")}` })),
      this.head,
      el(
        "div",
        { class: "incident-grid" },
        el("div", { class: "incident-col-main" }, this.mediaBox, this.freshBox, this.reportsBox),
        el("div", { class: "incident-col-side" }, this.factsBox, this.actionsBox, this.linksBox, this.auditBox),
      ),
    );
  }

  // --- actions -----------------------------------------------------------------------------------

  buildActions() {
    this.note = el("textarea", { id: "incident-note", rows: 2, maxlength: 2000, placeholder: t("incident.note.placeholder") });
    this.agency = el("select", { id: "incident-agency" });
    this.duplicateOf = el("input", { id: "incident-duplicate-of", type: "number", min: 1, inputmode: "numeric", placeholder: "#" });
    this.actionMessage = el("p", { class: "error", role: "alert" });
    const buttons = ACTIONS.map(([status, style]) =>
      el("button", {
        type: "button",
        class: `btn ${style}`,
        "data-action": status,
        text: t(`incident.action.${status}`),
        on: { click: () => this.act(status) },
      }),
    );
    this.buttons = buttons;
    return el(
      "section",
      { class: "incident-actions panel", "aria-labelledby": "incident-actions-title" },
      el("h2", { id: "incident-actions-title", text: t("incident.actions") }),
      el("label", { for: "incident-note", text: t("incident.note") }),
      this.note,
      el(
        "div",
        { class: "action-fields" },
        el("div", {}, el("label", { for: "incident-agency", text: t("incident.agency") }), this.agency),
        el("div", {}, el("label", { for: "incident-duplicate-of", text: t("incident.duplicateOf") }), this.duplicateOf),
      ),
      el("div", { class: "action-buttons" }, buttons),
      this.actionMessage,
    );
  }

  async fillAgencies() {
    try {
      const agencies = await loadAgencies();
      this.agency.replaceChildren(...agencies.map((a) => el("option", { value: a.code, text: `${a.code} — ${a.name}` })));
      const preferred = this.incident?.agency || this.incident?.routed_agency;
      if (preferred) this.agency.value = preferred;
    } catch (err) {
      this.agency.replaceChildren(el("option", { value: "", text: err.message }));
    }
  }

  async act(status) {
    const change = { to: status };
    const note = this.note.value.trim();
    if (note) change.note = note;
    if (status === "dispatched" && this.agency.value) change.agency = this.agency.value;
    if (status === "duplicate") {
      const into = Number(this.duplicateOf.value);
      if (!into) {
        this.actionMessage.textContent = t("incident.duplicateOf.missing");
        this.duplicateOf.focus();
        return;
      }
      change.merged_into = into;
    }
    this.actionMessage.textContent = "";
    for (const b of this.buttons) b.disabled = true;
    try {
      await moveIncident(this.id, change);
      this.note.value = "";
      toast(t("incident.moved", { status: label("status", status) }), "ok");
      await this.refresh();
    } catch (err) {
      this.actionMessage.textContent = t("incident.refused", { message: err.message });
    } finally {
      for (const b of this.buttons) b.disabled = false;
    }
  }

  // --- a fresh picture ---------------------------------------------------------------------------

  buildFresh() {
    this.freshButton = el("button", { type: "button", class: "btn", text: t("incident.fresh.ask"), on: { click: () => this.askFresh() } });
    this.freshResult = el("div", { class: "fresh-result", "aria-live": "polite" });
    return el(
      "section",
      { class: "incident-fresh panel", "aria-labelledby": "incident-fresh-title" },
      el("h2", { id: "incident-fresh-title", text: t("incident.fresh.title") }),
      this.freshButton,
      this.freshResult,
    );
  }

  async askFresh() {
    const camera = this.incident?.camera_id;
    if (!camera) return;
    this.freshButton.disabled = true;
    this.freshResult.replaceChildren(el("p", { class: "muted", text: t("incident.fresh.waiting") }));
    try {
      const shot = await api(`/api/cameras/${encodeURIComponent(camera)}/snapshots?wait_s=10`, { body: { incident_id: this.id } });
      if (shot.status === "ready" && shot.image_url) {
        this.freshResult.replaceChildren(
          el("img", { src: shot.image_url, alt: t("incident.fresh.alt", { camera, time: fmtTime(shot.frame_at) }), class: "evidence-img" }),
          el("p", { class: "muted", text: fmtTime(shot.frame_at) }),
        );
      } else {
        const why = shot.error || t("incident.fresh.state", { state: shot.status, camera: shot.camera_state || "" });
        this.freshResult.replaceChildren(el("p", { class: "error", text: why }));
      }
    } catch (err) {
      this.freshResult.replaceChildren(el("p", { class: "error", text: err.message }));
    } finally {
      this.freshButton.disabled = false;
    }
  }

  // --- data --------------------------------------------------------------------------------------

  async refresh() {
    const [incident, audit, cameras] = await Promise.all([
      api(`/api/incidents/${this.id}`),
      api(`/api/incidents/${this.id}/audit`),
      loadCameras().catch(() => new Map()),
    ]);
    this.incident = incident;
    const camera = cameras.get(incident.camera_id);
    this.camera = camera;
    document.title = `#${incident.id} ${incident.title} · Mata Kota`;
    this.renderHead(incident);
    this.renderMedia(incident);
    this.renderFacts(incident, camera);
    this.renderReports(incident);
    this.renderLinks(incident);
    this.renderAudit(audit);
    this.freshBox.hidden = !incident.camera_id;
    const preferred = incident.agency || incident.routed_agency;
    if (preferred && this.agency.options.length && !this.agency.dataset.touched) this.agency.value = preferred;
  }

  renderHead(incident) {
    this.head.replaceChildren();
    this.head.append(
      el("span", { class: `sev sev-${incident.severity}`, text: label("severity", incident.severity) }),
      el("h1", {}, el("span", { class: "muted", text: `#${incident.id} ` }), incident.title),
      el("span", { class: `status status-${incident.status} badge`, text: label("status", incident.status) }),
    );
    if (incident.overdue) this.head.append(el("span", { class: "badge overdue", text: `⚠ ${t("incident.overdue")}` }));
  }

  renderMedia(incident) {
    if (this.media.snapshot === incident.snapshot_url && this.media.clip === incident.clip_url && this.media.status === incident.clip_status) return;
    this.media = { snapshot: incident.snapshot_url, clip: incident.clip_url, status: incident.clip_status };
    const clip = incident.clip_url
      ? el("video", { controls: true, preload: "metadata", src: incident.clip_url, poster: incident.snapshot_url || null, class: "evidence-video", "aria-label": t("incident.clip") })
      : el("p", { class: "muted evidence-missing", text: t(`incident.clip.${incident.clip_status}`) });
    const snapshot = incident.snapshot_url
      ? el("img", {
          src: incident.snapshot_url,
          alt: t("incident.snapshot.alt", { title: incident.title }),
          class: "evidence-img",
          on: { error: (e) => e.target.replaceWith(el("p", { class: "muted evidence-missing", text: t("incident.snapshot.none") })) },
        })
      : el("p", { class: "muted evidence-missing", text: t("incident.snapshot.none") });
    this.mediaBox.replaceChildren(
      el("figure", {}, clip, el("figcaption", { text: t("incident.clip") })),
      el("figure", {}, snapshot, el("figcaption", { text: t("incident.snapshot") })),
    );
  }

  renderFacts(incident, camera) {
    const due = dueOf(incident);
    let sla = t("incident.sla.done");
    if (due) {
      const left = (Date.parse(due.at) - Date.now()) / 1000;
      sla = el(
        "span",
        { class: left < 0 ? "overdue" : "" },
        left < 0 ? `⚠ ${t("queue.sla.late", { d: fmtDuration(left) })}` : t(`queue.sla.${due.what}`, { d: fmtDuration(left) }),
        el("span", { class: "muted", text: ` (${fmtTime(due.at)})` }),
      );
    }
    const where = camera?.location;
    const mapLink = incident.camera_id
      ? el("a", { href: `#/map?camera=${encodeURIComponent(incident.camera_id)}&incident=${incident.id}`, class: "small", text: t("incident.onMap") })
      : null;
    this.factsBox.replaceChildren(
      el("h2", { id: "incident-facts-title", text: t("incident.facts") }),
      el(
        "dl",
        { class: "facts" },
        fact(t("queue.col.kind"), label("kind", incident.kind)),
        fact(t("queue.col.camera"), camera ? `${camera.name} (${camera.id})` : incident.camera_id),
        fact(t("incident.zone"), incident.zone),
        fact(t("incident.location"), [where?.address || (where ? `${where.lat.toFixed(5)}, ${where.lon.toFixed(5)}` : "—"), mapLink ? " " : null, mapLink]),
        fact(t("queue.col.kecamatan"), where ? [where.kecamatan, where.kelurahan ? ` / ${where.kelurahan}` : ""].join("") || "—" : "—"),
        fact(t("incident.started"), `${fmtTime(incident.started_at)} (${fmtAgo(incident.started_at)})`),
        fact(t("incident.lastSeen"), incident.ended_at ? fmtTime(incident.ended_at) : `${fmtTime(incident.last_seen_at)} · ${t("incident.ongoing")}`),
        fact(t("queue.col.agency"), incident.agency || (incident.routed_agency ? `${incident.routed_agency} (${t("incident.routed")})` : null)),
        fact(t("queue.col.sla"), sla),
        incident.merged_into ? fact(t("incident.mergedInto"), el("a", { href: `#/incidents/${incident.merged_into}`, text: `#${incident.merged_into}` })) : null,
        incident.review ? fact(t("incident.review"), `${incident.review.verdict} · ${incident.review.by}`) : null,
      ),
    );
  }

  renderReports(incident) {
    const reports = incident.citizen_reports || [];
    this.reportsBox.replaceChildren(
      el("h2", { id: "incident-reports-title", text: t("incident.reports", { n: reports.length }) }),
      reports.length
        ? el(
            "ul",
            { class: "linked-reports" },
            reports.map((r) =>
              el(
                "li",
                { class: "linked-report" },
                r.photo_url
                  ? el("a", { href: `/api/citizen-reports/${r.id}/media.jpg`, target: "_blank", rel: "noopener" }, el("img", { src: `/api/citizen-reports/${r.id}/media.jpg`, alt: t("incident.reportPhoto", { id: r.service_request_id }), loading: "lazy" }))
                  : el("div", { class: "no-photo", text: t("incident.noPhoto") }),
                el(
                  "div",
                  {},
                  el("strong", { text: `${r.service_code} · ${r.service_request_id}` }),
                  el("p", { text: r.description || "—" }),
                  el("p", { class: "muted", text: t("incident.reportDistance", { d: metres(r.distance_m), status: r.status }) }),
                ),
              ),
            ),
          )
        : el("p", { class: "muted", text: t("incident.reports.none") }),
    );
  }

  renderLinks(incident) {
    const links = incident.linked_incidents || [];
    const supervisor = ["supervisor", "admin"].includes(currentUser()?.role);
    this.linksBox.replaceChildren(
      el("h2", { id: "incident-links-title", text: t("incident.links") }),
      links.length
        ? el(
            "ul",
            { class: "links" },
            links.map((link) => {
              const other = link.incident_id === incident.id ? link.linked_incident_id : link.incident_id;
              const open = link.status === "suggested";
              return el(
                "li",
                {},
                el("a", { href: `#/incidents/${other}`, text: `#${other}` }),
                ` · ${link.reason} · ${metres(link.distance_m)} · `,
                el("span", { class: "badge", text: t(`incident.link.${link.status}`) }),
                open
                  ? el(
                      "span",
                      { class: "link-actions" },
                      el("button", {
                        type: "button",
                        class: "btn",
                        disabled: !supervisor,
                        title: supervisor ? null : t("incident.link.needsSupervisor"),
                        text: t("incident.link.merge", { from: link.linked_incident_id, into: link.incident_id }),
                        on: { click: () => this.linkAction(`/api/incidents/${link.linked_incident_id}/merge`, { into: link.incident_id }) },
                      }),
                      el("button", {
                        type: "button",
                        class: "btn btn-quiet",
                        text: t("incident.link.dismiss"),
                        on: { click: () => this.linkAction(`/api/incidents/links/${link.id}/dismiss`, undefined) },
                      }),
                    )
                  : null,
              );
            }),
          )
        : el("p", { class: "muted", text: t("incident.links.none") }),
    );
  }

  async linkAction(path, body) {
    try {
      await api(path, { method: "POST", body });
      await this.refresh();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  renderAudit(audit) {
    this.auditBox.replaceChildren(
      el("h2", { id: "incident-audit-title", text: t("incident.audit") }),
      audit.length
        ? el(
            "ol",
            { class: "audit" },
            audit.map((row) =>
              el(
                "li",
                {},
                el("time", { datetime: row.at, text: fmtTime(row.at) }),
                " ",
                el("strong", { text: row.by }),
                ` ${label("status", row.from_status)} → ${label("status", row.to_status)}`,
                row.details?.agency ? ` (${row.details.agency})` : "",
                row.details?.merged_into ? ` (#${row.details.merged_into})` : "",
                row.note ? el("q", { text: row.note }) : null,
              ),
            ),
          )
        : el("p", { class: "muted", text: t("incident.audit.none") }),
    );
  }
}

registerView("incident", {
  titleKey: "incident.title",
  async render(container, params) {
    const id = Number(params.id);
    if (!Number.isInteger(id) || id < 1) {
      container.append(el("p", { class: "error", text: t("incident.notFound") }));
      return undefined;
    }
    const page = new IncidentPage(container, id);
    page.build();
    page.agency.addEventListener("change", () => (page.agency.dataset.touched = "1"));
    let timer = null;
    const onFeed = (event) => {
      const { subject, subject_id: subjectId } = event.detail;
      if (subject === "incident" && subjectId !== id) return;
      clearTimeout(timer);
      timer = setTimeout(() => page.refresh().catch((err) => toast(err.message, "error")), 300);
    };
    const types = ["incident.updated", "incident.evidence", "report.created", "report.updated"];
    for (const type of types) feed.addEventListener(type, onFeed);
    const slaTimer = setInterval(() => page.incident && page.renderFacts(page.incident, page.camera), 30000);
    const cleanup = () => {
      for (const type of types) feed.removeEventListener(type, onFeed);
      clearTimeout(timer);
      clearInterval(slaTimer);
    };
    try {
      await page.refresh();
      await page.fillAgencies();
    } catch (err) {
      if (err.status !== 401) container.append(el("p", { class: "error", role: "alert", text: err.status === 404 ? t("incident.notFound") : err.message }));
    }
    return cleanup;
  },
});
