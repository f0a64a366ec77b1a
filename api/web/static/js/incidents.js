/** What the queue and the incident page share: labels, SLA due times, cameras, agencies, status moves. */

import { api, t } from "./app.js";

export const SEVERITY_RANK = { critical: 4, high: 3, medium: 2, low: 1 };
export const OPEN_STATUSES = ["new", "acknowledged", "dispatched", "in_progress", "on_hold"];

/** The translated name of a kind, status or severity (core.kind.x, ...), else the value itself. */
export function label(group, value) {
  if (!value) return "";
  const key = `core.${group}.${value}`;
  const text = t(key);
  return text === key ? value.replaceAll("_", " ") : text;
}

/** The SLA deadline that counts now: acknowledging a new incident, resolving an open one; null when done. */
export function dueOf(incident) {
  if (incident.status === "new") return { what: "ack", at: incident.acknowledge_due_at };
  if (OPEN_STATUSES.includes(incident.status)) return { what: "resolve", at: incident.resolve_due_at };
  return null;
}

let cameras = null;
let agencies = null;

/** The cameras by id (fetched once per page load). */
export async function loadCameras() {
  cameras ??= api("/api/cameras").then((list) => new Map(list.map((c) => [c.id, c])));
  try {
    return await cameras;
  } catch (err) {
    cameras = null;
    throw err;
  }
}

/** The agencies incidents can be dispatched to, [{code, name}] (fetched once per page load). */
export async function loadAgencies() {
  agencies ??= api("/api/agencies");
  try {
    return await agencies;
  } catch (err) {
    agencies = null;
    throw err;
  }
}

/** Move an incident along the workflow; resolves to the updated incident, throws with the API's reason. */
export function moveIncident(id, change) {
  return api(`/api/incidents/${id}/status`, { body: change });
}
