// The big screen: today's figures every few seconds and at once when the console stream says
// something changed; open cases on the map in their clock's colour.
const config = JSON.parse(document.getElementById("map-config").textContent);
const S = config.screen;
const { map, escapeHtml } = window.gridmap;
const $ = (selector) => document.querySelector(selector);
const COLOURS = { green: "#51cf66", yellow: "#fcc419", red: "#ff6b6b" };
const cases = L.layerGroup().addTo(map);

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

function percent(rate) {
  return rate == null ? "–" : `${Math.round(rate * 100)}%`;
}

function list(selector, rows) {
  $(selector).innerHTML = rows.map((r) => `<li>${escapeHtml(r.name)} <b>${r.count}</b></li>`).join("");
}

async function figures() {
  const f = await getJson("/api/v1/console/today");
  for (const key of ["new", "open", "overdue", "closed"]) $(`[data-testid=fig-${key}]`).textContent = f[key];
  for (const [kind, rate] of Object.entries(f.on_time)) $(`[data-testid=rate-${kind}]`).textContent = percent(rate);
  list("[data-testid=top-problems]", f.problems);
  list("[data-testid=top-areas]", f.areas);
  $("[data-testid=sources]").innerHTML = Object.entries(f.sources)
    .sort((a, b) => b[1] - a[1])
    .map(([source, n]) => `<li>${escapeHtml(S.sources[source] || source)} <b>${n}</b></li>`).join("");
  const peak = Math.max(1, ...f.hours);
  $("[data-testid=hours]").innerHTML = f.hours
    .map((n, h) => `<div style="height:${Math.round((100 * n) / peak)}%" title="${h}:00 ${n}"><span>${h}</span></div>`).join("");
}

async function mapCases() {
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  const data = await getJson(`/api/v1/console/cases?bbox=${bbox}`);
  cases.clearLayers();
  const now = Date.now();
  for (const row of data.cases) {
    const [, lon, lat, , , , , , yellowAt, dueAt] = row;
    const colour = dueAt == null ? "green" : now >= dueAt ? "red" : now >= yellowAt ? "yellow" : "green";
    L.circleMarker([lat, lon], { radius: 7, color: "#0b1d33", weight: 1, fillColor: COLOURS[colour], fillOpacity: 1 }).addTo(cases);
  }
  for (const [lon, lat, n, colour] of data.clusters) {
    L.circleMarker([lat, lon], { radius: 8 + Math.min(20, Math.sqrt(n)), color: COLOURS[colour], weight: 3, fillOpacity: 0.3 }).addTo(cases);
  }
}

function refresh() {
  figures().catch(() => {});
  mapCases().catch(() => {});
}

function clock() {
  const now = new Date();
  $("[data-testid=screen-date]").textContent = now.toLocaleDateString();
  $("[data-testid=screen-time]").textContent = now.toLocaleTimeString();
}

let timer = null;
const stream = new EventSource("/api/v1/console/stream");
stream.addEventListener("case", () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 500);
});
stream.onopen = refresh; // after a reconnection too
setInterval(refresh, S.refreshMs);
setInterval(clock, 1000);
clock();
refresh();
map.on("moveend", () => mapCases().catch(() => {}));
window.gridmap.screen = { refresh, cases };
