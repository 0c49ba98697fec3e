// The phone form: builds the report as the API takes it, keeps it in the outbox, sends it,
// and shows the API's messages beside the fields. Without this script the form still posts.
import { Outbox } from "./outbox.js";

const form = document.getElementById("report-form");
const messages = JSON.parse(document.getElementById("form-messages").textContent);
const $ = (id) => document.getElementById(id);
const say = (key, values = {}) => messages[key].replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");

const TEXT_FIELDS = [
  "intervention_date", "housing", "infestation_level", "building_type", "confirmation",
  "cost_payer", "status", "resolved_on", "dwelling_ref", "notes",
];
const LIST_FIELDS = ["actions", "vulnerabilities"];
const NUMBER_FIELDS = ["cost_total", "cost_household"];
const REQUIRED = ["structure_id", "intervention_date", "housing", "infestation_level", "actions"];
const LYON = [45.76, 4.84];

const outbox = new Outbox({
  url: form.dataset.api,
  tokenUrl: form.dataset.tokenUrl,
  user: form.dataset.user,
  csrfToken: document.querySelector('meta[name="csrf-token"]').content,
});
let editing = null; // the outbox entry being corrected
let submitting = null; // the id of the report being submitted

// Communes: "Villeurbanne (69266)", "Villeurbanne" or "69266" all mean 69266 --------------------

const labels = new Map();
const codesByName = new Map();
for (const option of $("communes").options) {
  labels.set(option.dataset.code, option.value);
  codesByName.set(option.value.replace(/\s*\([^()]*\)$/, "").toLowerCase(), option.dataset.code);
}

function communeCode(text) {
  const inner = text.match(/\(([^()]+)\)$/);
  for (const candidate of inner ? [text, inner[1].trim()] : [text]) {
    const code = labels.has(candidate) ? candidate : codesByName.get(candidate.toLowerCase());
    if (code) return code;
  }
  return null;
}

// The report, as the server builds it from a plain POST (web/report_form.py) ----------------

function number(text) {
  const value = Number(text.replaceAll(",", ".").replaceAll(" ", ""));
  return Number.isFinite(value) ? value : text; // the API answers "Nombre attendu."
}

function payloadFrom() {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? "").trim();
  const payload = {};
  for (const name of TEXT_FIELDS) if (text(name)) payload[name] = text(name);
  for (const name of LIST_FIELDS) {
    const values = data.getAll(name).filter(Boolean);
    if (values.length) payload[name] = values;
  }
  for (const name of ["structure_id", "household_size"]) {
    if (text(name)) payload[name] = /^\d+$/.test(text(name)) ? Number(text(name)) : text(name);
  }
  for (const name of NUMBER_FIELDS) if (text(name)) payload[name] = number(text(name));
  if (text("longitude") && text("latitude")) {
    payload.location = { type: "Point", coordinates: [number(text("longitude")), number(text("latitude"))] };
  }
  const place = text("commune").split(/\s+/).join(" ");
  if (place) payload.commune = communeCode(place);
  return payload;
}

// What must be right before a report may wait offline; the API checks everything else.
function check(payload) {
  const errors = REQUIRED.filter((name) => form.elements.namedItem(name) && !(name in payload))
    .map((field) => ({ field, message: say("required") }));
  if (payload.commune === null) errors.push({ field: "commune", message: say("unknown_commune") });
  else if (!payload.location && !payload.commune) {
    errors.push({ field: "location", message: say("place_required") });
  }
  return errors;
}

function fill(payload) {
  form.reset();
  for (const name of [...TEXT_FIELDS, "structure_id", "household_size", ...NUMBER_FIELDS]) {
    const field = form.elements.namedItem(name);
    if (field && name in payload) field.value = String(payload[name]);
  }
  for (const name of LIST_FIELDS) {
    for (const box of form.querySelectorAll(`input[name="${name}"]`)) {
      box.checked = (payload[name] ?? []).includes(box.value);
    }
  }
  form.elements.commune.value = payload.commune ? labels.get(payload.commune) ?? payload.commune : "";
  setPoint(...(payload.location?.coordinates ?? []));
  $("more-details").open = Object.keys(payload).some((name) => form.querySelector(`#more-details [data-field="${name}"]`));
}

