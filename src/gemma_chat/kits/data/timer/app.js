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

  const MAX_MINUTES = 600;
  const config = readConfig();
  const baseTitle = document.title;
  const storageKey = "timer:" + baseTitle;

  const el = (id) => document.getElementById(id);
  const presetBox = el("presets");
  const ringWrap = el("ring-wrap");
  const ring = el("ring-progress");
  const timeText = el("time");
  const stateText = el("state");
  const done = el("done");
  const doneText = done.querySelector('[data-slot="done_text"]');
  const toggle = el("toggle");
  const startText = toggle.querySelector('[data-slot="start_label"]');
  const pauseText = toggle.querySelector('[data-slot="pause_label"]');
  const resetButton = el("reset");
  const form = el("custom");
  const minutesInput = el("minutes");
  const help = el("minutes-help");
  const helpText = help.innerHTML;
  const announce = el("announce");

  function clampMinutes(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function minutesLabel(minutes) {
    const seconds = Math.round(minutes * 60);
    if (seconds < 60) return seconds + " s";
    if (seconds % 60) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
    return seconds / 60 + " min";
  }

  function toNumber(text) {
    const found = String(text).match(/\d+(?:[.,]\d+)?/);
    return found ? Number(found[0].replace(",", ".")) : NaN;
  }

  // "Focus | 25" -> {label: "Focus", minutes: 25}; copes with "25", "Tea 3", "Tea", "| 5".
  function parsePreset(item) {
    const text = String(item == null ? "" : item).replace(/\s+/g, " ").trim();
    const parts = text.split("|").map((part) => part.trim());
    let label = parts[0] || "";
    let minutes = parts.length > 1 ? toNumber(parts.slice(1).join(" ")) : NaN;
    if (!Number.isFinite(minutes)) minutes = toNumber(label);
    if (!Number.isFinite(minutes) || minutes <= 0) return null;
    minutes = clampMinutes(minutes, 1 / 60, MAX_MINUTES);
    if (!label || /^[\d.,\s]*(min|mins|minutes|m)?$/i.test(label)) label = minutesLabel(minutes);
    return { label, minutes };
  }

  const presets = (Array.isArray(config.presets) ? config.presets : [])
    .slice(0, 12)
    .map(parsePreset)
    .filter(Boolean);
  const rawDefault = Number(config.default_minutes);
  const defaultMinutes = Number.isFinite(rawDefault) && rawDefault > 0
    ? clampMinutes(rawDefault, 1 / 60, MAX_MINUTES)
    : presets.length ? presets[0].minutes : 25;

  // State: the length set, what is left, when a running countdown ends (ms since the epoch).
  let duration = Math.round(defaultMinutes * 60) * 1000;
  let remaining = duration;
  let endAt = null;
  let status = "ready"; // ready | running | paused | done
  let ticker = 0;
  let audio = null;

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (!saved || typeof saved !== "object") return;
      const okDuration = Number.isFinite(saved.duration) && saved.duration >= 1000 &&
        saved.duration <= MAX_MINUTES * 60000;
      if (!okDuration) return;
      duration = saved.duration;
      remaining = Number.isFinite(saved.remaining) ? clampMinutes(saved.remaining, 0, duration) : duration;
      if (saved.status === "running" && Number.isFinite(saved.endAt)) {
        endAt = saved.endAt;
        remaining = clampMinutes(endAt - Date.now(), 0, duration);
        status = remaining > 0 ? "running" : "done";
        if (status === "done") endAt = null;
      } else if (saved.status === "paused" && remaining > 0) {
        status = "paused";
      } else if (saved.status === "done") {
        status = "done";
        remaining = 0;
      } else {
        remaining = duration;
      }
    } catch (error) {
      // Storage blocked or damaged: start from the defaults.
    }
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ duration, remaining, endAt, status }));
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): the timer still works.
    }
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function clock(ms) {
    const total = Math.ceil(Math.max(0, ms) / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }

  function spoken(ms) {
    const total = Math.ceil(Math.max(0, ms) / 1000);
    const m = Math.floor(total / 60);
    const s = total % 60;
    return (m ? m + (m === 1 ? " minute" : " minutes") : "") +
      (m && s ? " " : "") + (s || !m ? s + (s === 1 ? " second" : " seconds") : "");
  }

  function left() {
    return status === "running" && endAt !== null ? Math.max(0, endAt - Date.now()) : remaining;
  }

  function drawTime() {
    const ms = left();
    const fraction = duration > 0 ? ms / duration : 0;
    timeText.textContent = clock(ms);
    ring.setAttribute("stroke-dashoffset", String((1 - fraction) * 100));
    if (status === "ready") document.title = baseTitle;
    else if (status === "done") document.title = doneText.textContent.trim() + " · " + baseTitle;
    else document.title = clock(ms) + (status === "paused" ? " ❚❚ " : " · ") + baseTitle;
  }

  const STATE_WORDS = { ready: "Ready", running: "Running", paused: "Paused", done: "Done" };

  function draw() {
    ringWrap.dataset.state = status;
    stateText.textContent = STATE_WORDS[status] + " · " + minutesLabel(duration / 60000);
    done.hidden = status !== "done";
    startText.hidden = status === "running";
    pauseText.hidden = status !== "running";
    toggle.setAttribute("aria-pressed", String(status === "running"));
    resetButton.disabled = status === "ready";
    for (const chip of presetBox.querySelectorAll("button")) {
      chip.setAttribute("aria-pressed", String(Number(chip.dataset.ms) === duration));
    }
    drawTime();
  }

  function say(text) {
    announce.textContent = text;
  }

  function stopTicker() {
    clearInterval(ticker);
    ticker = 0;
  }

  function tick() {
    if (status !== "running") return stopTicker();
    if (left() <= 0) finish();
    else drawTime();
  }

  function startTicker() {
    stopTicker();
    ticker = setInterval(tick, 200);
  }

  function unlockAudio() {
    if (audio) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = new Context();
    } catch (error) {
      audio = null;
    }
  }

  function beep() {
    if (!audio) return;
    try {
      if (audio.state === "suspended") audio.resume();
      const t0 = audio.currentTime + 0.05;
      for (let i = 0; i < 3; i++) {
        const at = t0 + i * 0.28;
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.2);
      }
    } catch (error) {
      // No sound is fine: the message on the page says it.
    }
  }

  function start() {
    unlockAudio();
    if (status === "done" || remaining <= 0) remaining = duration;
    endAt = Date.now() + remaining;
    status = "running";
    save();
    draw();
    startTicker();
    say("Started, " + spoken(remaining) + " left");
  }

  function pause() {
    remaining = left();
    endAt = null;
    status = "paused";
    stopTicker();
    save();
    draw();
    say("Paused, " + spoken(remaining) + " left");
  }

  function finish() {
    remaining = 0;
    endAt = null;
    status = "done";
    stopTicker();
    save();
    draw();
    beep();
  }

  function reset() {
    const wasFocused = document.activeElement === resetButton;
    stopTicker();
    remaining = duration;
    endAt = null;
    status = "ready";
    save();
    draw();
    say("Reset to " + spoken(duration));
    if (wasFocused) toggle.focus(); // reset is disabled while ready
  }

  function setDuration(ms) {
    stopTicker();
    duration = clampMinutes(Math.round(ms / 1000) * 1000, 1000, MAX_MINUTES * 60000);
    remaining = duration;
    endAt = null;
    status = "ready";
    if (Number.isInteger(duration / 60000) && duration / 60000 <= 180) {
      minutesInput.value = String(duration / 60000);
    }
    save();
    draw();
    say("Set to " + spoken(duration));
  }

  function toggleRunning() {
    if (status === "running") pause();
    else start();
  }

  function buildPresets() {
    presetBox.replaceChildren();
    presetBox.hidden = presets.length === 0;
    for (const preset of presets) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.ms = String(Math.round(preset.minutes * 60) * 1000);
      const name = document.createElement("span");
      name.className = "chip-label";
      name.textContent = preset.label;
      chip.append(name);
      const length = minutesLabel(preset.minutes);
      if (length !== preset.label) {
        const sub = document.createElement("span");
        sub.className = "chip-length";
        sub.textContent = length;
        chip.append(sub);
      }
      chip.setAttribute("aria-pressed", "false");
      chip.addEventListener("click", () => setDuration(Number(chip.dataset.ms)));
      presetBox.append(chip);
    }
  }

  toggle.addEventListener("click", toggleRunning);
  resetButton.addEventListener("click", reset);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number(String(minutesInput.value).replace(",", "."));
    if (minutesInput.value.trim() === "" || !Number.isFinite(value) || value <= 0) {
      minutesInput.setAttribute("aria-invalid", "true");
      help.textContent = "Enter a number of minutes from 1 to 180.";
      help.classList.add("error");
      minutesInput.focus();
      return;
    }
    minutesInput.removeAttribute("aria-invalid");
    help.innerHTML = helpText;
    help.classList.remove("error");
    const minutes = Math.round(clampMinutes(value, 1, 180));
    minutesInput.value = String(minutes);
    setDuration(minutes * 60000);
  });

  minutesInput.addEventListener("input", () => {
    if (minutesInput.getAttribute("aria-invalid")) {
      minutesInput.removeAttribute("aria-invalid");
      help.innerHTML = helpText;
      help.classList.remove("error");
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === " " || key === "spacebar") {
      if (target && target.closest("button, a, summary")) return; // buttons take Space themselves
      event.preventDefault();
      toggleRunning();
    } else if (key === "r") {
      event.preventDefault();
      if (status !== "ready") reset();
    }
  });

  minutesInput.value = String(Math.round(clampMinutes(defaultMinutes, 1, 180)));
  buildPresets();
  load();
  if (Number.isInteger(duration / 60000) && duration / 60000 <= 180) {
    minutesInput.value = String(duration / 60000);
  }
  draw();
  if (status === "running") startTicker();
})();
