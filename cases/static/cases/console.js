// The commander console (指挥台): open cases on the map coloured by their most urgent clock, the
// queue by nearest deadline with live countdowns, a case's detail (timeline, evidence, cameras,
// the dispatch recommendation with its route) and the loop's steps by role. Changes arrive as
// server-sent events; after a dropped connection everything is reloaded from the database.
const config = JSON.parse(document.getElementById("map-config").textContent);
const C = config.console;
const t = C.labels;
const { map, escapeHtml, control } = window.gridmap;
const $ = (selector, root) => (root || document).querySelector(selector);
const COLOURS = { green: "#2f9e44", yellow: "#f59f00", red: "#e03131" };

const state = {
  cases: new Map(), // id -> compact row (see cases/console.py)
  queue: [],
  chosen: null,
  route: L.layerGroup().addTo(map),
};
const casesLayer = L.layerGroup().addTo(map);
const camerasLayer = L.layerGroup();
const blindLayer = L.layerGroup();
control.addOverlay(casesLayer, escapeHtml(t.cases));
control.addOverlay(camerasLayer, escapeHtml(t.cameras));
control.addOverlay(blindLayer, "blind spots / 盲区");
window.gridmap.console = { state, casesLayer, camerasLayer };

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function explain(data, status) {
  if (!data || typeof data !== "object") return `${status}`;
  if (data.detail) return String(data.detail);
  return Object.entries(data).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ") || `${status}`;
}

async function api(url, { method = "GET", body = null } = {}) {
  const headers = { Accept: "application/json" };
  const options = { method, headers, credentials: "same-origin" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(explain(data, response.status));
  return data;
}

function colourOf(yellowAt, dueAt, now = Date.now()) {
  if (dueAt == null) return "green";
  if (now >= dueAt) return "red";
  return now >= yellowAt ? "yellow" : "green";
}

function countdown(dueAt, now = Date.now()) {
  if (dueAt == null) return "";
  const left = Math.round((dueAt - now) / 1000);
  const abs = Math.abs(left);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = String(abs % 60).padStart(2, "0");
  const text = h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  return left >= 0 ? text : `${t.overdue_by} ${text}`;
}

// --- Map ----------------------------------------------------------------------------------
const markers = new Map(); // id -> circle marker

function drawCases(data) {
  casesLayer.clearLayers();
  markers.clear();
  state.cases.clear();
  const now = Date.now();
  for (const [lon, lat, count, colour] of data.clusters) {
    const icon = L.divIcon({ className: `case-cluster ${colour}`, html: String(count), iconSize: [36, 36] });
    L.marker([lat, lon], { icon, keyboard: false })
      .on("click", () => map.setView([lat, lon], Math.min(map.getZoom() + 2, 19)))
      .addTo(casesLayer);
  }
  for (const row of data.cases) {
    const [id, lon, lat, stage, number, category, urgent, kind, yellowAt, dueAt] = row;
    state.cases.set(id, row);
    const colour = colourOf(yellowAt, dueAt, now);
    const marker = L.circleMarker([lat, lon], {
      radius: urgent ? 9 : 7, color: "#fff", weight: 2, fillColor: COLOURS[colour], fillOpacity: 1,
    });
    marker.colour = colour;
    marker.bindTooltip(() => `${escapeHtml(number)} ${escapeHtml(category)} · ${escapeHtml(t.stages[stage] || stage)}`);
    marker.on("click", () => openCase(id));
    marker.addTo(casesLayer);
    markers.set(id, marker);
  }
  $("[data-testid=case-count]").textContent = `${data.total} ${t.cases}`;
  document.dispatchEvent(new CustomEvent("console:cases", { detail: { total: data.total } }));
}

let casesRequest = 0;
async function loadCases() {
  const mine = ++casesRequest;
  const b = map.getBounds().pad(0.2);
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
    .map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(6)).join(",");
  try {
    const data = await api(`/api/v1/console/cases?bbox=${bbox}`);
    if (mine === casesRequest) drawCases(data);
  } catch (error) {
    toast(t.failed + error.message);
  }
}

// --- Queue --------------------------------------------------------------------------------
async function loadQueue() {
  try {
    state.queue = (await api("/api/v1/console/queue")).queue;
    drawQueue();
  } catch (error) {
    toast(t.failed + error.message);
  }
}

