// The video wall page: rows x cols tiles, each showing the camera assigned to it.
// An HLS stream (.m3u8) plays through hls.js (served locally), or natively where the browser can;
// otherwise the camera's snapshot; otherwise a placeholder naming the camera. The layout is
// fetched every few seconds; only tiles whose camera or addresses changed are rebuilt, so the
// videos on the others keep playing.

const config = JSON.parse(document.getElementById("wall-config").textContent);
const labels = config.labels;
const grid = document.getElementById("wall");
const tiles = new Map(); // "row,col" -> {el, key, hls, retryAt}
const RETRY_MS = 15000; // a stream that failed is tried again after this long

function text(tag, value, className) {
  const node = document.createElement(tag);
  node.textContent = value;
  if (className) node.className = className;
  return node;
}

function mediaKey(camera) {
  return camera ? [camera.code, camera.stream_url, camera.snapshot_url, camera.hls].join("|") : "";
}

function placeholder(camera, why) {
  const box = document.createElement("div");
  box.className = "placeholder";
  if (camera) {
    box.append(text("strong", camera.name || camera.code), text("span", camera.code));
  }
  box.append(text("span", why));
  return box;
}

function caption(camera) {
  const bar = document.createElement("div");
  bar.className = "caption";
  const status = text("span", labels.status[camera.status] || camera.status, "status");
  status.classList.add(`status-${camera.status}`);
  bar.append(text("span", `${camera.name} · ${camera.code}`), status);
  return bar;
}

function stop(tile) {
  if (tile.hls) {
    tile.hls.destroy();
    tile.hls = null;
  }
  const video = tile.el.querySelector("video");
  if (video) {
    video.removeAttribute("src");
    video.load();
  }
}

// Without a picture at all: the snapshot if there is one, else a placeholder.
function showStill(tile, camera, why) {
  stop(tile);
  tile.el.replaceChildren();
  if (camera.snapshot_url) {
    const img = document.createElement("img");
    img.alt = camera.name;
    img.src = camera.snapshot_url;
    img.addEventListener("error", () => {
      tile.el.dataset.kind = "placeholder";
      img.replaceWith(placeholder(camera, labels.noPicture));
    });
    tile.el.dataset.kind = "snapshot";
    tile.el.append(img);
  } else {
    tile.el.dataset.kind = "placeholder";
    tile.el.append(placeholder(camera, why));
  }
  tile.el.append(caption(camera));
}

function playHls(tile, camera) {
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  tile.el.replaceChildren(video, caption(camera));
  tile.el.dataset.kind = "video";
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ lowLatencyMode: true });
    tile.hls = hls;
    let recovered = false;
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;
        hls.recoverMediaError();
      } else {
        // The stream is down: show what we have, and try the stream again a little later.
        showStill(tile, camera, labels.noSignal);
        tile.retryAt = Date.now() + RETRY_MS;
      }
    });
    hls.loadSource(camera.stream_url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = camera.stream_url;
    video.addEventListener("error", () => showStill(tile, camera, labels.noSignal));
  } else {
    showStill(tile, camera, labels.noSignal);
    return;
  }
  video.play().catch(() => {}); // autoplay of a muted video is allowed; retried by autoplay
}

function render(tile, camera) {
  tile.key = mediaKey(camera);
  tile.retryAt = null;
  tile.el.dataset.camera = camera ? camera.code : "";
  if (!camera) {
    stop(tile);
    tile.el.replaceChildren(placeholder(null, labels.empty));
    tile.el.dataset.kind = "empty";
  } else if (camera.hls && camera.stream_url) {
    stop(tile);
    playHls(tile, camera);
  } else {
    showStill(tile, camera, labels.noPicture);
  }
  tile.el.classList.toggle("empty", !camera);
}

function apply(wall) {
  if (wall.rows * wall.cols !== tiles.size && tiles.size) {
    window.location.reload(); // the wall was resized in the admin
    return;
  }
  for (const entry of wall.tiles) {
    const id = `${entry.row},${entry.col}`;
    let tile = tiles.get(id);
    if (!tile) {
      const el = document.createElement("section");
      el.className = "tile";
      el.setAttribute("data-testid", `tile-${entry.row}-${entry.col}`);
      grid.append(el);
      tile = { el, key: null, hls: null, retryAt: null };
      tiles.set(id, tile);
    }
    const retry = tile.retryAt !== null && tile.retryAt !== undefined && Date.now() > tile.retryAt;
    if (tile.key !== mediaKey(entry.camera) || retry) {
      render(tile, entry.camera);
    } else if (entry.camera) {
      tile.el.querySelector(".caption")?.replaceWith(caption(entry.camera));
    }
  }
}

async function refresh() {
  try {
    const response = await fetch(config.api, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.ok) apply(await response.json());
  } catch (error) {
    console.warn("video wall: refresh failed", error);
  }
}

async function poll() {
  await refresh();
  window.setTimeout(poll, config.pollMs);
}

const form = document.querySelector("[data-testid=focus-form]");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = form.querySelector("output");
  const caseId = Number(form.elements.case.value);
  const response = await fetch(config.focusUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
    },
    body: JSON.stringify({ case: caseId }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    out.textContent = body.detail || Object.values(body).flat().join(" ") || response.statusText;
    return;
  }
  apply(body);
  const seeing = body.focus.filter((f) => f.sees).length;
  out.textContent = labels.focused
    .replace("%(case)s", body.case)
    .replace("%(seeing)s", seeing)
    .replace("%(count)s", body.focus.length);
});

window.gridmapWall = { tiles, refresh };
poll();
