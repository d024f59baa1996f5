"use strict";

(function () {
  const HISTORY_MAX = 30;
  const FALLBACK_ITEMS = ["Yes", "No"];

  function readConfig() {
    try {
      const data = JSON.parse(document.getElementById("kit-data").textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  function clean(text) {
    return String(text).replace(/\s+/g, " ").trim();
  }

  const config = readConfig();
  const startItems = (Array.isArray(config.items) ? config.items : [])
    .filter((item) => item !== null && item !== undefined)
    .map(clean)
    .filter(Boolean);
  const starting = startItems.length ? startItems : FALLBACK_ITEMS.slice();

  function hash(text) {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return (h >>> 0).toString(36);
  }
  const source = hash(JSON.stringify(starting));
  const storageKey = "random-picker:" + document.title;

  const el = {
    card: document.getElementById("result-card"),
    kicker: document.getElementById("result-kicker"),
    result: document.getElementById("result"),
    announce: document.getElementById("announce"),
    pick: document.getElementById("pick"),
    remove: document.getElementById("remove"),
    items: document.getElementById("items"),
    count: document.getElementById("count"),
    reset: document.getElementById("reset"),
    clear: document.getElementById("clear"),
    history: document.getElementById("history"),
    empty: document.getElementById("history-empty"),
  };

  let history = [];
  let lastPick = null;
  let busy = false;

  // Saved list and history belong to this starting list: a rebuilt kit starts fresh.
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object" && saved.source === source) {
      if (typeof saved.text === "string") el.items.value = saved.text;
      if (Array.isArray(saved.history)) {
        history = saved.history
          .filter((entry) => entry && typeof entry.item === "string")
          .slice(0, HISTORY_MAX);
      }
      el.remove.checked = saved.remove === true;
    }
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): picking still works.
  }
  if (!el.items.value.trim() && !history.length) el.items.value = starting.join("\n");

  function save() {
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify({ source: source, text: el.items.value, history: history, remove: el.remove.checked })
      );
    } catch (error) {
      // See above.
    }
  }

  function currentList() {
    return el.items.value.split("\n").map(clean).filter(Boolean);
  }

  function updateCount() {
    const n = currentList().length;
    el.count.textContent = n === 0 ? "The list is empty" : n === 1 ? "1 item" : n + " items";
  }

  function randomIndex(n) {
    if (n <= 1) return 0;
    try {
      const buffer = new Uint32Array(1);
      const limit = Math.floor(0x100000000 / n) * n; // no modulo bias
      do {
        crypto.getRandomValues(buffer);
      } while (buffer[0] >= limit);
      return buffer[0] % n;
    } catch (error) {
      return Math.floor(Math.random() * n);
    }
  }

  function timeLabel(stamp) {
    try {
      return new Date(stamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (error) {
      return "";
    }
  }

  function renderHistory() {
    el.history.textContent = "";
    history.forEach((entry) => {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.className = "history-item";
      text.textContent = entry.item;
      li.appendChild(text);
      const time = timeLabel(entry.time);
      if (time) {
        const when = document.createElement("time");
        when.className = "muted";
        when.dateTime = new Date(entry.time).toISOString();
        when.textContent = time;
        li.appendChild(when);
      }
      el.history.appendChild(li);
    });
    el.empty.hidden = history.length > 0;
    el.clear.disabled = history.length === 0;
  }

  function showResult(text) {
    el.result.textContent = text;
    el.result.classList.toggle("long", text.length > 24);
  }

  function removeFromList(item) {
    const lines = el.items.value.split("\n");
    const at = lines.findIndex((line) => clean(line) === item);
    if (at >= 0) {
      lines.splice(at, 1);
      el.items.value = lines.filter((line) => line.trim() !== "").join("\n");
    }
  }

  function land(item) {
    busy = false;
    el.card.classList.remove("shuffling");
    el.card.classList.remove("landed");
    void el.card.offsetWidth; // restart the pop animation
    el.card.classList.add("landed");
    el.kicker.textContent = "The pick is";
    showResult(item);
    el.announce.textContent = "Picked: " + item;
    lastPick = item;
    history.unshift({ item: item, time: Date.now() });
    history = history.slice(0, HISTORY_MAX);
    if (el.remove.checked) removeFromList(item);
    updateCount();
    renderHistory();
    save();
  }

  function pick() {
    if (busy) return;
    const list = currentList();
    if (!list.length) {
      el.card.classList.remove("landed", "shuffling");
      el.kicker.textContent = "Nothing to pick from";
      showResult("Add some items to the list");
      el.announce.textContent = "The list is empty. Add some items first.";
      return;
    }
    // Avoid the same pick twice in a row from a longer list; two items (a coin, yes or
    // no) stay a fair toss, where the same side twice is as likely as a change.
    let choices = list.length >= 3 ? list.filter((item) => item !== lastPick) : list;
    if (!choices.length) choices = list;
    const winner = choices[randomIndex(choices.length)];

    const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduced || list.length === 1) {
      land(winner);
      return;
    }
    busy = true;
    el.card.classList.remove("landed");
    el.card.classList.add("shuffling");
    el.kicker.textContent = "Picking…";
    el.announce.textContent = "";
    let step = 0;
    const steps = 10;
    let shownItem = null;
    const tick = () => {
      step += 1;
      if (step > steps) {
        land(winner);
        return;
      }
      let next = list[randomIndex(list.length)];
      if (next === shownItem && list.length > 1) next = list[(list.indexOf(next) + 1) % list.length];
      shownItem = next;
      showResult(next);
      setTimeout(tick, 40 + step * step * 1.2); // slows down towards the end (about 0.9 s)
    };
    tick();
  }

  el.pick.addEventListener("click", pick);
  el.items.addEventListener("input", () => {
    updateCount();
    save();
  });
  el.remove.addEventListener("change", save);
  el.reset.addEventListener("click", () => {
    el.items.value = starting.join("\n");
    updateCount();
    save();
  });
  el.clear.addEventListener("click", () => {
    history = [];
    renderHistory();
    save();
    el.pick.focus();
  });

  updateCount();
  renderHistory();
  if (history.length) {
    lastPick = history[0].item;
    el.kicker.textContent = "Last pick";
    showResult(history[0].item);
  }
})();
