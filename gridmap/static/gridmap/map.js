// The district map: the district's own geography is the basemap (no online tiles unless a tile
// URL is configured). Each layer is fetched as GeoJSON for the current view and drawn on canvas.
const config = JSON.parse(document.getElementById("map-config").textContent);
const t = config.labels;

const roadStyle = {
  primary: { color: "#f08c00", weight: 8, opacity: 0.85 },
  secondary: { color: "#fab005", weight: 6, opacity: 0.85 },
  branch: { color: "#ffffff", weight: 4 },
  service: { color: "#ffffff", weight: 3 },
};
const zoneStyle = {
  frontage: { color: "#2f9e44", weight: 1, fillOpacity: 0.35 },
  subcontract: { color: "#e8590c", weight: 2, dashArray: "8 4", fillOpacity: 0.05 },
  jurisdiction: { color: "#c92a2a", weight: 2, dashArray: "2 4", fillOpacity: 0.03 },
  patrol: { color: "#0c8599", weight: 2, dashArray: "4 4", fillOpacity: 0.04 },
};
const poiColour = {
  market: "#d9480f", school: "#1971c2", hospital: "#e03131", restaurant: "#f08c00",
  shop: "#9c36b5", bus_stop: "#495057", government: "#343a40", park: "#2b8a3e",
};
const teamColour = {
  available: "#2f9e44", responding: "#f08c00", on_scene: "#e03131",
  returning: "#1971c2", off_duty: "#868e96",
};

// name -> how the layer is drawn. `on`: shown at start; `minZoom`: fetched only from that zoom.
const LAYERS = {
  water: { on: true, style: () => ({ color: "#74a9d8", weight: 1, fillColor: "#a5d0f3", fillOpacity: 1 }) },
  buildings: { on: true, minZoom: 14, style: () => ({ color: "#b9aca0", weight: 1, fillColor: "#d9d0c9", fillOpacity: 1 }) },
  roads: { on: true, style: (f) => roadStyle[f.properties.road_class] || roadStyle.branch },
  construction_sites: { on: true, style: () => ({ color: "#f59f00", weight: 2, fillColor: "#ffd43b", fillOpacity: 0.35, dashArray: "6 3" }) },
  district: { on: true, style: () => ({ color: "#17324d", weight: 4, fill: false }) },
  subdistricts: { on: false, style: () => ({ color: "#364fc7", weight: 3, fill: false }) },
  communities: { on: true, style: () => ({ color: "#7048e8", weight: 3, fill: false, dashArray: "10 5" }) },
  grids: { on: true, style: () => ({ color: "#4c6ef5", weight: 0.8, opacity: 0.45, fillColor: "#4c6ef5", fillOpacity: 0.02 }) },
  zones: { on: false, style: (f) => zoneStyle[f.properties.kind] || zoneStyle.frontage },
  pois: { on: true, point: (f) => ({ radius: 5, color: "#fff", weight: 1, fillColor: poiColour[f.properties.kind] || "#495057", fillOpacity: 1 }) },
  components: { on: false, minZoom: 15, point: () => ({ radius: 3, color: "#343a40", weight: 1, fillColor: "#adb5bd", fillOpacity: 1 }) },
  teams: { on: true, point: (f) => ({ radius: 8, color: "#fff", weight: 2, fillColor: teamColour[f.properties.status] || "#868e96", fillOpacity: 1 }) },
};

const map = L.map("map", { preferCanvas: true, zoomControl: true, minZoom: 11, maxZoom: 19 });
window.gridmap = { map, layers: {}, loaded: {} };
if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
if (config.extent) {
  const [w, s, e, n] = config.extent;
  map.fitBounds([[s, w], [n, e]]);
} else {
  map.setView([34.72, 113.73], 14);
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function describe(name, props) {
  const rows = Object.entries(props)
    .filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => `<dt>${escapeHtml(t.fields[k] || k)}</dt><dd>${escapeHtml(t.values[v] || v)}</dd>`);
  return `<dl class="grid-popup"><dt>${escapeHtml(t.layers[name] || name)}</dt>${rows.join("")}</dl>`;
}

async function gridPopup(feature, latlng) {
  const p = feature.properties;
  const response = await fetch(`/api/v1/grids/${encodeURIComponent(p.code)}`, { credentials: "same-origin" });
  if (!response.ok) return describe("grids", p);
  const grid = await response.json();
  const zones = grid.zones.length
    ? `<ul>${grid.zones.map((z) => `<li>${escapeHtml(t.values[z.kind] || z.kind)}: ${escapeHtml(z.name)}${z.holder ? " · " + escapeHtml(z.holder) : ""}</li>`).join("")}</ul>`
    : escapeHtml(t.none);
  return `<dl class="grid-popup" data-testid="grid-popup">
    <dt>${escapeHtml(t.fields.grid_code)}</dt><dd>${escapeHtml(grid.code)}</dd>
    <dt>${escapeHtml(t.fields.community)}</dt><dd>${escapeHtml(grid.community.name)} (${escapeHtml(grid.community.code)})</dd>
    <dt>${escapeHtml(t.fields.subdistrict)}</dt><dd>${escapeHtml(grid.subdistrict.name)}</dd>
    <dt>${escapeHtml(t.fields.area_m2)}</dt><dd>${Math.round(grid.area_m2).toLocaleString()} m²</dd>
    <dt>${escapeHtml(t.fields.zones)}</dt><dd>${zones}</dd></dl>`;
}

