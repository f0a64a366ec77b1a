/**
 * Coverage plans (#/plans, #/plans/{id}): the plans asked for, live while the planner runs them;
 * a finished plan's map, key figures (cameras, coverage, the solver's proof, network, storage,
 * analytics servers) and report files; and, for supervisors and admins, the form that asks for a
 * new plan over chosen kelurahan and points-of-interest layers (POST /api/plans).
 */

import { api, currentUser, el, fmtAgo, fmtTime, lang, registerView, t, toast } from "../app.js";

const POLL_MS = 2000;
const ACTIVE = new Set(["queued", "running"]);
const AREA_PATH = "assets:geo/kelurahan_palembang.geojson";
const AREA_NAME = "NAMOBJ"; // the raw file's property; /api/geo/kelurahan.geojson serves the same value as `name`

/** The points-of-interest layers of BIG's 1:50,000 base map, with plans/palembang.yaml's classes, weights and densities. */
export const POI_LAYERS = [
  { layer: "NIAGA_PT", cls: "market", weight: 10, density: "observe", on: true },
  { layer: "TERMINALBUS_PT", cls: "terminal", weight: 10, density: "observe", on: true },
  { layer: "RUMAHSAKIT_PT", cls: "hospital", weight: 8, density: "observe", on: true },
  { layer: "PENDIDIKAN_PT", cls: "school", weight: 4, density: "observe", on: true },
  { layer: "PUSKESMAS_PT", cls: "health_centre", weight: 3, density: "detect", on: false },
  { layer: "JEMBATAN_PT", cls: "bridge", weight: 3, density: "detect", on: false },
  { layer: "PEMERINTAHAN_PT", cls: "government", weight: 2, density: "detect", on: false },
];

/** The camera models and candidate poles of plans/palembang.yaml. */
const MODELS = [
  { name: "bullet-4mp-wide", sensor_px_w: 2560, sensor_px_h: 1440, hfov_deg: 90, mount_height_m: 6, bitrate_kbps: 4096, substream_kbps: 512, fps: 15 },
  { name: "bullet-4mp-tele", sensor_px_w: 2560, sensor_px_h: 1440, hfov_deg: 40, mount_height_m: 6, bitrate_kbps: 4096, substream_kbps: 512, fps: 15 },
];
const CANDIDATES = { around_points_m: 15, points_per_poi: 4, headings_per_pole: 4 };
const DOWNLOADS = ["plan.geojson", "cameras.yaml", "coverage.csv", "summary.json"];

/** The JSON of POST /api/plans (a PlanSpec) for the form's choices. */
export function planSpec({ name, kelurahan, layers, target, budget, keepCameras }) {
  const area = { source: { path: AREA_PATH }, name_property: AREA_NAME };
  if (kelurahan.length) area.only = kelurahan;
  return {
    name,
    area,
    demand: {
      points: layers.map((l) => ({
        source: { path: `assets:geo/palembang-rbi50k/${l.layer}_50K.geojson` },
        class: l.cls,
        weight: l.weight,
        density: l.density,
      })),
    },
    models: MODELS,
    candidates: CANDIDATES,
    objective: budget !== null && budget !== undefined ? { budget } : { target },
    ...(keepCameras ? { existing: { service_cameras: true } } : {}),
  };
}

