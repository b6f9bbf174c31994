// The community page: open and overdue cases on the map and in the list, a case's history,
// the cameras with what they see, and the blind spots (grid area no camera sees).
const config = JSON.parse(document.getElementById("map-config").textContent);
const t = config.communityLabels;
const { map, escapeHtml, control } = window.gridmap;
const code = config.community.code;

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

async function allCases(query) {
  const features = [];
  for (let page = 1; page <= 20; page += 1) {
    const data = await getJson(`/api/v1/cases?community=${encodeURIComponent(code)}&${query}&page_size=1000&page=${page}`);
    features.push(...data.features);
    if (!data.next) break;
  }
  return features;
}

const OPEN = ["reported", "registered", "dispatched", "on_scene", "handled"].map((s) => `stage=${s}`).join("&");
const casesLayer = L.layerGroup().addTo(map);
const camerasLayer = L.layerGroup().addTo(map);
const viewshedLayer = L.layerGroup();
const blindLayer = L.layerGroup();
control.addOverlay(casesLayer, escapeHtml(t.cases));
control.addOverlay(camerasLayer, escapeHtml(t.cameras));
control.addOverlay(viewshedLayer, escapeHtml(t.viewsheds));
control.addOverlay(blindLayer, escapeHtml(t.blind_spots));
window.gridmap.community = { cases: casesLayer, cameras: camerasLayer, viewsheds: viewshedLayer, blindSpots: blindLayer };

const list = document.querySelector("[data-testid=case-list]");
const history = document.querySelector("[data-testid=case-history]");

async function showHistory(id, item) {
  for (const other of list.querySelectorAll(".chosen")) other.classList.remove("chosen");
  item?.classList.add("chosen");
  history.hidden = false;
  history.textContent = t.loading;
  try {
    const detail = await getJson(`/api/v1/cases/${id}`);
    const p = detail.properties;
    const events = (p.history || []).map((e) => `<li><time>${escapeHtml(new Date(e.at).toLocaleString())}</time> ${escapeHtml(e.kind_label || e.kind)}${e.note ? " — " + escapeHtml(e.note) : ""}</li>`).join("");
    history.innerHTML = `<h2>${escapeHtml(p.number)} ${escapeHtml(p.category.name)}</h2>`
      + `<p>${escapeHtml(p.address || "")} ${escapeHtml(p.description || "")}</p>`
      + `<h3>${escapeHtml(t.history)}</h3><ol data-testid="history">${events}</ol>`;
    const [lon, lat] = detail.geometry.coordinates;
    map.panTo([lat, lon]);
  } catch (error) {
    history.textContent = t.failed + error.message;
  }
}

async function loadCases() {
  try {
    const [open, late] = await Promise.all([allCases(OPEN), allCases(`${OPEN}&overdue=true`)]);
    const overdue = new Set(late.map((f) => f.id));
    open.sort((a, b) => (overdue.has(b.id) - overdue.has(a.id)) || a.properties.reported_at.localeCompare(b.properties.reported_at));
    document.querySelector("[data-testid=open-count]").textContent = open.length;
    document.querySelector("[data-testid=overdue-count]").textContent = overdue.size;
    casesLayer.clearLayers();
    list.replaceChildren();
    if (!open.length) list.innerHTML = `<li class="empty">${escapeHtml(t.none)}</li>`;
    for (const feature of open) {
      const p = feature.properties;
      const isLate = overdue.has(feature.id);
      const item = document.createElement("li");
      item.dataset.case = feature.id;
      item.dataset.testid = "case";
      item.className = isLate ? "overdue" : "";
      item.innerHTML = `<strong>${escapeHtml(p.number)}</strong> ${escapeHtml(p.category.name)}`
        + `<div class="meta">${escapeHtml(t.stages[p.stage] || p.stage)}${p.grid ? " · " + escapeHtml(p.grid) : ""}${isLate ? ` · <span class="late">${escapeHtml(t.overdue)}</span>` : ""}</div>`;
      item.addEventListener("click", () => showHistory(feature.id, item));
      list.append(item);
      const [lon, lat] = feature.geometry.coordinates;
      L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 2, fillColor: isLate ? "#c62828" : "#f08c00", fillOpacity: 1 })
        .bindTooltip(escapeHtml(`${p.number} ${p.category.name}`))
        .on("click", () => showHistory(feature.id, item))
        .addTo(casesLayer);
    }
  } catch (error) {
    list.innerHTML = `<li class="error">${escapeHtml(t.failed + error.message)}</li>`;
  }
}

function bboxOf(extent) {
  return extent.map((v) => v.toFixed(6)).join(",");
}

async function loadCameras() {
  try {
    const data = await getJson(`/api/v1/cameras?bbox=${bboxOf(config.extent)}`);
    camerasLayer.clearLayers();
    viewshedLayer.clearLayers();
    for (const feature of data.features) {
      const [lon, lat] = feature.geometry.coordinates;
      const p = feature.properties;
      L.circleMarker([lat, lon], { radius: 4, color: "#1c7ed6", weight: 1, fillColor: p.status === "offline" ? "#868e96" : "#4dabf7", fillOpacity: 1 })
        .bindTooltip(escapeHtml(`${p.name || p.code}`))
        .addTo(camerasLayer);
      if (p.viewshed) L.geoJSON(p.viewshed, { style: { color: "#4dabf7", weight: 0.5, fillOpacity: 0.15 }, interactive: false }).addTo(viewshedLayer);
    }
  } catch (error) {
    // Cameras are optional on this page (a role without camera access gets 403).
  }
}

async function loadBlindSpots() {
  try {
    const data = await getJson(`/api/v1/blind-spots?bbox=${bboxOf(config.extent)}`);
    blindLayer.clearLayers();
    L.geoJSON(data, { style: { color: "#862e9c", weight: 0.5, fillColor: "#be4bdb", fillOpacity: 0.3 }, interactive: false }).addTo(blindLayer);
  } catch (error) {
    // As for cameras.
  }
}

loadCases();
loadCameras();
map.on("overlayadd", (event) => { if (event.layer === blindLayer && !blindLayer.getLayers().length) loadBlindSpots(); });
setInterval(loadCases, 30000);