function makeLayer(name, spec) {
  const options = {
    style: spec.style,
    pointToLayer: spec.point ? (f, latlng) => L.circleMarker(latlng, spec.point(f)) : undefined,
    onEachFeature: (feature, layer) => {
      if (name === "grids") {
        layer.on("click", async (event) => {
          L.popup({ maxWidth: 320 }).setLatLng(event.latlng).setContent(t.loading).openOn(map);
          const html = await gridPopup(feature, event.latlng);
          L.popup({ maxWidth: 320 }).setLatLng(event.latlng).setContent(html).openOn(map);
        });
      } else if (name === "communities") {
        layer.bindTooltip(escapeHtml(feature.properties.name), { permanent: true, direction: "center", className: "area-label" });
      } else if (["roads", "water", "buildings", "district", "subdistricts"].includes(name)) {
        if (feature.properties.name) layer.bindTooltip(escapeHtml(feature.properties.name), { sticky: true });
      } else {
        layer.bindPopup(() => describe(name, feature.properties));
        if (feature.properties.name) layer.bindTooltip(escapeHtml(feature.properties.name));
      }
    },
  };
  // Outlines drawn over the grids must not catch clicks: on a canvas an unfilled polygon still
  // answers clicks anywhere inside it, which would hide the grids underneath.
  if (["buildings", "district", "subdistricts", "communities"].includes(name)) options.interactive = false;
  return L.geoJSON(null, options);
}

async function refresh(name) {
  const spec = LAYERS[name];
  const layer = window.gridmap.layers[name];
  if (!map.hasLayer(layer)) return;
  if (spec.minZoom && map.getZoom() < spec.minZoom) { layer.clearLayers(); delete window.gridmap.loaded[name]; return; }
  const view = map.getBounds().pad(0.5);
  const have = window.gridmap.loaded[name];
  if (have && have.contains(map.getBounds())) return;
  const bbox = [view.getWest(), view.getSouth(), view.getEast(), view.getNorth()].map((v) => v.toFixed(6)).join(",");
  const response = await fetch(`/api/v1/layers/${name}?bbox=${bbox}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  layer.clearLayers();
  layer.addData(data);
  window.gridmap.loaded[name] = view;
  document.dispatchEvent(new CustomEvent("gridmap:layer", { detail: { name, count: data.features.length } }));
}

// A page may choose which layers start shown (the community page shows its zones).
if (config.layersOn) for (const [name, spec] of Object.entries(LAYERS)) spec.on = config.layersOn.includes(name);
const overlays = {};
window.gridmap.overlays = overlays;
for (const [name, spec] of Object.entries(LAYERS)) {
  const layer = makeLayer(name, spec);
  window.gridmap.layers[name] = layer;
  overlays[escapeHtml(t.layers[name] || name)] = layer;
  if (spec.on) layer.addTo(map);
}
window.gridmap.control = L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 }).addTo(map);
window.gridmap.escapeHtml = escapeHtml;
document.dispatchEvent(new CustomEvent("gridmap:ready"));
L.control.scale({ imperial: false }).addTo(map);

const legend = L.control({ position: "bottomleft" });
legend.onAdd = () => {
  const div = L.DomUtil.create("div", "legend");
  div.dataset.testid = "legend";
  const swatch = (colour, label, kind = "") => `<div><i class="${kind}" style="background:${colour}"></i>${escapeHtml(label)}</div>`;
  div.innerHTML = `<h4>${escapeHtml(t.legend)}</h4>`
    + swatch("#7048e8", t.layers.communities, "line")
    + swatch("#4c6ef5", t.layers.grids, "line")
    + swatch(roadStyle.primary.color, t.values.primary, "line")
    + swatch(roadStyle.secondary.color, t.values.secondary, "line")
    + swatch("#a5d0f3", t.layers.water)
    + swatch("#d9d0c9", t.layers.buildings)
    + swatch("#ffd43b", t.layers.construction_sites)
    + Object.entries(zoneStyle).map(([k, s]) => swatch(s.color, t.values[k] || k)).join("")
    + Object.entries(poiColour).map(([k, c]) => swatch(c, t.values[k] || k, "dot")).join("")
    + Object.entries(teamColour).map(([k, c]) => swatch(c, `${t.layers.teams}: ${t.values[k] || k}`, "dot")).join("");
  L.DomEvent.disableClickPropagation(div);
  return div;
};
legend.addTo(map);

// Keep stacking order sensible whatever order the responses arrive in.
const order = ["water", "buildings", "roads", "construction_sites", "zones", "grids", "communities", "subdistricts", "district", "components", "pois", "teams"];
document.addEventListener("gridmap:layer", () => {
  for (const name of order) if (map.hasLayer(window.gridmap.layers[name])) window.gridmap.layers[name].bringToFront();
});

map.on("overlayadd", (e) => { const name = Object.keys(window.gridmap.layers).find((n) => window.gridmap.layers[n] === e.layer); if (name) refresh(name); });
map.on("moveend", () => { for (const name of Object.keys(LAYERS)) refresh(name); });
for (const name of Object.keys(LAYERS)) refresh(name);
