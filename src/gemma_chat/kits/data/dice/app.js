"use strict";

(function () {
  const STANDARD_SIDES = [4, 6, 8, 10, 12, 20];
  const MAX_DICE = 6;
  const HISTORY_MAX = 25;
  const SVG_NS = "http://www.w3.org/2000/svg";

  // Outline of each die type in a 100 x 100 box; other sizes get a rounded square.
  const SHAPES = {
    4: "50,8 95,88 5,88",
    8: "50,4 95,50 50,96 5,50",
    10: "50,4 95,40 50,96 5,40",
    12: "50,5 95,38 78,92 22,92 5,38",
    20: "50,4 91,27 91,73 50,96 9,73 9,27",
  };
  // d6 pips on a 3 x 3 grid (cells 0..8, row by row).
  const PIPS = {
    1: [4],
    2: [2, 6],
    3: [2, 4, 6],
    4: [0, 2, 6, 8],
    5: [0, 2, 4, 6, 8],
    6: [0, 2, 3, 5, 6, 8],
  };

  function readConfig() {
    try {
      const data = JSON.parse(document.getElementById("kit-data").textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  function clampInt(value, low, high, fallback) {
    const number = Math.round(Number(value));
    if (!Number.isFinite(number)) return fallback;
    return Math.min(high, Math.max(low, number));
  }

  const config = readConfig();
  const startCount = clampInt(config.dice_count, 1, MAX_DICE, 2);
  const startSides = clampInt(config.sides, 2, 100, 6);
  const sideOptions = STANDARD_SIDES.includes(startSides)
    ? STANDARD_SIDES.slice()
    : STANDARD_SIDES.concat([startSides]).sort((a, b) => a - b);
  const storageKey = "dice:" + document.title;

  const el = {
    countOptions: document.getElementById("count-options"),
    sidesOptions: document.getElementById("sides-options"),
    tray: document.getElementById("tray"),
    total: document.getElementById("total"),
    breakdown: document.getElementById("breakdown"),
    announce: document.getElementById("announce"),
    roll: document.getElementById("roll"),
    clear: document.getElementById("clear"),
    history: document.getElementById("history"),
    empty: document.getElementById("history-empty"),
  };

  let count = startCount;
  let sides = startSides;
  let history = [];

  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") {
      count = clampInt(saved.count, 1, MAX_DICE, startCount);
      if (sideOptions.includes(saved.sides)) sides = saved.sides;
      if (Array.isArray(saved.history)) {
        history = saved.history
          .filter(
            (entry) =>
              entry &&
              Array.isArray(entry.values) &&
              entry.values.length > 0 &&
              entry.values.every((v) => Number.isInteger(v)) &&
              Number.isInteger(entry.sides)
          )
          .slice(0, HISTORY_MAX);
      }
    }
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): rolling still works.
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ count: count, sides: sides, history: history }));
    } catch (error) {
      // See above.
    }
  }

  function rollOne(n) {
    try {
      const buffer = new Uint32Array(1);
      const limit = Math.floor(0x100000000 / n) * n; // no modulo bias
      do {
        crypto.getRandomValues(buffer);
      } while (buffer[0] >= limit);
      return (buffer[0] % n) + 1;
    } catch (error) {
      return Math.floor(Math.random() * n) + 1;
    }
  }

  // Radio groups: native keyboard support (arrows), one label each.
  function radioGroup(container, name, values, current, labelOf, onPick) {
    container.textContent = "";
    container.classList.toggle("many", values.length > 6);
    values.forEach((value) => {
      const label = document.createElement("label");
      label.className = "seg";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = name;
      input.value = String(value);
      input.checked = value === current;
      input.addEventListener("change", () => {
        if (input.checked) onPick(value);
      });
      const text = document.createElement("span");
      text.textContent = labelOf(value);
      label.append(input, text);
      container.appendChild(label);
    });
  }

  function makeDie(value, dieSides) {
    const die = document.createElement("div");
    die.className = "die";
    const idle = value === null;
    if (idle) die.classList.add("idle");
    if (dieSides === 6 && !idle) {
      die.classList.add("d6");
      const on = PIPS[value] || [];
      for (let cell = 0; cell < 9; cell++) {
        const pip = document.createElement("span");
        pip.className = on.includes(cell) ? "pip on" : "pip";
        die.appendChild(pip);
      }
      return die;
    }
    die.classList.add("poly", "d" + dieSides);
    if (dieSides === 6) die.classList.add("cube");
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("focusable", "false");
    let shape;
    if (SHAPES[dieSides]) {
      shape = document.createElementNS(SVG_NS, "polygon");
      shape.setAttribute("points", SHAPES[dieSides]);
    } else if (dieSides === 2) {
      shape = document.createElementNS(SVG_NS, "circle");
      shape.setAttribute("cx", "50");
      shape.setAttribute("cy", "50");
      shape.setAttribute("r", "45");
    } else {
      shape = document.createElementNS(SVG_NS, "rect");
      shape.setAttribute("x", "6");
      shape.setAttribute("y", "6");
      shape.setAttribute("width", "88");
      shape.setAttribute("height", "88");
      shape.setAttribute("rx", "18");
    }
    shape.setAttribute("class", "die-shape");
    svg.appendChild(shape);
    const label = document.createElement("span");
    label.className = "die-value";
    const text = idle ? "?" : String(value);
    label.textContent = text;
    if (text.length >= 3) label.classList.add("small");
    die.append(svg, label);
    return die;
  }

  function showIdle() {
    el.tray.textContent = "";
    for (let i = 0; i < count; i++) el.tray.appendChild(makeDie(null, sides));
    el.total.textContent = "–";
    el.breakdown.textContent = count + "d" + sides + " · ready to roll";
  }

  function showRoll(values, dieSides, animate) {
    el.tray.textContent = "";
    values.forEach((value, i) => {
      const die = makeDie(value, dieSides);
      if (animate) {
        die.classList.add("rolling");
        die.style.animationDelay = i * 45 + "ms";
      }
      el.tray.appendChild(die);
    });
    const total = values.reduce((sum, v) => sum + v, 0);
    el.total.textContent = String(total);
    el.breakdown.textContent =
      values.length > 1 ? values.join(" + ") + "  ·  " + values.length + "d" + dieSides : "1d" + dieSides;
    return total;
  }

  function renderHistory() {
    el.history.textContent = "";
    history.forEach((entry) => {
      const li = document.createElement("li");
      const kind = document.createElement("span");
      kind.className = "h-kind";
      kind.textContent = entry.values.length + "d" + entry.sides;
      const values = document.createElement("span");
      values.className = "h-values";
      values.textContent = entry.values.join(", ");
      const total = document.createElement("strong");
      total.className = "h-total";
      total.textContent = String(entry.values.reduce((sum, v) => sum + v, 0));
      li.append(kind, values, total);
      el.history.appendChild(li);
    });
    el.empty.hidden = history.length > 0;
    el.clear.disabled = history.length === 0;
  }

  function roll() {
    const values = [];
    for (let i = 0; i < count; i++) values.push(rollOne(sides));
    const total = showRoll(values, sides, true);
    const list = values.length > 1 ? values.slice(0, -1).join(", ") + " and " + values[values.length - 1] : String(values[0]);
    el.announce.textContent = "Rolled " + count + "d" + sides + ": " + list + ". Total " + total + ".";
    history.unshift({ sides: sides, values: values });
    history = history.slice(0, HISTORY_MAX);
    renderHistory();
    save();
  }

  radioGroup(el.countOptions, "count", [1, 2, 3, 4, 5, 6], count, String, (value) => {
    count = value;
    showIdle();
    save();
  });
  radioGroup(el.sidesOptions, "sides", sideOptions, sides, (v) => "d" + v, (value) => {
    sides = value;
    showIdle();
    save();
  });

  el.roll.addEventListener("click", roll);
  el.clear.addEventListener("click", () => {
    history = [];
    renderHistory();
    save();
    el.roll.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.key !== "r" && event.key !== "R") return;
    const target = event.target;
    if (
      target.closest &&
      target.closest("textarea, select, [contenteditable], input:not([type=radio]):not([type=checkbox])")
    ) {
      return;
    }
    event.preventDefault();
    roll();
  });

  const last = history[0];
  if (last && last.sides === sides && last.values.length === count) showRoll(last.values, sides, false);
  else showIdle();
  renderHistory();
})();