function localToday() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function blank() {
  const structure = form.elements.namedItem("structure_id")?.value;
  form.reset();
  if (structure !== undefined) form.elements.structure_id.value = structure;
  form.elements.intervention_date.value = localToday();
  $("more-details").open = false;
  setPoint();
  clearErrors();
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Errors beside the fields -----------------------------------------------------------------

function container(field) {
  return form.querySelector(`[data-field="${CSS.escape(field)}"]`);
}

function inputsOf(field) {
  if (field === "location") return [form.elements.commune];
  return [...container(field).querySelectorAll("input:not([type=hidden]), select, textarea")];
}

function describedBy(input, id, on) {
  const ids = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
  if (on) ids.add(id);
  else ids.delete(id);
  if (ids.size) input.setAttribute("aria-describedby", [...ids].join(" "));
  else input.removeAttribute("aria-describedby");
}

function setFieldError(field, text) {
  const error = $(`err-${field}`);
  error.textContent = text;
  error.hidden = !text;
  for (const input of inputsOf(field)) {
    describedBy(input, error.id, Boolean(text));
    // The commune input answers for two fields: it stays invalid while either is.
    const failing = (input.getAttribute("aria-describedby") ?? "").includes("err-");
    if (failing) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function clearErrors() {
  for (const error of form.querySelectorAll(".error-message")) setFieldError(error.id.slice(4), "");
  $("form-summary").hidden = true;
}

function showErrors(errors) {
  clearErrors();
  const byField = new Map();
  const general = [];
  for (const { field, message } of errors) {
    const key = String(field ?? "").split(".")[0];
    if (key && container(key)) byField.set(key, [...(byField.get(key) ?? []), message]);
    else general.push(message);
  }
  for (const [field, list] of byField) setFieldError(field, list.join(" "));
  $("form-general-errors").replaceChildren(...general.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  $("form-summary").hidden = false;
  if ([...byField.keys()].some((field) => $("more-details").contains(container(field)))) $("more-details").open = true;
  const first = [...form.querySelectorAll("[data-field]")].find((element) => byField.has(element.dataset.field));
  (first ? inputsOf(first.dataset.field)[0] : $("form-summary")).focus();
}

form.addEventListener("change", (event) => {
  const field = event.target.closest("[data-field]")?.dataset.field;
  if (field && !$(`err-${field}`).hidden) setFieldError(field, "");
  if (field === "commune" && !$("err-location").hidden) setFieldError("location", "");
});

// Notices ------------------------------------------------------------------------------------

function notice(kind, lines, link = null) {
  const box = $("form-notice");
  box.className = `notice notice-${kind}`;
  box.replaceChildren(...lines.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
  if (link) box.lastChild.append(" ", Object.assign(document.createElement("a"), link));
  box.hidden = false;
}

function announceSaved(report) {
  const lines = [say("saved")];
  if (report?.dwelling_reports > 1) {
    lines.push(say("dwelling", { count: report.dwelling_reports }));
    const href = `${form.dataset.myReports}?logement=${encodeURIComponent(report.id)}`;
    return notice("success", lines, { href, textContent: say("dwelling_link") });
  }
  notice("success", lines);
}

function announceDwelling(report) {
  if (report?.dwelling_reports > 1 && report.id !== submitting) announceSaved(report);
}

// Submitting -----------------------------------------------------------------------------------

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const payload = payloadFrom();
  const problems = check(payload);
  if (problems.length) return showErrors(problems);
  const conflict = editing?.problem?.status === 409; // that UUID is taken: a new one
  payload.id = editing && !conflict ? editing.id : newId();
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await outbox.add(payload, editing?.id);
  } catch {
    form.submit(); // no IndexedDB here: the plain POST, checked by the server
    return;
  }
  editing = null;
  submitting = payload.id;
  clearErrors();
  notice("info", [say("sending")]);
  try {
    const results = await outbox.flush(payload.id);
    await answer(payload.id, results.get(payload.id));
  } finally {
    submitting = null;
    button.disabled = false;
  }
});

async function answer(id, outcome) {
  if (outcome?.kind === "attention") {
    editing = (await outbox.status()).attention.find((entry) => entry.id === id);
    $("form-notice").hidden = true;
    return showErrors(outcome.body?.errors ?? [{ field: "", message: outcome.body?.title ?? "" }]);
  }
  const kept = outcome ? outcome.kind !== "sent" : await outbox.has(id);
  blank();
  if (!kept) announceSaved(outcome?.body);
  else notice("info", [say(outcome?.kind === "signin" ? "kept_signin" : "kept_offline")]);
  $("form-notice").scrollIntoView({ block: "nearest" });
}

// The outbox panel -------------------------------------------------------------------------

const when = new Intl.DateTimeFormat(document.documentElement.lang || "fr", { dateStyle: "short", timeStyle: "short" });
const day = new Intl.DateTimeFormat(document.documentElement.lang || "fr", { dateStyle: "medium" });

async function renderOutbox() {
  const status = await outbox.status();
  const lines = [
    status.pending === 0 ? say("all_sent") : status.pending === 1 ? say("waiting_one") : say("waiting_many", { count: status.pending }),
  ];
  if (status.lastSent) lines.push(say("last_sent", { when: when.format(status.lastSent) }));
  if (status.others) lines.push(say("other_account", { count: status.others }));
  const text = lines.join(" ");
  if ($("outbox-status").textContent !== text) $("outbox-status").textContent = text;
  $("outbox-retry").hidden = status.pending === 0;
  $("outbox-signin").hidden = !status.signInNeeded;
  $("outbox-signin").firstElementChild.textContent = say("signin");
  renderAttention(status.attention);
  $("outbox").hidden = false;
}

function renderAttention(entries) {
  $("outbox-attention").hidden = entries.length === 0;
  $("outbox-attention-title").textContent = entries.length === 1 ? say("attention_one") : say("attention_many", { count: entries.length });
  $("outbox-attention").querySelector("ul").replaceChildren(...entries.map(attentionItem));
}

function attentionItem(entry) {
  const item = document.createElement("li");
  const date = entry.payload.intervention_date ? day.format(new Date(`${entry.payload.intervention_date}T12:00`)) : "?";
  const title = entry.problem?.title ? ` — ${entry.problem.title}` : "";
  const fix = Object.assign(document.createElement("button"), { type: "button", textContent: say("fix") });
  const discard = Object.assign(document.createElement("button"), { type: "button", textContent: say("discard"), className: "link" });
  fix.addEventListener("click", () => correct(entry));
  discard.addEventListener("click", () => {
    if (confirm(say("discard_confirm"))) outbox.discard(entry.id);
  });
  item.append(say("report_of", { date }) + title + " ", fix, " ", discard);
  return item;
}

function correct(entry) {
  editing = entry;
  fill(entry.payload);
  notice("info", [say("fixing")]);
  showErrors(entry.problem?.errors ?? [{ field: "", message: entry.problem?.title ?? "" }]);
}

outbox.addEventListener("change", renderOutbox);
outbox.addEventListener("sent", (event) => announceDwelling(event.detail));
$("outbox-retry").addEventListener("click", () => outbox.flush());
window.addEventListener("online", () => outbox.flush());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") outbox.flush();
});

