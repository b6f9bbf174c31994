// Track playback: the team's fixes for a period from /api/v1/teams/<code>/track, drawn as a
// line; play/pause moves a marker along it in time order (one fix per animation step), the
// slider scrubs. State is on window.tracks for tests.
const config = JSON.parse(document.getElementById("track-config").textContent);
const t = config.labels;
const form = document.querySelector("[data-testid=track-controls]");
const playButton = form.querySelector("[data-testid=track-play]");
const slider = form.querySelector("[data-testid=track-slider]");
const timeOut = form.querySelector("[data-testid=track-time]");
const statusOut = form.querySelector("[data-testid=track-status]");

const map = L.map("map", { preferCanvas: true, minZoom: 11, maxZoom: 19 });
if (config.extent) {
  const [w, s, e, n] = config.extent;
  map.fitBounds([[s, w], [n, e]]);
} else {
  map.setView([34.72, 113.73], 14);
}
// The district's own geography is the basemap (as on the district map): water, roads and the
// district's outline, fetched once for the district's extent.
const basemapStyle = {
  water: { color: "#74a9d8", weight: 1, fillColor: "#a5d0f3", fillOpacity: 1 },
  roads: { color: "#adb5bd", weight: 3 },
  district: { color: "#17324d", weight: 3, fill: false },
};
async function basemap() {
  if (!config.extent) return;
  const bbox = config.extent.map((v) => v.toFixed(6)).join(",");
  for (const [name, style] of Object.entries(basemapStyle)) {
    const response = await fetch(`/api/v1/layers/${name}?bbox=${bbox}`, { credentials: "same-origin" });
    if (!response.ok) continue;
    L.geoJSON(await response.json(), { style: () => style, interactive: false }).addTo(map).bringToBack();
  }
}
basemap();

const state = { map, line: null, marker: null, points: [], times: [], index: 0, playing: false, timer: null };
window.tracks = state;

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const now = new Date();
form.elements.to.value = localInput(new Date(now.getTime() + 60 * 1000));
form.elements.from.value = localInput(new Date(now.getTime() - 8 * 3600 * 1000));

function moveTo(index) {
  if (!state.points.length) return;
  state.index = Math.max(0, Math.min(index, state.points.length - 1));
  state.marker.setLatLng(state.points[state.index]);
  slider.value = String(state.index);
  timeOut.textContent = new Date(state.times[state.index]).toLocaleString();
}

function pause() {
  state.playing = false;
  clearInterval(state.timer);
  playButton.textContent = t.play;
}

function play() {
  if (state.index >= state.points.length - 1) moveTo(0);
  state.playing = true;
  playButton.textContent = t.pause;
  state.timer = setInterval(() => {
    if (state.index >= state.points.length - 1) return pause();
    moveTo(state.index + 1);
  }, 200);
}

async function load() {
  pause();
  const from = new Date(form.elements.from.value).toISOString();
  const to = new Date(form.elements.to.value).toISOString();
  const url = `/api/v1/teams/${encodeURIComponent(config.team)}/track?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    statusOut.textContent = t.failed;
    return;
  }
  const track = await response.json();
  if (state.line) state.line.remove();
  if (state.marker) state.marker.remove();
  state.line = state.marker = null;
  const feature = track.features.find((f) => f.geometry.type === "LineString");
  state.points = feature ? feature.geometry.coordinates.map(([lon, lat]) => [lat, lon]) : [];
  state.times = feature ? feature.properties.times : [];
  slider.max = String(Math.max(0, state.points.length - 1));
  playButton.disabled = slider.disabled = state.points.length < 2;
  if (!state.points.length) {
    statusOut.textContent = t.empty;
    timeOut.textContent = "";
    return;
  }
  statusOut.textContent = `${state.points.length} ${t.fixes}`;
  state.line = L.polyline(state.points, { color: "#1971c2", weight: 4 }).addTo(map);
  state.marker = L.circleMarker(state.points[0], { radius: 8, color: "#fff", weight: 2, fillColor: "#e03131", fillOpacity: 1 }).addTo(map);
  map.fitBounds(state.line.getBounds(), { maxZoom: 18, padding: [30, 30] });
  moveTo(0);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
playButton.addEventListener("click", () => (state.playing ? pause() : play()));
slider.addEventListener("input", () => {
  pause();
  moveTo(Number(slider.value));
});
load();
