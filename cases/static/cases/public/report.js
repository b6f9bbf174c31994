// The public report form (/report/): where (tap the map, GPS or address search), what, a photo,
// an optional contact; sent to the public API with an Idempotency-Key made here, so that a
// double tap or a retry after a dropped connection files one case, not two. Every refusal is
// shown next to the field it concerns, in the page's language.
const config = JSON.parse(document.getElementById("report-config").textContent);
const t = config.labels;
const form = document.getElementById("report-form");
const button = document.getElementById("submit-button");
const chosenText = document.getElementById("location-chosen");
const photoInput = document.getElementById("photo");
const preview = document.getElementById("photo-preview");
const results = document.getElementById("search-results");
const searchInput = document.getElementById("search-input");
const language = document.documentElement.lang || "zh-hans";

const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");

function newKey() {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const state = { chosen: null, key: newKey(), sending: false };

// --- the map -----------------------------------------------------------------------------------
const map = L.map("report-map", { zoomControl: true, minZoom: 11, maxZoom: 19 });
window.reportPage = { map, state, layers: {} };
if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
if (config.extent) {
  const [w, s, e, n] = config.extent;
  map.fitBounds([[s, w], [n, e]]);
} else {
  map.setView([34.72, 113.73], 14);
}

const BASEMAP = {
  water: { style: { color: "#74a9d8", weight: 1, fillColor: "#a5d0f3", fillOpacity: 1 } },
  buildings: { minZoom: 16, style: { color: "#b9aca0", weight: 1, fillColor: "#d9d0c9", fillOpacity: 1 } },
  roads: { style: (f) => ({ color: ["primary", "secondary", "expressway"].includes(f.properties.road_class) ? "#f6c453" : "#ffffff", weight: f.properties.road_class === "primary" ? 7 : 4 }) },
  district: { style: { color: "#17324d", weight: 3, fill: false } },
};
const loaded = {};

async function loadLayer(name) {
  const spec = BASEMAP[name];
  const layer = window.reportPage.layers[name];
  if (spec.minZoom && map.getZoom() < spec.minZoom) { layer.clearLayers(); delete loaded[name]; return; }
  let query = "";
  if (spec.minZoom) {
    if (loaded[name] && loaded[name].contains(map.getBounds())) return;
    const view = map.getBounds().pad(0.5);
    query = "?bbox=" + [view.getWest(), view.getSouth(), view.getEast(), view.getNorth()].map((v) => v.toFixed(6)).join(",");
    loaded[name] = view;
  } else if (loaded[name]) {
    return;
  } else {
    loaded[name] = true;
  }
  const response = await fetch(config.basemapUrl.replace("LAYER", name) + query);
  if (!response.ok) { delete loaded[name]; return; }
  layer.clearLayers();
  layer.addData(await response.json());
}

for (const [name, spec] of Object.entries(BASEMAP)) {
  const layer = L.geoJSON(null, { style: spec.style, interactive: false });
  window.reportPage.layers[name] = layer;
  layer.addTo(map);
}
const refresh = () => Object.keys(BASEMAP).forEach((name) => loadLayer(name));
map.on("moveend", refresh);
refresh();

let marker = null;
function choose(lat, lon, how) {
  state.chosen = { lat, lon };
  if (marker) marker.setLatLng([lat, lon]);
  else marker = L.circleMarker([lat, lon], { radius: 11, color: "#fff", weight: 3, fillColor: "#e03131", fillOpacity: 1 }).addTo(map);
  chosenText.textContent = fmt(t.chosen, { place: `${how} (${lat.toFixed(5)}, ${lon.toFixed(5)})` });
  chosenText.classList.add("set");
  clearError("location");
}
map.on("click", (event) => choose(event.latlng.lat, event.latlng.lng, t.mapPoint));

// --- GPS: phones deliver WGS-84, which is what the map and the API (srs 4326) use --------------
document.getElementById("gps-button").addEventListener("click", () => {
  if (!navigator.geolocation) { showError("location", t.gpsUnavailable); return; }
  chosenText.textContent = t.locating;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const { latitude, longitude, accuracy } = position.coords;
      choose(latitude, longitude, fmt(t.myLocation, { m: Math.round(accuracy) }));
      map.setView([latitude, longitude], 17);
    },
    () => showError("location", t.gpsDenied),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});

// --- address search ---------------------------------------------------------------------------
let searchTimer = null;
let searchSeq = 0;
searchInput.addEventListener("input", () => {
  clearTimeout(searchTimer);
  const q = searchInput.value.trim();
  if (q.length < 2) { results.hidden = true; return; }
  searchTimer = setTimeout(() => search(q), 350);
});
searchInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); clearTimeout(searchTimer); search(searchInput.value.trim()); }
});