// The place: GPS, map or commune -----------------------------------------------------------

const mapElement = $("map");
let map = null;
let marker = null;
let leaflet = null;

function setPoint(lon, lat, accuracy) {
  const known = Number.isFinite(lon) && Number.isFinite(lat);
  form.elements.longitude.value = known ? lon.toFixed(6) : "";
  form.elements.latitude.value = known ? lat.toFixed(6) : "";
  let text = known ? say("point", { lat: lat.toFixed(5), lon: lon.toFixed(5) }) : "";
  if (known && accuracy) text += ` ${say("accuracy", { meters: Math.round(accuracy) })}`;
  $("point-status").textContent = text;
  $("point-clear").hidden = !known;
  if (known) {
    setFieldError("location", "");
    if (map) {
      marker ??= window.L.marker([lat, lon], { draggable: true }).addTo(map).on("dragend", () => {
        const { lng, lat: newLat } = marker.getLatLng();
        setPoint(lng, newLat);
      });
      marker.setLatLng([lat, lon]);
    }
  } else if (marker) {
    marker.remove();
    marker = null;
  }
}

function locate() {
  if (!navigator.geolocation) return ($("point-status").textContent = say("gps_unsupported"));
  $("point-status").textContent = say("gps_locating");
  navigator.geolocation.getCurrentPosition(
    ({ coords }) => {
      setPoint(coords.longitude, coords.latitude, coords.accuracy);
      map?.setView([coords.latitude, coords.longitude], 17);
    },
    (error) => {
      $("point-status").textContent = say(error.code === error.PERMISSION_DENIED ? "gps_denied" : "gps_failed");
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
  );
}

// Leaflet loads only when the agent opens the map.
function loadLeaflet() {
  leaflet ??= new Promise((resolve, reject) => {
    const css = Object.assign(document.createElement("link"), { rel: "stylesheet", href: mapElement.dataset.leafletCss });
    const script = Object.assign(document.createElement("script"), { src: mapElement.dataset.leafletJs, onload: resolve, onerror: reject });
    document.head.append(css, script);
  }).catch((error) => {
    leaflet = null;
    throw error;
  });
  return leaflet;
}

async function toggleMap() {
  const open = $("map-panel").hidden;
  $("map-panel").hidden = !open;
  $("map-button").setAttribute("aria-expanded", String(open));
  if (!open) return;
  try {
    await loadLeaflet();
  } catch {
    $("map-message").textContent = say("map_failed");
    return;
  }
  if (!map) {
    const L = window.L;
    const lon = Number.parseFloat(form.elements.longitude.value);
    const lat = Number.parseFloat(form.elements.latitude.value);
    const known = Number.isFinite(lon) && Number.isFinite(lat);
    map = L.map(mapElement).setView(known ? [lat, lon] : LYON, known ? 17 : 12);
    L.tileLayer(mapElement.dataset.tiles, { attribution: mapElement.dataset.attribution, maxZoom: 19 })
      .on("tileerror", () => ($("map-message").textContent = say("tiles_failed")))
      .addTo(map);
    map.on("click", (event) => setPoint(event.latlng.lng, event.latlng.lat));
    if (known) setPoint(lon, lat);
  }
  map.invalidateSize();
}

$("gps-button").addEventListener("click", locate);
$("map-button").addEventListener("click", toggleMap);
$("map-centre").addEventListener("click", () => {
  if (!map) return;
  const centre = map.getCenter();
  setPoint(centre.lng, centre.lat);
});
$("point-clear").addEventListener("click", () => setPoint());

// Start ----------------------------------------------------------------------------------------

form.querySelector(".place-tools").hidden = false;
$("gps-button").hidden = !navigator.geolocation;
// Restore a point the browser kept (back button), and today's date in a page kept offline.
setPoint(Number.parseFloat(form.elements.longitude.value), Number.parseFloat(form.elements.latitude.value));
if (form.dataset.hasErrors !== "true") form.elements.intervention_date.value = localToday();
if ("serviceWorker" in navigator) navigator.serviceWorker.register(form.dataset.serviceWorker, { scope: "/" }).catch(() => null);
navigator.storage?.persist?.().catch(() => null);
renderOutbox();
outbox.flush();