function drawQueue() {
  const list = $("[data-testid=queue]");
  list.replaceChildren();
  if (!state.queue.length) {
    const empty = document.createElement("li");
    empty.textContent = t.queue_empty;
    list.append(empty);
  }
  for (const item of state.queue) {
    const li = document.createElement("li");
    li.dataset.case = item.id;
    li.dataset.testid = "queue-item";
    li.innerHTML = `<div class="line1"><span>${escapeHtml(item.number)} ${escapeHtml(item.category)}</span>`
      + `<span class="countdown" data-due="${item.due_at ?? ""}"></span></div>`
      + `<div class="line2">${escapeHtml(item.stage_label)} · ${escapeHtml(t.clocks[item.clock] || item.clock || "")}`
      + `${item.community ? " · " + escapeHtml(item.community) : ""}${item.team ? " · " + escapeHtml(item.team) : ""}</div>`;
    li.addEventListener("click", () => openCase(item.id));
    if (state.chosen === item.id) li.classList.add("chosen");
    list.append(li);
  }
  tick();
}

// Colours and countdowns move by themselves: no server message is needed when a clock turns.
function tick() {
  const now = Date.now();
  for (const item of state.queue) {
    const li = document.querySelector(`[data-testid=queue] li[data-case="${item.id}"]`);
    if (!li) continue;
    const colour = colourOf(item.yellow_at, item.due_at, now);
    li.className = `${colour}${state.chosen === item.id ? " chosen" : ""}`;
    li.dataset.colour = colour;
    $(".countdown", li).textContent = countdown(item.due_at, now);
  }
  for (const [id, marker] of markers) {
    const row = state.cases.get(id);
    const colour = colourOf(row[8], row[9], now);
    if (colour !== marker.colour) {
      marker.colour = colour;
      marker.setStyle({ fillColor: COLOURS[colour] });
    }
  }
}
setInterval(tick, 1000);

// --- Detail -------------------------------------------------------------------------------
const panel = $("[data-testid=detail]");
const body = $("[data-testid=detail-body]");

function allowed(name, stage) {
  const step = C.transitions[name];
  return step && step.from.includes(stage) && step.roles.includes(C.role);
}

async function openCase(id) {
  state.chosen = id;
  drawQueue();
  panel.hidden = false;
  body.textContent = "…";
  let detail;
  try {
    detail = await api(`/api/v1/cases/${id}`);
  } catch (error) {
    body.textContent = t.failed + error.message;
    return;
  }
  if (state.chosen !== id) return;
  const p = detail.properties;
  const [lon, lat] = detail.geometry.coordinates;
  map.panTo([lat, lon]);
  const now = Date.now();
  const clocks = (p.clocks || []).filter((c) => c.outcome === "open").map((c) => {
    const due = Date.parse(c.due_at);
    return `<span class="${c.light}">${escapeHtml(t.clocks[c.kind] || c.kind)} ${escapeHtml(countdown(due, now))}</span>`;
  }).join("");
  const history = (p.history || []).map((e) => `<li><time>${escapeHtml(new Date(e.at).toLocaleTimeString())}</time> ${escapeHtml(e.kind)}${e.actor ? " · " + escapeHtml(e.actor) : ""}${e.note ? " — " + escapeHtml(e.note) : ""}</li>`).join("");
  const evidence = (p.evidence || []).map((e) => e.media === "photo"
    ? `<a href="${e.url}" target="_blank" rel="noopener"><img src="${e.thumbnail_url || e.url}" alt="${escapeHtml(e.phase)}"></a>`
    : `<a href="${e.url}" target="_blank" rel="noopener">${escapeHtml(e.media)} (${escapeHtml(e.phase)})</a>`).join("");
  const cameras = p.cameras == null ? "" : (p.cameras.length
    ? `<ul>${p.cameras.map((c) => `<li>${escapeHtml(c.name || c.code)} · ${Math.round(c.distance_m)} m</li>`).join("")}</ul>`
      + (C.wall ? `<button type="button" data-testid="to-wall">${escapeHtml(t.to_wall)}</button>` : "")
    : `<p>${escapeHtml(t.no_cameras)}</p>`);
  const steps = Object.keys(C.transitions).filter((name) => allowed(name, p.stage)
    && !(name === "suspend" && p.suspended) && !(name === "resume" && !p.suspended));
  body.innerHTML = `<h2 data-testid="detail-title">${escapeHtml(p.number)} ${escapeHtml(p.category.name)}</h2>`
    + `<p>${escapeHtml(t.stages[p.stage] || p.stage)}${p.team ? " · " + escapeHtml(p.team.name) : ""}</p>`
    + `<p>${escapeHtml(p.address || "")} ${escapeHtml(p.description || "")}</p>`
    + `<div class="clocks">${clocks}</div>`
    + (steps.length ? `<div class="actions" data-testid="actions">${steps.map((s) => `<button type="button" data-step="${s}">${escapeHtml(t.steps[s] || s)}</button>`).join("")}</div>`
      + `<textarea data-testid="reason" rows="2" placeholder="${escapeHtml(t.reason)}"></textarea>` : "")
    + `<p class="message" data-testid="detail-message"></p>`
    + (p.stage === "registered" && C.role === "dispatcher" || p.stage === "registered" && C.role === "commander"
      ? `<h3>${escapeHtml(t.recommendation)}</h3><ul class="candidates" data-testid="candidates">…</ul>` : "")
    + `<h3>${escapeHtml(t.cameras)}</h3>${cameras}`
    + `<h3>${escapeHtml(t.evidence)}</h3><div class="evidence">${evidence}</div>`
    + `<h3>${escapeHtml(t.timeline)}</h3><ol class="timeline" data-testid="timeline">${history}</ol>`;
  for (const button of body.querySelectorAll("[data-step]")) {
    button.addEventListener("click", () => step(id, button.dataset.step));
  }
  $("[data-testid=to-wall]", body)?.addEventListener("click", async () => {
    try {
      await api(`/api/v1/walls/${encodeURIComponent(C.wall)}/focus`, { method: "POST", body: { case: id } });
      say(t.done);
    } catch (error) {
      say(t.failed + error.message, true);
    }
  });
  if ($("[data-testid=candidates]", body)) recommend(id);
}

