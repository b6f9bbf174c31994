// The planner page: choose filters, preview the heatmap (a PNG overlay) and the Gi* hotspots on
// the district's own map, download files, and see counts per week and by category. Every figure
// comes from the analysis API (/api/v1/analysis/...), as any other client would get it.
const config = JSON.parse(document.getElementById("map-config").textContent);
const t = config.plannerLabels;
const form = document.getElementById("filters");
const message = document.getElementById("message");
const legend = document.getElementById("legend");

const FILTERS = ["reported_after", "reported_before", "category", "source", "community", "stage"];
const OWN = { heatmap: ["cell_m", "bandwidth_m"], hotspots: ["unit", "fdr"], export: [] };
const CLASS_COLOURS = {
  hot_99: "#b2182b", hot_95: "#ef8a62", hot_90: "#fddbc7", not_significant: "#f7f7f7",
  cold_90: "#d1e5f0", cold_95: "#67a9cf", cold_99: "#2166ac",
};

const map = L.map("map", { zoomControl: true, minZoom: 11, maxZoom: 19 });
const state = { heatmap: null, hotspots: null };
window.planner = { map, state };
if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution }).addTo(map);
const [w, s, e, n] = config.extent || [113.70, 34.70, 113.76, 34.74];
map.fitBounds([[s, w], [n, e]]);

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function backdrop() {
  // The district's own geography is the basemap: water, roads and community outlines.
  const bbox = [w, s, e, n].map((v) => v.toFixed(6)).join(",");
  const styles = {
    water: { color: "#74a9d8", weight: 1, fillColor: "#a5d0f3", fillOpacity: 1 },
    roads: { color: "#adb5bd", weight: 2 },
    communities: { color: "#7048e8", weight: 2, fill: false, dashArray: "8 4" },
  };
  for (const name of Object.keys(styles)) {
    const response = await fetch(`/api/v1/layers/${name}?bbox=${bbox}`, { credentials: "same-origin" });
    if (response.ok) L.geoJSON(await response.json(), { style: styles[name], interactive: false }).addTo(map);
  }
}

function params(kind) {
  const data = new FormData(form);
  const out = new URLSearchParams();
  for (const name of [...FILTERS, ...OWN[kind]]) {
    const value = data.get(name);
    if (value) out.set(name, value);
  }
  return out;
}

function explain(body) {
  if (!body || typeof body !== "object") return String(body);
  if (body.detail) return body.detail;
  return Object.entries(body).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ");
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(explain(body));
  return body;
}

function clear(kind) {
  if (state[kind]) map.removeLayer(state[kind]);
  state[kind] = null;
}

async function showHeatmap() {
  message.textContent = "";
  try {
    const q = params("heatmap");
    q.set("format", "json");
    const body = await getJson(`${config.api.heatmap}?${q}`);
    clear("heatmap");
    state.heatmap = L.imageOverlay(body.image, body.bounds, { opacity: 0.85 }).addTo(map);
    legend.innerHTML = `<b>${escapeHtml(t.heatmap)}</b> · ${body.cases.toLocaleString()} ${escapeHtml(t.cases)}`
      + `<div class="ramp"></div><small>0 – ${Math.round(body.max_density_per_km2).toLocaleString()} ${escapeHtml(t.perKm2)}</small>`;
  } catch (error) {
    message.textContent = error.message;
  }
}

async function showHotspots() {
  message.textContent = "";
  try {
    const body = await getJson(`${config.api.hotspots}?${params("hotspots")}`);
    clear("hotspots");
    state.hotspots = L.geoJSON(body, {
      style: (f) => ({
        color: "#555", weight: 0.5, fillOpacity: f.properties.bin === 0 ? 0.05 : 0.7,
        fillColor: CLASS_COLOURS[f.properties.class],
      }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        const trend = p.label ? ` · ${escapeHtml(t.trends[p.label] || p.label)}` : "";
        layer.bindTooltip(`${escapeHtml(p.name)}: ${p.count} ${escapeHtml(t.cases)} · ${escapeHtml(t.classes[p.class])}${trend}`);
      },
    }).addTo(map);
    const summary = body.summary;
    const rows = config.classes
      .filter((c) => summary.classes[c])
      .map((c) => `<div><i style="background:${CLASS_COLOURS[c]}"></i>${escapeHtml(t.classes[c])}: ${summary.classes[c]}</div>`);
    const trends = Object.entries(summary.labels).map(([k, v]) => `${escapeHtml(t.trends[k] || k)} ${v}`).join(" · ");
    legend.innerHTML = `<b>${escapeHtml(t.hotspots)} (Gi*)</b> · ${summary.cases.toLocaleString()} ${escapeHtml(t.cases)}${rows.join("")}<small>${trends}</small>`;
  } catch (error) {
    message.textContent = error.message;
  }
}

function updateDownloads() {
  for (const link of document.querySelectorAll(".downloads a")) {
    const kind = link.dataset.kind;
    const q = params(kind);
    if (kind !== "hotspots") q.set("format", link.dataset.format);
    const api = { heatmap: config.api.heatmap, hotspots: config.api.hotspots, export: config.api.export }[kind];
    link.href = `${api}?${q}`;
    link.setAttribute("download", "");
  }
}

async function charts() {
  document.getElementById("week-title").textContent = t.byWeek;
  document.getElementById("category-title").textContent = t.byCategory;
  const svg = document.getElementById("chart-week");
  const list = document.getElementById("chart-category");
  svg.innerHTML = "";
  list.innerHTML = "";
  try {
    const weeks = await getJson(`${config.api.counts}?${params("export")}&by=week`);
    const top = Math.max(1, ...weeks.rows.map((r) => r.count));
    const width = 600 / Math.max(1, weeks.rows.length);
    svg.innerHTML = weeks.rows.map((r, i) => {
      const h = (r.count / top) * 150;
      return `<rect x="${i * width + 0.5}" y="${160 - h}" width="${Math.max(1, width - 1)}" height="${h}"><title>${r.period}: ${r.count}</title></rect>`;
    }).join("");
    const categories = await getJson(`${config.api.counts}?${params("export")}&by=category`);
    const most = Math.max(1, ...categories.rows.map((r) => r.count));
    list.innerHTML = categories.rows.slice(0, 15).map((r) => `<div class="bar"><span>${escapeHtml(r.label || r.key)}</span>`
      + `<span style="width:${(100 * r.count) / most}%"></span><span>${r.count}</span></div>`).join("");
  } catch (error) {
    list.textContent = error.message;
  }
}

form.addEventListener("change", () => { updateDownloads(); charts(); });
document.getElementById("show-heatmap").addEventListener("click", showHeatmap);
document.getElementById("show-hotspots").addEventListener("click", showHotspots);
updateDownloads();
backdrop();
charts();
