/* The field page (执行端): my tasks nearest first, the loop's field steps, patrol reports,
 * self-disposal, check-in / check-out, new tasks live. Every request keeps its form on failure,
 * so a failed upload is retried by pressing Send again (the same Idempotency-Key: a retry
 * that did reach the server is not applied twice). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("field-config").textContent);
  const L = config.labels;
  const $ = (selector, root) => (root || document).querySelector(selector);
  let here = null; // {lon, lat, accuracy}
  let tasks = [];

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function explain(data, status) {
    if (!data || typeof data !== "object") return L.failed + " (" + status + ")";
    if (data.detail) return String(data.detail);
    const parts = [];
    for (const [field, problems] of Object.entries(data)) {
      const text = [].concat(problems).map((p) => (typeof p === "object" ? JSON.stringify(p) : p));
      parts.push((L.fields[field] || field) + ": " + text.join(" "));
    }
    return parts.join("; ") || L.failed + " (" + status + ")";
  }

  async function api(url, { method = "GET", body = null, key = "" } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (key) headers["Idempotency-Key"] = key;
    const options = { method, headers, credentials: "same-origin" };
    if (body instanceof FormData) options.body = body;
    else if (body) {
      options.body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      const failure = new Error(L.network);
      failure.status = 0;
      throw failure;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const failure = new Error(explain(data, response.status));
      failure.status = response.status;
      failure.data = data;
      throw failure;
    }
    return data;
  }

  function newKey() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  function say(element, text, kind) {
    element.textContent = text || "";
    element.classList.toggle("error", kind === "error");
    element.classList.toggle("ok", kind === "ok");
  }

  // --- Position ---------------------------------------------------------------------------
  function showPosition() {
    $("[data-testid=gps]").textContent = here
      ? L.gps_ok.replace("%(accuracy)s", Math.round(here.accuracy || 0))
      : L.gps_none;
  }

  function locate() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(here);
      navigator.geolocation.getCurrentPosition(
        (p) => {
          here = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
          showPosition();
          resolve(here);
        },
        () => {
          showPosition();
          resolve(here);
        },
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 15000 }
      );
    });
  }

  // --- Tasks ------------------------------------------------------------------------------
  async function loadTasks() {
    const query = here ? "?lon=" + here.lon.toFixed(7) + "&lat=" + here.lat.toFixed(7) : "";
    try {
      const data = await api("/api/v1/field/tasks" + query);
      tasks = data.tasks;
      say($("[data-testid=tasks-message]"), "");
      render();
    } catch (error) {
      say($("[data-testid=tasks-message]"), error.message, "error");
    }
  }

  function distanceText(metres) {
    if (metres == null) return "";
    return metres < 1000 ? metres + " m" : (metres / 1000).toFixed(1) + " km";
  }

  function render() {
    const list = $("[data-testid=tasks]");
    list.replaceChildren();
    $("[data-testid=no-tasks]").hidden = tasks.length > 0;
    for (const task of tasks) {
      const item = document.createElement("li");
      item.className = "task " + (task.clock ? task.clock.light : "");
      item.dataset.testid = "task";
      item.dataset.case = task.id;
      const head = document.createElement("div");
      head.className = "head";
      head.append(text("span", task.number + " " + task.category), text("span", task.stage_label));
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.append(text("span", [task.address, distanceText(task.distance_m)].filter(Boolean).join(" · ")));
      if (task.clock) {
        const countdown = text("span", "");
        countdown.className = "countdown";
        countdown.dataset.due = task.clock.due_at;
        countdown.dataset.kind = L.clocks[task.clock.kind] || task.clock.kind;
        meta.append(" · ", countdown);
      }
      item.append(head, meta);
      if (task.description) {
        const desc = text("p", task.description);
        desc.className = "desc";
        item.append(desc);
      }
      const actions = document.createElement("div");
      actions.className = "actions";
      const navigate = text("a", L.navigate);
      navigate.href = task.navigate;
      actions.append(navigate);
      for (const step of task.steps) {
        const button = text("button", L.steps[step] || step);
        button.type = "button";
        button.dataset.step = step;
        button.addEventListener("click", () => startStep(task, step));
        actions.append(button);
      }
      item.append(actions);
      list.append(item);
    }
    tick();
  }

  function text(tag, content) {
    const element = document.createElement(tag);
    element.textContent = content;
    return element;
  }

  function tick() {
    const now = Date.now();
    for (const element of document.querySelectorAll(".countdown[data-due]")) {
      const left = Math.round((Date.parse(element.dataset.due) - now) / 1000);
      const abs = Math.abs(left);
      const clock = Math.floor(abs / 60) + ":" + String(abs % 60).padStart(2, "0");
      element.textContent = element.dataset.kind + " " + (left >= 0 ? clock : L.overdue + " " + clock);
      element.classList.toggle("late", left < 0);
    }
  }

  // --- Steps ------------------------------------------------------------------------------
  const dialog = $("#step-dialog");
  const stepForm = $("#step-form");
  let current = null; // {task, step, key, override}

  async function startStep(task, step) {
    current = { task, step, key: newKey(), override: false };
    stepForm.reset();
    $(".step-title", stepForm).textContent = L.steps[step] || step;
    $(".step-case", stepForm).textContent = task.number + " " + task.category;
    $(".result", stepForm).hidden = step !== "verify";
    $(".files", stepForm).hidden = !["feedback", "handle", "verify"].includes(step);
    $(".note-label", stepForm).textContent = step === "return" ? L.reason : L.note;
    $(".override", stepForm).hidden = true;
    say($("[data-testid=step-message]"), "");
    if (step === "arrive") {
      // Arrival goes at once with the GPS fix; the dialog opens only when it is refused.
      await sendStep();
      return;
    }
    dialog.showModal();
  }

  async function sendStep() {
    const { task, step } = current;
    const message = $("[data-testid=step-message]");
    const form = new FormData();
    const note = stepForm.elements.note.value.trim();
    if (step === "return") {
      if (!note) {
        say(message, L.reason_needed, "error");
        if (!dialog.open) dialog.showModal();
        return;
      }
      form.append("reason", note);
    } else if (note) form.append("note", note);
    if (step === "verify") form.append("result", stepForm.elements.result.value);
    const files = stepForm.elements.files.files;
    if (["feedback", "handle"].includes(step) && files.length === 0) {
      say(message, L.evidence_needed, "error");
      return;
    }
    for (const file of files) form.append("files", file);
    if (step === "feedback") form.append("phase", "before");
    if (["arrive", "verify"].includes(step)) {
      await locate();
      if (here) {
        form.append("lon", here.lon.toFixed(7));
        form.append("lat", here.lat.toFixed(7));
      }
    }
    if (current.override) {
      const reason = stepForm.elements.override_reason.value.trim();
      if (!reason) {
        say(message, L.override_needed, "error");
        return;
      }
      form.append("override_reason", reason);
    }
    say(message, L.sending);
    try {
      await api("/api/v1/cases/" + task.id + "/" + step, { method: "POST", body: form, key: current.key });
      if (dialog.open) dialog.close();
      toast(L.done.replace("%(step)s", L.steps[step] || step).replace("%(number)s", task.number));
      await loadTasks();
    } catch (error) {
      if (step === "arrive" && error.status === 409 && /override_reason/.test(error.message + JSON.stringify(error.data || {}))) {
        current.override = true;
        current.key = newKey();
        $(".override", stepForm).hidden = false;
      }
      say(message, error.message, "error");
      if (!dialog.open) dialog.showModal();
    }
  }

  stepForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendStep();
  });
  $("[data-testid=step-cancel]").addEventListener("click", () => dialog.close());

  // --- Reports ----------------------------------------------------------------------------
  const reportForm = $("#report-form");
  let reportKey = newKey();
  reportForm.elements.self_disposed.addEventListener("change", (event) => {
    $(".after", reportForm).hidden = !event.target.checked;
  });
  reportForm.addEventListener("input", () => {
    reportKey = newKey();
  });
  reportForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("[data-testid=report-message]");
    const selfDisposed = reportForm.elements.self_disposed.checked;
    if (!reportForm.elements.category.value) return say(message, L.category_needed, "error");
    const photos = reportForm.elements.files.files;
    const after = reportForm.elements.after.files;
    if (selfDisposed && (!photos.length || !after.length)) return say(message, L.before_after_needed, "error");
    await locate();
    if (!here) return say(message, L.gps_needed, "error");
    const form = new FormData();
    form.append("category", reportForm.elements.category.value);
    form.append("description", reportForm.elements.description.value);
    form.append("lon", here.lon.toFixed(7));
    form.append("lat", here.lat.toFixed(7));
    if (selfDisposed) {
      for (const file of photos) form.append("before", file);
      for (const file of after) form.append("after", file);
    } else {
      form.append("source", "inspector");
      for (const file of photos) form.append("files", file);
    }
    say(message, L.sending);
    const button = $("[data-testid=report-submit]");
    button.disabled = true;
    try {
      const url = selfDisposed ? "/api/v1/cases/self-disposed" : "/api/v1/cases";
      const answer = await api(url, { method: "POST", body: form, key: reportKey });
      reportForm.reset();
      $(".after", reportForm).hidden = true;
      reportKey = newKey();
      say(message, L.reported.replace("%(number)s", answer.number), "ok");
    } catch (error) {
      say(message, error.message + " " + L.retry, "error"); // the form keeps what was entered
    } finally {
      button.disabled = false;
    }
  });

  // --- Attendance ---------------------------------------------------------------------------
  for (const button of document.querySelectorAll("[data-attendance]")) {
    button.addEventListener("click", async () => {
      const message = $("[data-testid=duty-message]");
      await locate();
      if (!here) return say(message, L.gps_needed, "error");
      say(message, L.sending);
      try {
        const answer = await api("/api/v1/attendance", {
          method: "POST",
          body: { kind: button.dataset.attendance, lon: here.lon, lat: here.lat },
        });
        say(message, answer.message || L.attendance_done, "ok");
      } catch (error) {
        say(message, error.message, "error");
      }
    });
  }

  // --- Live ---------------------------------------------------------------------------------
  function toast(content) {
    const element = $("[data-testid=toast]");
    element.textContent = content;
    element.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (element.hidden = true), 8000);
  }

  if (window.EventSource) {
    const stream = new EventSource("/api/v1/notifications/stream");
    window.fieldPage = { connected: false };
    stream.addEventListener("open", () => {
      window.fieldPage.connected = true;
      loadTasks(); // after a reconnection too: what came meanwhile
    });
    stream.addEventListener("notification", (event) => {
      let note = {};
      try {
        note = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (note.title) toast(note.title);
      loadTasks();
    });
  }

  $("[data-testid=refresh]").addEventListener("click", async () => {
    await locate();
    loadTasks();
  });
  setInterval(tick, 1000);
  showPosition();
  loadTasks();
  locate().then((position) => position && loadTasks());
})();