function say(text, error = false) {
  const message = $("[data-testid=detail-message]", body);
  if (!message) return;
  message.textContent = text;
  message.classList.toggle("error", error);
}

async function step(id, name) {
  const payload = {};
  const reason = $("[data-testid=reason]", body)?.value.trim();
  if (C.transitions[name]?.reason) {
    if (!reason) return say(t.reason_needed, true);
    payload.reason = reason;
  } else if (reason) payload.note = reason;
  if (name === "verify") payload.result = "passed";
  try {
    await api(`/api/v1/cases/${id}/${name}`, { method: "POST", body: payload });
    say(t.done);
    refreshSoon();
    openCase(id);
  } catch (error) {
    say(t.failed + error.message, true); // the case stays as it was
  }
}

async function recommend(id) {
  const list = $("[data-testid=candidates]", body);
  state.route.clearLayers();
  let answer;
  try {
    answer = await api(`/api/v1/cases/${id}/recommendation`);
  } catch (error) {
    list.textContent = t.failed + error.message;
    return;
  }
  if (state.chosen !== id) return;
  list.replaceChildren();
  if (!answer.candidates.length) {
    list.innerHTML = `<li class="error">${escapeHtml(answer.message || t.no_team)}</li>`;
    return;
  }
  answer.candidates.forEach((c, i) => {
    const li = document.createElement("li");
    li.dataset.team = c.team_code;
    li.dataset.testid = "candidate";
    const eta = c.eta_s == null ? "" : `${t.eta} ${Math.max(1, Math.round(c.eta_s / 60))} ${t.min}`;
    const distance = c.distance_m == null ? "" : ` · ${c.distance_m < 1000 ? Math.round(c.distance_m) + " m" : (c.distance_m / 1000).toFixed(1) + " km"}`;
    const how = c.method === "straight_line" ? ` · ${t.straight_line}` : "";
    li.innerHTML = `<span class="${c.available ? "" : "busy"}">${escapeHtml(c.team_name)}<br><small>${escapeHtml(eta + distance + how)}${c.available ? "" : " · " + escapeHtml(t.busy)}</small></span>`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t.steps.dispatch;
    if (i === 0) button.className = "primary";
    button.addEventListener("click", () => dispatch(id, c.team_code));
    li.append(button);
    list.append(li);
    if (c.route) {
      L.geoJSON(c.route, { style: { color: i === 0 ? "#1971c2" : "#868e96", weight: i === 0 ? 5 : 3, opacity: 0.8, dashArray: c.method === "straight_line" ? "6 6" : null } }).addTo(state.route);
    }
  });
}