async function search(q) {
  if (!q) return;
  const seq = ++searchSeq;
  results.hidden = false;
  results.innerHTML = "";
  results.append(item(t.searching));
  let hits = null;
  try {
    const response = await fetch(`${config.searchUrl}?q=${encodeURIComponent(q)}&limit=8`, { headers: { "Accept-Language": language } });
    if (response.ok) hits = await response.json();
  } catch { hits = null; }
  if (seq !== searchSeq) return;
  results.innerHTML = "";
  const list = Array.isArray(hits) ? hits : hits && hits.results;
  if (!list) { results.append(item(t.searchFailed)); return; }
  if (!list.length) { results.append(item(t.noResults)); return; }
  for (const hit of list) {
    const li = item(hit.name, hit.detail);
    li.tabIndex = 0;
    li.dataset.testid = "search-hit";
    const pick = () => {
      choose(hit.lat, hit.lon, hit.name);
      map.setView([hit.lat, hit.lon], 17);
      const address = document.getElementById("address");
      if (!address.value) address.value = hit.name;
      results.hidden = true;
    };
    li.addEventListener("click", pick);
    li.addEventListener("keydown", (event) => { if (event.key === "Enter") pick(); });
    results.append(li);
  }
}

function item(text, detail) {
  const li = document.createElement("li");
  li.textContent = text;
  if (detail) { const small = document.createElement("small"); small.textContent = detail; li.append(small); }
  return li;
}

// --- the photo --------------------------------------------------------------------------------
photoInput.addEventListener("change", () => {
  clearError("files");
  const file = photoInput.files[0];
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.hidden = true;
  if (!file) return;
  // The server sniffs the content and has the last word; this only spares a useless upload.
  if (file.type && !file.type.startsWith("image/")) {
    showError("files", t.notAPhoto);
    photoInput.value = "";
    return;
  }
  if (file.size > config.maxPhotoMb * 1048576) {
    showError("files", fmt(t.photoTooLarge, { size: (file.size / 1048576).toFixed(1), limit: config.maxPhotoMb }));
    photoInput.value = "";
    return;
  }
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
});

// --- errors next to their fields ---------------------------------------------------------------
const FIELD_OF = {
  location: "location", lon: "location", lat: "location", srs: "location", address: "location",
  category: "category", description: "description", files: "files",
  contact_email: "contact_email", contact_phone: "contact_phone",
};

function errorSlot(field) { return form.querySelector(`[data-error-for="${field}"]`); }

function showError(field, message) {
  const slot = errorSlot(field) || errorSlot("general");
  slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
  const box = slot.closest("fieldset") || slot.parentElement;
  if (field !== "general") box.classList.add("has-error");
}

function clearError(field) {
  const slot = errorSlot(field);
  if (slot) slot.textContent = "";
  form.querySelectorAll(".has-error").forEach((el) => {
    if (!el.querySelector(".field-error:not(:empty)")) el.classList.remove("has-error");
  });
}

function clearErrors() {
  form.querySelectorAll(".field-error").forEach((slot) => { slot.textContent = ""; });
  form.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
}

function messages(value) {
  // DRF answers {"field": ["…"]}, or {"files": {"0": ["…"]}} for one file of a list.
  if (value == null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(messages);
  return Object.values(value).flatMap(messages);
}

function showServerErrors(body) {
  let fields = 0;
  for (const [key, value] of Object.entries(body || {})) {
    const field = FIELD_OF[key] || "general";
    for (const message of messages(value)) {
      showError(field, message);
      if (field !== "general") fields += 1;
    }
  }
  if (fields) showError("general", t.fixFields);
  const first = form.querySelector(".has-error");
  if (first) first.scrollIntoView({ behavior: "smooth", block: "center" });
}

// --- sending ----------------------------------------------------------------------------------
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.sending) return;
  clearErrors();
  let missing = false;
  if (!state.chosen) { showError("location", t.noLocation); missing = true; }
  if (!form.category.value) { showError("category", t.noCategory); missing = true; }
  if (missing) { form.querySelector(".has-error").scrollIntoView({ behavior: "smooth", block: "center" }); return; }

  const data = new FormData();
  data.set("category", form.category.value);
  data.set("lon", state.chosen.lon.toFixed(7));
  data.set("lat", state.chosen.lat.toFixed(7));
  data.set("srs", "4326");
  for (const name of ["description", "address", "contact_email", "contact_phone"]) {
    const value = form.elements[name].value.trim();
    if (value) data.set(name, value);
  }
  if (photoInput.files[0]) data.append("files", photoInput.files[0]);

  state.sending = true;
  const label = button.textContent;
  button.disabled = true;
  button.textContent = t.sending;
  try {
    const response = await fetch(config.reportUrl, {
      method: "POST",
      body: data,
      headers: { "Idempotency-Key": state.key, "Accept-Language": language, Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 200 || response.status === 201) {
      done(body);
    } else if (response.status === 429) {
      showError("general", t.tooMany);
    } else if (response.status >= 400 && response.status < 500) {
      showServerErrors(body);
    } else {
      showError("general", t.failed);
    }
  } catch {
    // The report may have arrived: the same key on the next try answers that case.
    showError("general", t.failed);
  } finally {
    state.sending = false;
    button.disabled = false;
    button.textContent = label;
  }
});

function done(body) {
  state.key = newKey();
  form.hidden = true;
  const panel = document.getElementById("report-done");
  panel.querySelector("[data-testid=tracking-number]").textContent = body.tracking;
  document.getElementById("status-link").href = body.status_url;
  panel.hidden = false;
  panel.scrollIntoView({ block: "start" });
  window.reportPage.tracking = body.tracking;
}