function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return new Intl.NumberFormat(lang() === "id" ? "id-ID" : "en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

function percent(share, digits = 1) {
  return share === null || share === undefined ? "—" : `${number(share * 100, digits)} %`;
}

function isBudget(summary) {
  return String(summary.objective ?? "").startsWith("budget");
}

/** The solver's proof in words: proven optimal, or its bound and gap, or none. */
function proof(summary) {
  const best = summary.solution ?? {};
  if (best.bound === null || best.bound === undefined) return t("plans.proof.none");
  const bound = isBudget(summary)
    ? t("plans.proof.boundBudget", { share: percent(best.bound / summary.total_weight) })
    : t("plans.proof.boundTarget", { n: number(best.bound) });
  if (best.optimal) return t("plans.proof.optimal", { bound });
  return t("plans.proof.gap", { bound, gap: percent(best.gap) });
}

function statusText(plan) {
  return t(`plans.status.${plan.status}`);
}

function stageText(stage) {
  if (!stage) return "";
  const key = `plans.stage.${stage}`;
  const shown = t(key);
  return shown === key ? stage : shown;
}

class PlansPage {
  constructor(container, params) {
    this.container = container;
    this.selectedId = params.id !== undefined ? Number(params.id) : null;
    this.plans = [];
    this.timer = null;
    this.stopped = false;
    this.busy = false;
    this.supervisor = ["supervisor", "admin"].includes(currentUser()?.role);
  }

  build() {
    this.error = el("p", { class: "error", role: "alert" });
    this.listBox = el("section", { class: "plans-list panel", "aria-labelledby": "plans-list-title" });
    this.detailBox = el("section", { class: "plans-detail panel", "aria-labelledby": "plans-detail-title", "aria-live": "polite" });
    this.formBox = this.supervisor ? this.buildForm() : null;
    this.container.append(
      el("div", { class: "plans-head" }, el("h1", { text: t("plans.title") }), el("p", { class: "muted", text: t("plans.intro") })),
      this.error,
      el("div", { class: "plans-grid" },
        el("div", { class: "plans-col-main" }, this.listBox, this.detailBox),
        el("div", { class: "plans-col-side" },
          this.formBox ?? el("section", { class: "plans-form panel" }, el("p", { class: "muted", text: t("plans.form.onlySupervisors") })))),
    );
    this.detailBox.hidden = true;
  }

  // --- the list ------------------------------------------------------------------------------------

  async refresh() {
    this.plans = await api("/api/plans");
    this.error.textContent = "";
    this.renderList();
    await this.renderDetail();
  }

  /** Poll while a plan is queued or running; stop once none is, or the view is left. */
  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || !this.plans.some((p) => ACTIVE.has(p.status))) return;
    this.timer = setTimeout(() => this.tick(), POLL_MS);
  }

  async tick() {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      await this.refresh();
    } catch (err) {
      if (err.status !== 401) this.error.textContent = t("plans.error", { message: err.message });
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  renderList() {
    const cols = ["name", "status", "cameras", "coverage", "solver", "requestedBy", "when"];
    this.listBox.replaceChildren(el("table", { class: "plans-table" },
      el("caption", { id: "plans-list-title", text: t("plans.list") }),
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", { scope: "col", class: ["cameras", "coverage"].includes(c) ? "plans-num" : null, text: t(`plans.col.${c}`) })))),
      el("tbody", {}, this.plans.length
        ? this.plans.map((plan) => this.row(plan))
        : el("tr", {}, el("td", { colspan: cols.length, class: "muted", text: t("plans.empty") })))));
  }

  row(plan) {
    const s = plan.summary;
    const selected = plan.id === this.selectedId;
    const name = plan.status === "done"
      ? el("a", { href: `#/plans/${plan.id}`, "aria-current": selected ? "true" : null, text: plan.name })
      : plan.name;
    return el("tr", { class: ["plans-row", selected && "is-selected"], "data-plan": plan.id, "data-status": plan.status },
      el("th", { scope: "row" }, name),
      el("td", {}, this.statusCell(plan)),
      el("td", { class: "plans-num" }, s ? t("plans.camerasShort", { new: number(s.cameras_new), existing: number(s.cameras_existing) }) : "—"),
      el("td", { class: "plans-num" }, s ? percent(s.coverage) : "—"),
      el("td", {}, s ? [el("span", { text: s.solution?.solver ?? "—" }), el("br"), el("span", { class: "muted plans-proof", text: proof(s) })] : "—"),
      el("td", { text: plan.requested_by }),
      el("td", { title: fmtTime(plan.created_at), text: fmtAgo(plan.created_at) }));
  }

  statusCell(plan) {
    const badge = el("span", { class: `plans-status plans-status-${plan.status}`, text: statusText(plan) });
    if (ACTIVE.has(plan.status)) {
      const share = Math.round((plan.progress || 0) * 100);
      return [
        badge,
        el("span", { class: "plans-progress" },
          el("progress", { max: 100, value: share, "aria-label": t("plans.progress", { name: plan.name }) }),
          el("span", { class: "muted", text: [stageText(plan.stage), `${share} %`].filter(Boolean).join(" · ") })),
      ];
    }
    if (plan.status === "failed") return [badge, el("p", { class: "plans-failure", text: plan.error || "" })];
    return badge;
  }

  // --- one plan ------------------------------------------------------------------------------------

  async renderDetail() {
    if (this.selectedId === null) {
      this.detailBox.hidden = true;
      return;
    }
    let plan = this.plans.find((p) => p.id === this.selectedId);
    if (!plan) {
      try {
        plan = await api(`/api/plans/${this.selectedId}`);
      } catch (err) {
        if (err.status === 401) return;
        this.detailBox.hidden = false;
        this.detailBox.replaceChildren(el("h2", { id: "plans-detail-title", text: t("plans.detail") }),
          el("p", { class: "error", text: err.status === 404 ? t("plans.notFound") : err.message }));
        return;
      }
    }
    this.detailBox.hidden = false;
    if (this.shown === `${plan.id}:${plan.status}`) return; // a done plan does not change: keep its image
    this.shown = `${plan.id}:${plan.status}`;
    document.title = `${plan.name} · ${t("plans.title")} · Mata Kota`;
    const title = el("h2", { id: "plans-detail-title", text: plan.name });
    if (plan.status !== "done") {
      this.detailBox.replaceChildren(title, el("p", {}, this.statusCell(plan)),
        el("p", { class: "muted", text: plan.status === "failed" ? t("plans.failedNote") : t("plans.notReady") }));
      if (ACTIVE.has(plan.status)) this.shown = null; // keep its progress live
      return;
    }
    const s = plan.summary;
    const sizing = s.sizing ?? {};
    const best = s.solution ?? {};
    const fact = (key, value, extra) => [el("dt", { text: t(`plans.fig.${key}`) }), el("dd", { "data-fig": key }, value, extra ?? null)];
    const map = el("img", {
      class: "plans-map",
      src: plan.files["map.png"],
      alt: t("plans.mapAlt", { name: plan.name }),
      width: 1200,
      height: 900,
    });
    this.detailBox.replaceChildren(
      el("div", { class: "plans-detail-head" },
        title,
        el("span", { class: "muted", text: `${t("plans.col.requestedBy")}: ${plan.requested_by} · ${fmtTime(plan.finished_at || plan.created_at)}` })),
      el("p", { class: "muted", text: s.objective }),
      el("div", { class: "plans-detail-grid" },
        el("figure", { class: "plans-figure" }, el("a", { href: plan.files["map.png"], target: "_blank", rel: "noopener" }, map)),
        el("div", {},
          el("dl", { class: "plans-figures" },
            fact("cameras", t("plans.camerasLong", { total: number(s.cameras_total ?? s.cameras_new + s.cameras_existing), new: number(s.cameras_new), existing: number(s.cameras_existing) })),
            fact("coverage", percent(s.coverage), (s.notes ?? []).length ? el("span", { class: "plans-note" }, (s.notes ?? []).map((n) => el("span", { class: "muted", text: n }))) : null),
            fact("solver", `${best.solver ?? "—"}: ${t("plans.solverLine", { n: number(best.cameras), share: percent(best.coverage), seconds: number(best.seconds, 1) })}`),
            fact("proof", proof(s)),
            fact("beside", (s.alternatives ?? []).length
              ? el("ul", { class: "plans-alt" }, s.alternatives.map((a) => el("li", { text: `${a.solver}: ${t("plans.altLine", { n: number(a.cameras), share: percent(a.coverage) })}` })))
              : "—"),
            fact("network", t("plans.mbps", { n: number(sizing.bandwidth_mbps) })),
            fact("storage", t("plans.storage", { usable: number(sizing.usable_tb, 1), raw: number(sizing.raw_tb, 1), days: number(sizing.retention_days), raid: sizing.raid ?? "" })),
            fact("servers", t("plans.servers", { n: number(sizing.servers), fps: number(sizing.detect_fps_total) }))),
          el("p", { class: "plans-files" },
            el("a", { class: "btn btn-primary", href: plan.files["report.html"], target: "_blank", rel: "noopener", text: t("plans.openReport") }),
            DOWNLOADS.filter((f) => plan.files[f]).map((f) => el("a", { class: "btn", href: plan.files[f], download: `plan-${plan.id}-${f}`, text: t("plans.download", { file: f }) }))),
          this.perClass(s))),
    );
  }

  perClass(s) {
    const rows = s.per_class ?? [];
    if (!rows.length) return null;
    return el("table", { class: "plans-table plans-classes" },
      el("caption", { text: t("plans.perClass") }),
      el("thead", {}, el("tr", {},
        ["class", "points", "coverage"].map((c) => el("th", { scope: "col", class: c === "class" ? null : "plans-num", text: t(`plans.pc.${c}`) })))),
      el("tbody", {}, rows.map((r) => el("tr", {},
        el("th", { scope: "row", text: t(`plans.class.${r.name}`) === `plans.class.${r.name}` ? r.name : t(`plans.class.${r.name}`) }),
        el("td", { class: "plans-num", text: `${number(r.covered_points)} / ${number(r.points)}` }),
        el("td", { class: "plans-num", text: percent(r.coverage) })))));
  }

  // --- a new plan ----------------------------------------------------------------------------------

  buildForm() {
    this.kelurahanList = el("div", { class: "plans-kelurahan", role: "group", "aria-labelledby": "plans-kel-legend" },
      el("p", { class: "muted", text: t("core.loading") }));
    this.kelurahanFilter = el("input", {
      type: "search",
      id: "plans-kel-filter",
      autocomplete: "off",
      on: { input: () => this.filterKelurahan() },
    });
    this.kelurahanCount = el("p", { class: "muted plans-kel-count", "aria-live": "polite" });
    this.layerBoxes = POI_LAYERS.map((l) => ({
      layer: l,
      box: el("input", { type: "checkbox", id: `plans-layer-${l.cls}`, name: "layer", value: l.layer, checked: l.on }),
    }));
    this.targetRadio = el("input", { type: "radio", name: "question", id: "plans-q-target", value: "target", checked: true, on: { change: () => this.syncQuestion() } });
    this.budgetRadio = el("input", { type: "radio", name: "question", id: "plans-q-budget", value: "budget", on: { change: () => this.syncQuestion() } });
    this.targetInput = el("input", { type: "number", id: "plans-target", min: 1, max: 100, step: 1, value: "95", required: true });
    this.budgetInput = el("input", { type: "number", id: "plans-budget", min: 1, max: 100000, step: 1, value: "50", required: true, disabled: true });
    this.keepBox = el("input", { type: "checkbox", id: "plans-keep", checked: true });
    this.nameInput = el("input", { type: "text", id: "plans-name", maxlength: 200, autocomplete: "off", placeholder: t("plans.form.namePlaceholder") });
    this.submit = el("button", { type: "submit", class: "btn btn-primary", text: t("plans.form.submit") });
    const form = el("form", { class: "plans-form panel", "aria-labelledby": "plans-form-title", on: { submit: (e) => this.send(e) } },
      el("h2", { id: "plans-form-title", text: t("plans.form.title") }),
      el("div", { class: "plans-field" },
        el("label", { for: "plans-name", text: t("plans.form.name") }),
        this.nameInput),
      el("fieldset", {},
        el("legend", { id: "plans-kel-legend", text: t("plans.form.kelurahan") }),
        el("label", { for: "plans-kel-filter", class: "plans-small", text: t("plans.form.kelurahanFilter") }),
        this.kelurahanFilter,
        this.kelurahanList,
        this.kelurahanCount),
      el("fieldset", {},
        el("legend", { text: t("plans.form.layers") }),
        el("ul", { class: "plans-checks" }, this.layerBoxes.map(({ layer, box }) => el("li", {},
          box,
          el("label", { for: box.id },
            t(`plans.class.${layer.cls}`),
            el("span", { class: "plans-small", text: ` (${t("plans.form.layerInfo", { weight: layer.weight, density: t(`plans.density.${layer.density}`) })})` }))))),
        el("p", { class: "muted plans-small", text: t("plans.form.layersHint") })),
      el("fieldset", { class: "plans-question" },
        el("legend", { text: t("plans.form.question") }),
        el("div", { class: "plans-q-row" }, this.targetRadio, el("label", { for: "plans-q-target", text: t("plans.form.byTarget") })),
        el("div", { class: "plans-q-row plans-indent" }, el("label", { for: "plans-target", text: t("plans.form.target") }), this.targetInput),
        el("div", { class: "plans-q-row" }, this.budgetRadio, el("label", { for: "plans-q-budget", text: t("plans.form.byBudget") })),
        el("div", { class: "plans-q-row plans-indent" }, el("label", { for: "plans-budget", text: t("plans.form.budget") }), this.budgetInput)),
      el("div", { class: "plans-q-row" }, this.keepBox, el("label", { for: "plans-keep", text: t("plans.form.keep") })),
      this.submit,
    );
    return form;
  }

  async loadKelurahan() {
    if (!this.kelurahanList) return;
    let names;
    try {
      const geo = await api("/api/geo/kelurahan.geojson", { headers: { Accept: "application/geo+json, application/json" } });
      const data = typeof geo === "string" ? JSON.parse(geo) : geo;
      const byKecamatan = new Map();
      for (const f of data.features ?? []) {
        const name = f.properties?.name;
        if (!name) continue;
        const kec = f.properties?.kecamatan || "—";
        byKecamatan.set(kec, [...(byKecamatan.get(kec) ?? []), name]);
      }
      names = [...byKecamatan.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    } catch (err) {
      if (err.status === 401) return;
      this.kelurahanList.replaceChildren(el("p", { class: "error", text: t("plans.form.kelurahanError", { message: err.message }) }));
      return;
    }
    let n = 0;
    this.kelurahanList.replaceChildren(...names.map(([kec, list]) => el("div", { class: "plans-kec", "data-kecamatan": kec },
      el("p", { class: "plans-kec-name", text: kec }),
      el("ul", { class: "plans-checks" }, [...new Set(list)].sort((a, b) => a.localeCompare(b)).map((name) => {
        const id = `plans-kel-${n++}`;
        return el("li", { "data-name": name.toLowerCase() },
          el("input", { type: "checkbox", id, name: "kelurahan", value: name, on: { change: () => this.countKelurahan() } }),
          el("label", { for: id, text: name }));
      })))));
    this.countKelurahan();
  }

  chosenKelurahan() {
    return [...this.kelurahanList.querySelectorAll("input[name=kelurahan]:checked")].map((box) => box.value);
  }

  countKelurahan() {
    const n = this.chosenKelurahan().length;
    this.kelurahanCount.textContent = n ? t("plans.form.kelurahanChosen", { n }) : t("plans.form.wholeCity");
  }

  filterKelurahan() {
    const query = this.kelurahanFilter.value.trim().toLowerCase();
    for (const kec of this.kelurahanList.querySelectorAll(".plans-kec")) {
      let any = false;
      const kecMatch = kec.dataset.kecamatan.toLowerCase().includes(query);
      for (const item of kec.querySelectorAll("li")) {
        const show = !query || kecMatch || item.dataset.name.includes(query);
        item.hidden = !show;
        any ||= show;
      }
      kec.hidden = !any;
    }
  }

  syncQuestion() {
    this.targetInput.disabled = !this.targetRadio.checked;
    this.budgetInput.disabled = !this.budgetRadio.checked;
  }

  async send(event) {
    event.preventDefault();
    const kelurahan = this.chosenKelurahan();
    const layers = this.layerBoxes.filter(({ box }) => box.checked).map(({ layer }) => layer);
    if (!layers.length) {
      toast(t("plans.form.noLayers"), "error");
      return;
    }
    const byBudget = this.budgetRadio.checked;
    const input = byBudget ? this.budgetInput : this.targetInput;
    if (!input.reportValidity()) return;
    const value = Number(input.value);
    const place = kelurahan.length ? (kelurahan.length <= 3 ? kelurahan.join(", ") : t("plans.form.nKelurahan", { n: kelurahan.length })) : t("plans.form.city");
    const name = this.nameInput.value.trim() || t("plans.form.defaultName", { place });
    const spec = planSpec({
      name,
      kelurahan,
      layers,
      target: byBudget ? null : value / 100,
      budget: byBudget ? value : null,
      keepCameras: this.keepBox.checked,
    });
    this.submit.disabled = true;
    try {
      const plan = await api("/api/plans", { method: "POST", body: spec });
      toast(t("plans.form.queued", { name: plan.name }), "ok");
      this.nameInput.value = "";
      await this.refresh();
      this.schedule();
    } catch (err) {
      if (err.status !== 401) toast(t("plans.form.failed", { message: err.message }), "error");
    } finally {
      this.submit.disabled = false;
    }
  }
}

registerView("plans", {
  titleKey: "plans.title",
  async render(container, params) {
    const page = new PlansPage(container, params);
    page.build();
    page.loadKelurahan();
    try {
      await page.refresh();
    } catch (err) {
      if (err.status !== 401) page.error.textContent = t("plans.error", { message: err.message });
    }
    page.schedule();
    return () => page.stop();
  },
});