async function dispatch(id, team) {
  try {
    await api(`/api/v1/cases/${id}/dispatch`, { method: "POST", body: { team } });
    state.route.clearLayers();
    say(t.done);
    refreshSoon();
    openCase(id);
  } catch (error) {
    say(t.failed + error.message, true); // e.g. 409: another dispatcher was faster
  }
}

$("[data-testid=close-detail]").addEventListener("click", () => {
  panel.hidden = true;
  state.chosen = null;
  state.route.clearLayers();
  drawQueue();
});

// --- Search -------------------------------------------------------------------------------
const searchForm = $("[data-testid=search-form]");
const results = $("[data-testid=search-results]");
searchForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = searchForm.elements.q.value.trim();
  results.replaceChildren();
  if (!q) return;
  try {
    const data = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
    for (const hit of (data.results || data.features || []).slice(0, 8)) {
      const props = hit.properties || hit;
      const coords = hit.geometry ? hit.geometry.coordinates : [hit.lon, hit.lat];
      const li = document.createElement("li");
      li.textContent = props.name || props.label || props.code;
      li.addEventListener("click", () => {
        map.setView([coords[1], coords[0]], 18);
        results.replaceChildren();
      });
      results.append(li);
    }
  } catch (error) {
    toast(t.failed + error.message);
  }
});

// --- Cameras ------------------------------------------------------------------------------
map.on("overlayadd", async (event) => {
  if (event.layer === camerasLayer && !camerasLayer.getLayers().length) {
    const data = await api("/api/v1/cameras").catch(() => ({ features: [] }));
    for (const f of data.features) {
      const [lon, lat] = f.geometry.coordinates;
      if (f.properties.viewshed) L.geoJSON(f.properties.viewshed, { style: { color: "#4dabf7", weight: 0.5, fillOpacity: 0.12 }, interactive: false }).addTo(camerasLayer);
      L.circleMarker([lat, lon], { radius: 3, color: "#1c7ed6", weight: 1, fillOpacity: 1 }).bindTooltip(escapeHtml(f.properties.name || f.properties.code)).addTo(camerasLayer);
    }
  }
  if (event.layer === blindLayer && !blindLayer.getLayers().length) {
    const b = map.getBounds();
    const data = await api(`/api/v1/blind-spots?bbox=${[b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",")}`).catch(() => null);
    if (data) L.geoJSON(data, { style: { color: "#862e9c", weight: 0.5, fillColor: "#be4bdb", fillOpacity: 0.3 }, interactive: false }).addTo(blindLayer);
  }
});

// --- Live ---------------------------------------------------------------------------------
function toast(text) {
  const element = $("[data-testid=toast]");
  element.textContent = text;
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (element.hidden = true), 6000);
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadCases();
    loadQueue();
  }, 150);
}

function connect() {
  const live = $("[data-testid=live]");
  const stream = new EventSource("/api/v1/console/stream");
  window.gridmap.console.stream = stream;
  let wasDown = false;
  stream.onopen = () => {
    state.connected = true;
    live.classList.remove("down");
    live.title = t.live;
    if (wasDown) {
      state.reconnects = (state.reconnects || 0) + 1;
      refreshSoon(); // catch up on what happened while the connection was down
    }
    wasDown = false;
  };
  stream.onerror = () => {
    state.connected = false;
    live.classList.add("down");
    live.title = t.reconnecting;
    wasDown = true;
  };
  stream.addEventListener("case", (event) => {
    const change = JSON.parse(event.data);
    if (change.event === "report") toast(t.new_case);
    refreshSoon();
    if (state.chosen === change.id) openCase(change.id);
  });
  for (const kind of ["escalation", "escalations", "no_team", "approval"]) {
    stream.addEventListener(kind, (event) => {
      const change = JSON.parse(event.data);
      if (change.message) toast(change.message);
      refreshSoon();
    });
  }
  stream.addEventListener("team", () => {
    const teams = window.gridmap.layers.teams;
    if (teams && map.hasLayer(teams)) {
      delete window.gridmap.loaded.teams;
      map.fire("moveend");
    }
  });
}

map.on("moveend", () => loadCases());
loadCases();
loadQueue();
connect();
