"use strict";

(function () {
  function readConfig() {
    try {
      const data = JSON.parse(document.getElementById("kit-data").textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  const config = readConfig();
  const rawMax = Math.round(Number(config.max_laps));
  const maxLaps = Number.isFinite(rawMax) ? Math.min(999, Math.max(1, rawMax)) : 50;
  const storageKey = "stopwatch:" + document.title;

  const el = (id) => document.getElementById(id);
  const dial = el("dial");
  const display = el("display");
  const stateText = el("state");
  const currentLap = el("current-lap");
  const currentLapNo = el("current-lap-no");
  const currentLapTime = el("current-lap-time");
  const toggle = el("toggle");
  const startText = toggle.querySelector('[data-slot="start_label"]');
  const stopText = toggle.querySelector('[data-slot="stop_label"]');
  const lapButton = el("lap");
  const resetButton = el("reset");
  const list = el("laps");
  const empty = el("laps-empty");
  const count = el("lap-count");
  const limit = el("lap-limit");
  const announce = el("announce");

  // The whole state: time banked before the last start, when it last started (ms since
  // the epoch, or null while stopped), and the laps as total elapsed time at each press.
  let banked = 0;
  let startedAt = null;
  let splits = [];
  let frame = 0;

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (!saved || typeof saved !== "object") return;
      if (Number.isFinite(saved.banked) && saved.banked >= 0) banked = saved.banked;
      if (Number.isFinite(saved.startedAt) && saved.startedAt <= Date.now()) startedAt = saved.startedAt;
      if (Array.isArray(saved.splits)) {
        splits = saved.splits.filter((t) => Number.isFinite(t) && t >= 0).slice(0, maxLaps);
      }
    } catch (error) {
      // Storage blocked or damaged: start fresh.
    }
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ banked, startedAt, splits }));
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): timing still works.
    }
  }

  function elapsed() {
    return banked + (startedAt === null ? 0 : Math.max(0, Date.now() - startedAt));
  }

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  // mm:ss.cc, or h:mm:ss.cc past the hour.
  function format(ms) {
    const centis = Math.floor(Math.max(0, ms) / 10);
    const cs = centis % 100;
    const totalSeconds = Math.floor(centis / 100);
    const s = totalSeconds % 60;
    const totalMinutes = Math.floor(totalSeconds / 60);
    const m = totalMinutes % 60;
    const h = Math.floor(totalMinutes / 60);
    const tail = pad(s, 2) + "." + pad(cs, 2);
    return h > 0 ? h + ":" + pad(m, 2) + ":" + tail : pad(m, 2) + ":" + tail;
  }

  function spoken(ms) {
    const totalSeconds = Math.floor(Math.max(0, ms) / 10) / 100;
    const minutes = Math.floor(totalSeconds / 60);
    const seconds = (totalSeconds - minutes * 60).toFixed(2);
    return (minutes ? minutes + " min " : "") + seconds + " s";
  }

  function lapTimes() {
    return splits.map((total, i) => total - (i ? splits[i - 1] : 0));
  }

  function drawTime() {
    const now = elapsed();
    display.textContent = format(now);
    if (startedAt !== null || splits.length) {
      const last = splits.length ? splits[splits.length - 1] : 0;
      currentLapNo.textContent = String(splits.length + 1);
      currentLapTime.textContent = format(now - last);
    }
  }

  function tick() {
    drawTime();
    frame = startedAt === null ? 0 : requestAnimationFrame(tick);
  }

  function drawLaps() {
    const times = lapTimes();
    let best = -1;
    let worst = -1;
    if (times.length >= 2) {
      const low = Math.min(...times);
      const high = Math.max(...times);
      if (low !== high) {
        best = times.indexOf(low);
        worst = times.indexOf(high);
      }
    }
    const rows = document.createDocumentFragment();
    for (let i = times.length - 1; i >= 0; i--) {
      const item = document.createElement("li");
      item.className = "lap" + (i === best ? " best" : "") + (i === worst ? " worst" : "");
      const number = document.createElement("span");
      number.className = "lap-no";
      number.textContent = "#" + (i + 1);
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.textContent = i === best ? "Best" : i === worst ? "Worst" : "";
      const time = document.createElement("span");
      time.className = "lap-time";
      time.textContent = format(times[i]);
      const total = document.createElement("span");
      total.className = "lap-total muted";
      total.textContent = format(splits[i]);
      item.append(number, mark, time, total);
      rows.append(item);
    }
    list.replaceChildren(rows);
    empty.hidden = times.length > 0;
    count.textContent = times.length + " of " + maxLaps;
    limit.hidden = times.length < maxLaps;
  }

  function drawState() {
    const running = startedAt !== null;
    const state = running ? "running" : elapsed() > 0 ? "paused" : "idle";
    dial.dataset.state = state;
    stateText.textContent = running ? "Running" : state === "paused" ? "Stopped" : "Ready";
    startText.hidden = running;
    stopText.hidden = !running;
    toggle.setAttribute("aria-pressed", String(running));
    lapButton.disabled = !running || splits.length >= maxLaps;
    resetButton.disabled = state === "idle" && !splits.length;
    currentLap.hidden = !(running || splits.length);
  }

  function draw() {
    drawState();
    drawLaps();
    drawTime();
  }

  function say(text) {
    announce.textContent = text;
  }

  function start() {
    if (startedAt !== null) return;
    startedAt = Date.now();
    save();
    draw();
    say("Started");
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(tick);
  }

  function stop() {
    if (startedAt === null) return;
    banked = elapsed();
    startedAt = null;
    cancelAnimationFrame(frame);
    frame = 0;
    save();
    draw();
    say("Stopped at " + spoken(banked));
  }

  function toggleRunning() {
    if (startedAt === null) start();
    else stop();
  }

  function lap() {
    if (startedAt === null || splits.length >= maxLaps) return;
    const now = elapsed();
    splits.push(now);
    save();
    drawState();
    drawLaps();
    drawTime();
    const times = lapTimes();
    say("Lap " + splits.length + ": " + spoken(times[times.length - 1]));
    if (splits.length >= maxLaps) toggle.focus();
  }

  function reset() {
    const wasFocused = document.activeElement === resetButton;
    banked = 0;
    startedAt = null;
    splits = [];
    cancelAnimationFrame(frame);
    frame = 0;
    save();
    draw();
    say("Reset");
    if (wasFocused) toggle.focus(); // the reset button is disabled now
  }

  toggle.addEventListener("click", toggleRunning);
  lapButton.addEventListener("click", lap);
  resetButton.addEventListener("click", reset);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === " " || key === "spacebar") {
      // A focused button answers Space itself (that is how keyboards press buttons).
      if (target && target.closest("button, a, summary")) return;
      event.preventDefault();
      toggleRunning();
    } else if (key === "l") {
      event.preventDefault();
      lap();
    } else if (key === "r") {
      event.preventDefault();
      reset();
    }
  });

  load();
  draw();
  if (startedAt !== null) frame = requestAnimationFrame(tick);
})();
