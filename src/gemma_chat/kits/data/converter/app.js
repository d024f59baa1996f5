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

  // Linear units: value in the base unit = value × factor.
  const linear = (id, name, symbol, factor) => ({ id, name, symbol, factor });

  // Temperature goes through Celsius.
  const TEMPERATURE = [
    { id: "c", name: "Celsius", symbol: "°C", toBase: (v) => v, fromBase: (v) => v },
    { id: "f", name: "Fahrenheit", symbol: "°F", toBase: (v) => ((v - 32) * 5) / 9, fromBase: (v) => (v * 9) / 5 + 32 },
    { id: "k", name: "Kelvin", symbol: "K", toBase: (v) => v - 273.15, fromBase: (v) => v + 273.15 },
  ];

  const TEMPERATURE_FORMULAS = {
    "c>f": "°F = °C × 9/5 + 32",
    "f>c": "°C = (°F − 32) × 5/9",
    "c>k": "K = °C + 273.15",
    "k>c": "°C = K − 273.15",
    "f>k": "K = (°F − 32) × 5/9 + 273.15",
    "k>f": "°F = (K − 273.15) × 9/5 + 32",
  };

  const CATEGORIES = [
    {
      name: "Temperature",
      aliases: ["temperature", "temperatures", "temp", "heat", "degrees"],
      units: TEMPERATURE,
      pair: ["c", "f"],
      value: "20",
    },
    {
      name: "Length",
      aliases: ["length", "lengths", "distance", "distances", "height", "size"],
      units: [
        linear("mm", "Millimetre", "mm", 0.001),
        linear("cm", "Centimetre", "cm", 0.01),
        linear("m", "Metre", "m", 1),
        linear("km", "Kilometre", "km", 1000),
        linear("in", "Inch", "in", 0.0254),
        linear("ft", "Foot", "ft", 0.3048),
        linear("yd", "Yard", "yd", 0.9144),
        linear("mi", "Mile", "mi", 1609.344),
        linear("nmi", "Nautical mile", "nmi", 1852),
      ],
      pair: ["m", "ft"],
      value: "1",
    },
    {
      name: "Weight",
      aliases: ["weight", "weights", "mass", "masses"],
      units: [
        linear("mg", "Milligram", "mg", 1e-6),
        linear("g", "Gram", "g", 0.001),
        linear("kg", "Kilogram", "kg", 1),
        linear("t", "Tonne", "t", 1000),
        linear("oz", "Ounce", "oz", 0.028349523125),
        linear("lb", "Pound", "lb", 0.45359237),
        linear("st", "Stone", "st", 6.35029318),
      ],
      pair: ["kg", "lb"],
      value: "1",
    },
    {
      name: "Volume",
      aliases: ["volume", "volumes", "capacity", "liquid", "liquids"],
      units: [
        linear("ml", "Millilitre", "ml", 0.001),
        linear("l", "Litre", "l", 1),
        linear("m3", "Cubic metre", "m³", 1000),
        linear("tsp", "Teaspoon (US)", "tsp", 0.00492892159375),
        linear("tbsp", "Tablespoon (US)", "tbsp", 0.01478676478125),
        linear("floz", "Fluid ounce (US)", "fl oz", 0.0295735295625),
        linear("cup", "Cup (US)", "cup", 0.2365882365),
        linear("pt", "Pint (US)", "pt", 0.473176473),
        linear("qt", "Quart (US)", "qt", 0.946352946),
        linear("gal", "Gallon (US)", "gal", 3.785411784),
        linear("ukpt", "Pint (UK)", "UK pt", 0.56826125),
        linear("ukgal", "Gallon (UK)", "UK gal", 4.54609),
      ],
      pair: ["l", "gal"],
      value: "1",
    },
    {
      name: "Area",
      aliases: ["area", "areas", "surface", "land"],
      units: [
        linear("cm2", "Square centimetre", "cm²", 1e-4),
        linear("m2", "Square metre", "m²", 1),
        linear("ha", "Hectare", "ha", 1e4),
        linear("km2", "Square kilometre", "km²", 1e6),
        linear("in2", "Square inch", "in²", 0.00064516),
        linear("ft2", "Square foot", "ft²", 0.09290304),
        linear("yd2", "Square yard", "yd²", 0.83612736),
        linear("ac", "Acre", "ac", 4046.8564224),
        linear("mi2", "Square mile", "mi²", 2589988.110336),
      ],
      pair: ["m2", "ft2"],
      value: "1",
    },
    {
      name: "Speed",
      aliases: ["speed", "speeds", "velocity", "pace"],
      units: [
        linear("ms", "Metre per second", "m/s", 1),
        linear("kmh", "Kilometre per hour", "km/h", 1 / 3.6),
        linear("mph", "Mile per hour", "mph", 0.44704),
        linear("kn", "Knot", "kn", 1852 / 3600),
        linear("fts", "Foot per second", "ft/s", 0.3048),
      ],
      pair: ["kmh", "mph"],
      value: "100",
    },
    {
      name: "Time",
      aliases: ["time", "times", "duration", "durations"],
      units: [
        linear("ms", "Millisecond", "ms", 0.001),
        linear("s", "Second", "s", 1),
        linear("min", "Minute", "min", 60),
        linear("h", "Hour", "h", 3600),
        linear("d", "Day", "d", 86400),
        linear("wk", "Week", "wk", 604800),
        linear("yr", "Year (365.25 days)", "yr", 31557600),
      ],
      pair: ["h", "min"],
      value: "1",
    },
    {
      name: "Data",
      aliases: ["data", "storage", "digital", "bytes", "file size", "filesize", "memory"],
      units: [
        linear("bit", "Bit", "bit", 0.125),
        linear("B", "Byte", "B", 1),
        linear("kB", "Kilobyte", "kB", 1e3),
        linear("MB", "Megabyte", "MB", 1e6),
        linear("GB", "Gigabyte", "GB", 1e9),
        linear("TB", "Terabyte", "TB", 1e12),
        linear("KiB", "Kibibyte", "KiB", 1024),
        linear("MiB", "Mebibyte", "MiB", 1048576),
        linear("GiB", "Gibibyte", "GiB", 1073741824),
      ],
      pair: ["GB", "MB"],
      value: "1",
    },
  ];

  const config = readConfig();
  const rawDecimals = Math.round(Number(config.decimals));
  const decimals = Number.isFinite(rawDecimals) ? Math.min(10, Math.max(0, rawDecimals)) : 4;
  const storageKey = "converter:" + document.title;

  function key(text) {
    return String(text == null ? "" : text).toLowerCase().replace(/[^a-z ]+/g, " ").replace(/\s+/g, " ").trim();
  }

  // The categories the page shows: named ones in the slot's order; unknown names are
  // ignored; none left means all of them.
  function chooseCategories() {
    const wanted = Array.isArray(config.categories) ? config.categories : [];
    const chosen = [];
    for (const name of wanted) {
      const k = key(name);
      const found = CATEGORIES.find((c) => c.aliases.includes(k) || c.aliases.some((a) => k.split(" ").includes(a)));
      if (found && !chosen.includes(found)) chosen.push(found);
    }
    return chosen.length ? chosen : CATEGORIES.slice();
  }

  const categories = chooseCategories();

  const el = (id) => document.getElementById(id);
  const tabs = el("tabs");
  const panel = el("panel");
  const inputs = { a: el("value-a"), b: el("value-b") };
  const selects = { a: el("unit-a"), b: el("unit-b") };
  const labels = { a: el("label-a"), b: el("label-b") };
  const swapButton = el("swap");
  const summary = el("summary");
  const warning = el("warning");
  const formula = el("formula");
  swapButton.title = swapButton.getAttribute("aria-label") || "Swap units";

  // Per category: the two units, which side was typed in last, and what it holds.
  let state = { category: categories[0].name, per: {} };

  function fresh(category) {
    return { a: category.pair[0], b: category.pair[1], source: "a", text: category.value };
  }

  function current() {
    return categories.find((c) => c.name === state.category) || categories[0];
  }

  function slot(category) {
    const saved = state.per[category.name];
    const ids = category.units.map((u) => u.id);
    if (
      !saved || typeof saved !== "object" || !ids.includes(saved.a) || !ids.includes(saved.b) ||
      (saved.source !== "a" && saved.source !== "b") || typeof saved.text !== "string"
    ) {
      state.per[category.name] = fresh(category);
    }
    return state.per[category.name];
  }

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (saved && typeof saved === "object") {
        if (categories.some((c) => c.name === saved.category)) state.category = saved.category;
        if (saved.per && typeof saved.per === "object") state.per = saved.per;
      }
    } catch (error) {
      // Storage blocked or damaged: use the defaults.
    }
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(state));
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): converting still works.
    }
  }

  function unit(category, id) {
    return category.units.find((u) => u.id === id) || category.units[0];
  }

  function convert(category, value, fromId, toId) {
    const from = unit(category, fromId);
    const to = unit(category, toId);
    if (from.factor) return (value * from.factor) / to.factor;
    return to.fromBase(from.toBase(value));
  }

  // "1,5", " 2 000 ", "−3", "1e3" are numbers; "", "-", "." are not yet.
  function parse(text) {
    let t = String(text).trim().replace(/[\s_]/g, "").replace(/[−–]/g, "-");
    if (!t.includes(".") && /^-?\d*,\d+$/.test(t)) t = t.replace(",", ".");
    else t = t.replace(/,/g, "");
    if (t === "" || t === "-" || t === "." || t === "-.") return { empty: true };
    const value = Number(t);
    return Number.isFinite(value) && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)
      ? { value }
      : { invalid: true };
  }

  function round(value) {
    if (!Number.isFinite(value)) return value;
    const abs = Math.abs(value);
    if (abs !== 0 && (abs >= 1e15 || abs < Math.pow(10, -decimals) / 2)) {
      return Number(value.toPrecision(4));
    }
    const rounded = Number(value.toFixed(decimals));
    return Object.is(rounded, -0) ? 0 : rounded;
  }

  // For the input box (editable, no grouping).
  function plain(value) {
    return String(round(value));
  }

  // For reading (grouped).
  function pretty(value) {
    const r = round(value);
    const abs = Math.abs(r);
    if (abs !== 0 && (abs >= 1e15 || abs < 1e-6)) {
      return r.toExponential(3).replace(/\.?0+e/, "e").replace("-", "−");
    }
    return r.toLocaleString("en-US", { maximumFractionDigits: 12 }).replace("-", "−");
  }

  function factorText(n) {
    const short = Number(n.toPrecision(6));
    return short >= 1e15 || short < 1e-6 ? short.toExponential(3) : short.toLocaleString("en-US", { maximumFractionDigits: 12 });
  }

  function formulaFor(category, fromId, toId) {
    const from = unit(category, fromId);
    const to = unit(category, toId);
    if (from.id === to.id) return "Same unit: the value does not change";
    if (!from.factor) return TEMPERATURE_FORMULAS[from.id + ">" + to.id] || "";
    const ratio = from.factor / to.factor;
    return ratio >= 1
      ? to.symbol + " = " + from.symbol + " × " + factorText(ratio)
      : to.symbol + " = " + from.symbol + " ÷ " + factorText(1 / ratio);
  }

  function other(side) {
    return side === "a" ? "b" : "a";
  }

  // Recompute the side that was not typed in, then draw the lines under the boxes.
  function update() {
    const category = current();
    const s = slot(category);
    const src = s.source;
    const dst = other(src);
    const parsed = parse(s.text);
    inputs[src].value = s.text;
    inputs[src].toggleAttribute("aria-invalid", Boolean(parsed.invalid));
    inputs[dst].removeAttribute("aria-invalid");
    warning.hidden = true;
    if (parsed.value === undefined) {
      inputs[dst].value = "";
      summary.textContent = parsed.invalid ? "Type a number, like 12.5" : "";
      summary.classList.toggle("error", Boolean(parsed.invalid));
    } else {
      const result = convert(category, parsed.value, s[src], s[dst]);
      inputs[dst].value = plain(result);
      summary.classList.remove("error");
      const a = s.source === "a" ? parsed.value : result;
      const b = s.source === "a" ? result : parsed.value;
      const ua = unit(category, s.a);
      const ub = unit(category, s.b);
      summary.textContent = pretty(a) + " " + ua.symbol + " = " + pretty(b) + " " + ub.symbol;
      if (!ua.factor && convert(category, parsed.value, s[src], "k") < -1e-9) {
        warning.textContent = "That is below absolute zero (0 K, −273.15 °C), the coldest possible.";
        warning.hidden = false;
      }
    }
    formula.textContent = formulaFor(category, s.a, s.b);
    save();
  }

  function fillSelect(select, category, chosen) {
    select.replaceChildren(
      ...category.units.map((u) => {
        const option = document.createElement("option");
        option.value = u.id;
        option.textContent = u.name + " (" + u.symbol + ")";
        return option;
      }),
    );
    select.value = chosen;
  }

  function showCategory(focusTab) {
    const category = current();
    const s = slot(category);
    for (const tab of tabs.querySelectorAll('[role="tab"]')) {
      const selected = tab.dataset.name === category.name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) {
        panel.setAttribute("aria-labelledby", tab.id);
        if (focusTab) tab.focus();
      }
    }
    fillSelect(selects.a, category, s.a);
    fillSelect(selects.b, category, s.b);
    relabel();
    update();
  }

  function relabel() {
    const category = current();
    const s = slot(category);
    labels.a.textContent = "Value in " + unit(category, s.a).name;
    labels.b.textContent = "Value in " + unit(category, s.b).name;
  }

  function buildTabs() {
    tabs.replaceChildren();
    categories.forEach((category, i) => {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.id = "tab-" + i;
      tab.className = "tab";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", "panel");
      tab.dataset.name = category.name;
      tab.textContent = category.name;
      tab.addEventListener("click", () => {
        state.category = category.name;
        showCategory(false);
      });
      tabs.append(tab);
    });
    tabs.hidden = categories.length < 2;
    if (categories.length < 2) panel.setAttribute("aria-label", categories[0].name);
  }

  tabs.addEventListener("keydown", (event) => {
    const list = Array.from(tabs.querySelectorAll('[role="tab"]'));
    const at = list.findIndex((t) => t.dataset.name === current().name);
    let next = -1;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = (at + 1) % list.length;
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = (at - 1 + list.length) % list.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = list.length - 1;
    if (next < 0) return;
    event.preventDefault();
    state.category = list[next].dataset.name;
    showCategory(true);
  });

  for (const side of ["a", "b"]) {
    inputs[side].addEventListener("input", () => {
      const s = slot(current());
      s.source = side;
      s.text = inputs[side].value;
      update();
    });
    selects[side].addEventListener("change", () => {
      const s = slot(current());
      s[side] = selects[side].value;
      relabel();
      update();
    });
  }

  swapButton.addEventListener("click", () => {
    const s = slot(current());
    const texts = { a: inputs.a.value, b: inputs.b.value };
    [s.a, s.b] = [s.b, s.a];
    s.source = other(s.source);
    selects.a.value = s.a;
    selects.b.value = s.b;
    inputs.a.value = texts.b;
    inputs.b.value = texts.a;
    relabel();
    update();
  });

  load();
  buildTabs();
  showCategory(false);
})();
