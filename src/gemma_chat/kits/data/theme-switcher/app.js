"use strict";

// Theme switcher: light / dark / system on <html data-theme>, an accent from the swatches
// applied live as --accent, both remembered, and the resulting tokens shown as CSS.

function readConfig() {
  try {
    const data = JSON.parse(document.getElementById("kit-data").textContent);
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return {};
  }
}

const config = readConfig();
const root = document.documentElement;
const storageKey = "theme-switcher:" + document.title;
const TOKENS = ["--bg", "--surface", "--surface-2", "--text", "--muted", "--border", "--danger", "--success", "--shadow"];
const SHOWN = ["--bg", "--surface", "--surface-2", "--text", "--muted", "--border", "--accent", "--accent-text"];

// ---- Colours ---------------------------------------------------------------------------
// The names people say, matching the app's own colour slots (kits/colors.py).
const NAMED = {
  black: "#000000", white: "#ffffff", gray: "#808080", grey: "#808080", silver: "#c0c0c0",
  red: "#e53935", darkred: "#8b0000", crimson: "#dc143c", maroon: "#800000", pink: "#ec4899",
  hotpink: "#ff69b4", lightpink: "#ffb6c1", rose: "#f43f5e", orange: "#f97316",
  darkorange: "#ff8c00", coral: "#ff7f50", salmon: "#fa8072", peach: "#ffdab9",
  yellow: "#facc15", gold: "#ffd700", amber: "#f59e0b", cream: "#fffdd0", beige: "#f5f5dc",
  brown: "#8b5a2b", tan: "#d2b48c", chocolate: "#d2691e", green: "#22a355",
  darkgreen: "#006400", lightgreen: "#90ee90", lime: "#84cc16", olive: "#808000",
  mint: "#98ff98", forestgreen: "#228b22", emerald: "#10b981", teal: "#0d9488",
  turquoise: "#40e0d0", cyan: "#06b6d4", aqua: "#00ffff", blue: "#2563eb",
  darkblue: "#00008b", lightblue: "#add8e6", navy: "#000080", navyblue: "#000080",
  skyblue: "#87ceeb", royalblue: "#4169e1", midnightblue: "#191970", steelblue: "#4682b4",
  indigo: "#4b0082", purple: "#7c3aed", darkpurple: "#3b0764", violet: "#8b5cf6",
  lavender: "#e6e6fa", lilac: "#c8a2c8", magenta: "#d946ef", fuchsia: "#d946ef",
  plum: "#dda0dd", charcoal: "#36454f", slate: "#475569", darkgray: "#374151",
  darkgrey: "#374151", lightgray: "#e5e7eb", lightgrey: "#e5e7eb",
};
const SHADES = { dark: -0.45, deep: -0.35, light: 0.55, pale: 0.7, bright: 0.15 };

function toRgb(hex) {
  const v = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(v.slice(i, i + 2), 16) / 255);
}

function toHex(rgb) {
  return "#" + rgb.map((c) => Math.round(Math.min(1, Math.max(0, c)) * 255).toString(16).padStart(2, "0")).join("");
}

function mix(a, b, amount) {
  const x = toRgb(a);
  const y = toRgb(b);
  return toHex(x.map((c, i) => c + (y[i] - c) * amount));
}

function cssNamed(word) {
  // Any other CSS colour keyword ("rebeccapurple"), resolved by the browser itself.
  if (!/^[a-z]+$/.test(word) || ["transparent", "currentcolor", "inherit", "initial", "unset", "revert"].includes(word)) return null;
  if (!(window.CSS && CSS.supports && CSS.supports("color", word))) return null;
  const probe = document.createElement("span");
  probe.style.color = word;
  probe.hidden = true;
  document.body.append(probe);
  const match = getComputedStyle(probe).color.match(/^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/);
  probe.remove();
  return match ? toHex(match.slice(1, 4).map((n) => Number(n) / 255)) : null;
}

/** "#1e40af", "1e40af", "#fff", "navy", "dark blue" -> "#rrggbb", or null. */
function parseColor(text) {
  const raw = String(text).trim().toLowerCase().replace(/\.$/, "");
  const hex = raw.match(/^#?([0-9a-f]{3}|[0-9a-f]{6})$/);
  if (hex) {
    const d = hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1];
    return "#" + d;
  }
  const words = raw.replace(/-/g, " ").split(/\s+/).filter(Boolean);
  const joined = words.join("");
  if (NAMED[joined]) return NAMED[joined];
  if (words.length === 2 && words[0] in SHADES) {
    const base = NAMED[words[1]] || cssNamed(words[1]);
    if (base) return mix(base, SHADES[words[0]] > 0 ? "#ffffff" : "#000000", Math.abs(SHADES[words[0]]));
  }
  return cssNamed(joined);
}

function luminance(hex) {
  const [r, g, b] = toRgb(hex).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function isDark(hex) {
  return contrast(hex, "#ffffff") > contrast(hex, "#000000");
}

function readableOn(hex) {
  // Whichever of white and the theme's ink reads better on this colour.
  return contrast(hex, "#ffffff") >= contrast(hex, "#1b1f2a") ? "#ffffff" : "#1b1f2a";
}

function titleCase(text) {
  return text.replace(/(^|\s)\S/g, (c) => c.toUpperCase());
}

/** "Ocean | #0077be", "#0077be | Ocean", "teal" -> {name, hex}; null if no colour. */
function parseSwatch(item) {
  const parts = String(item == null ? "" : item).split("|").map((p) => p.trim()).filter(Boolean);
  let at = -1;
  let hex = null;
  for (let i = parts.length - 1; i >= 0 && !hex; i -= 1) {
    hex = parseColor(parts[i]);
    if (hex) at = i;
  }
  if (!hex) return null;
  const nameParts = parts.filter((_, i) => i !== at);
  const name = nameParts.length ? nameParts.join(" ") : parts[at].startsWith("#") ? hex : titleCase(parts[at]);
  return { name, hex };
}

// ---- Theme palettes from theme.css --------------------------------------------------
// A background chosen for the project pins the page colours (the theme's kit:colors block
// outranks data-theme). So that Light and Dark still mean something then, the theme's own
// light and dark tokens are read from its rules and set on <html> while one is chosen.
function readPalettes() {
  const found = { light: null, dark: null, pinned: false };
  const visit = (rules) => {
    for (const rule of rules) {
      if (rule.cssRules && !rule.selectorText) continue; // @media etc.: the plain rules suffice
      const selector = (rule.selectorText || "").replace(/\s+/g, "");
      if (!rule.style) continue;
      const tokens = {};
      for (const name of TOKENS) {
        const value = rule.style.getPropertyValue(name).trim();
        if (value) tokens[name] = value;
      }
      if (selector === ":root" && !found.light && tokens["--bg"]) found.light = tokens;
      else if (selector === ':root[data-theme="dark"]' && tokens["--bg"]) found.dark = tokens;
      else if (selector === ":root:root:root" && tokens["--bg"]) found.pinned = true;
    }
  };
  for (const sheet of Array.from(document.styleSheets)) {
    try {
      visit(sheet.cssRules);
    } catch (error) {
      // A stylesheet we may not read (file:// pages): data-theme alone still works.
    }
  }
  return found;
}

const palettes = readPalettes();
const systemDark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

// ---- State ------------------------------------------------------------------------------
const swatches = [];
for (const item of Array.isArray(config.swatches) ? config.swatches : []) {
  const swatch = parseSwatch(item);
  if (swatch && !swatches.some((s) => s.hex === swatch.hex)) swatches.push(swatch);
}

const state = { mode: "system", accent: "" }; // accent "" = the page's own accent
try {
  const saved = JSON.parse(localStorage.getItem(storageKey) || "{}");
  if (["light", "dark", "system"].includes(saved.mode)) state.mode = saved.mode;
  if (typeof saved.accent === "string") state.accent = parseColor(saved.accent) || "";
} catch (error) {
  // Storage can be blocked (private windows, sandboxed previews): choices last this visit.
}

function save() {
  try {
    localStorage.setItem(storageKey, JSON.stringify(state));
  } catch (error) {
    // See above.
  }
}

function effectiveMode() {
  if (state.mode !== "system") return state.mode;
  if (palettes.pinned) {
    // The project's own background decides: it is what the page shows.
    const bg = normalHex(token("--bg"));
    if (bg) return isDark(bg) ? "dark" : "light";
  }
  return systemDark && systemDark.matches ? "dark" : "light";
}

function token(name) {
  return getComputedStyle(root).getPropertyValue(name).trim();
}

// ---- Applying ---------------------------------------------------------------------------
function applyMode() {
  if (state.mode === "system") {
    root.removeAttribute("data-theme");
    root.style.colorScheme = "";
  } else {
    root.setAttribute("data-theme", state.mode);
    root.style.colorScheme = state.mode;
  }
  const palette = palettes.pinned && state.mode !== "system" ? palettes[state.mode] : null;
  for (const name of TOKENS) {
    if (palette && palette[name]) root.style.setProperty(name, palette[name]);
    else root.style.removeProperty(name);
  }
}

function applyAccent() {
  if (state.accent) {
    root.style.setProperty("--accent", state.accent);
    root.style.setProperty("--accent-text", readableOn(state.accent));
  } else {
    root.style.removeProperty("--accent");
    root.style.removeProperty("--accent-text");
  }
}

function normalHex(value) {
  return value ? parseColor(value) : null;
}

function describe() {
  const mode = effectiveMode();
  const note = document.getElementById("mode-note");
  if (state.mode === "system") {
    note.textContent = palettes.pinned
      ? "Automatic: the page's own colours."
      : `Following your device, which is ${mode} right now.`;
  } else {
    note.textContent = `${mode === "dark" ? "Dark" : "Light"} mode, whatever your device prefers.`;
  }

  const accent = normalHex(token("--accent")) || state.accent;
  const swatch = swatches.find((s) => s.hex === state.accent);
  const name = state.accent ? (swatch ? swatch.name : "Custom") : "Default";
  const info = document.getElementById("accent-info");
  info.textContent = "";
  const strong = document.createElement("strong");
  strong.textContent = name;
  const code = document.createElement("code");
  code.textContent = accent || "";
  info.append(strong, " · ", code);
  const bg = normalHex(token("--bg"));
  const text = normalHex(token("--accent-text"));
  if (accent && bg && text) {
    const onButton = contrast(accent, text);
    const onPage = contrast(accent, bg);
    const line = document.createElement("span");
    line.className = "contrast";
    line.textContent =
      `Button text contrast ${onButton.toFixed(1)}:1 ${onButton >= 4.5 ? "(good)" : "(low)"} · ` +
      `on the page ${onPage.toFixed(1)}:1 ${onPage >= 3 ? "(good)" : "(low)"}`;
    info.append(line);
  }
  if (accent) document.getElementById("custom-color").value = accent;
  document.getElementById("css-code").textContent = cssText();
}

function cssText() {
  const lines = [`/* ${effectiveMode()} theme */`, ":root {", `  color-scheme: ${effectiveMode()};`];
  for (const name of SHOWN) {
    const value = token(name);
    if (value) lines.push(`  ${name}: ${value};`);
  }
  lines.push("}");
  return lines.join("\n");
}

function syncControls() {
  const mode = document.getElementById("mode-" + state.mode);
  if (mode) mode.checked = true;
  const radios = document.querySelectorAll('input[name="accent"]');
  let matched = false;
  for (const radio of radios) {
    radio.checked = radio.value === state.accent;
    matched = matched || radio.checked;
  }
  if (!matched && !state.accent && radios[0]) radios[0].checked = true;
}

function update() {
  applyMode();
  applyAccent();
  syncControls();
  describe();
}

// ---- Building the swatches ---------------------------------------------------------------
const CHECK =
  '<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" ' +
  'stroke-width="3" stroke-linecap="round" stroke-linejoin="round"><polyline points="5 12.5 10 17.5 19 7"/></svg>';

function addSwatch(container, id, value, name, hex) {
  const input = document.createElement("input");
  input.type = "radio";
  input.name = "accent";
  input.id = id;
  input.value = value;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.title = name;
  const text = document.createElement("span");
  text.textContent = name;
  if (hex) {
    label.innerHTML = CHECK;
    text.className = "visually-hidden";
    label.style.setProperty("--swatch", hex);
    label.style.color = readableOn(hex);
  } else {
    label.classList.add("default-swatch");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.innerHTML = CHECK;
    label.append(dot);
  }
  label.append(text);
  input.addEventListener("change", () => {
    if (!input.checked) return;
    state.accent = value;
    save();
    update();
  });
  container.append(input, label);
}

function buildSwatches() {
  const container = document.getElementById("swatches");
  addSwatch(container, "accent-default", "", "Default", null);
  swatches.forEach((s, i) => addSwatch(container, "accent-" + i, s.hex, s.name, s.hex));
  // The default swatch shows the page's own accent, whatever a custom one says.
  const own = document.querySelector('label[for="accent-default"]');
  const ownAccent = () => {
    const saved = root.style.getPropertyValue("--accent");
    root.style.removeProperty("--accent");
    const value = token("--accent");
    if (saved) root.style.setProperty("--accent", saved);
    return value;
  };
  own.style.setProperty("--swatch", ownAccent());
  return () => own.style.setProperty("--swatch", ownAccent());
}

const refreshDefault = buildSwatches();

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    if (!radio.checked) return;
    state.mode = radio.value;
    save();
    update();
    refreshDefault();
    describe();
  });
}

document.getElementById("custom-color").addEventListener("input", (event) => {
  const hex = parseColor(event.target.value);
  if (!hex) return;
  state.accent = hex;
  save();
  update();
});

if (systemDark && systemDark.addEventListener) {
  systemDark.addEventListener("change", () => {
    refreshDefault();
    describe();
  });
}

// ---- Copy ---------------------------------------------------------------------------------
function copyFallback(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (error) {
    ok = false;
  }
  area.remove();
  return ok;
}

document.getElementById("copy").addEventListener("click", async () => {
  const text = cssText();
  const status = document.getElementById("copy-status");
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (error) {
    ok = false;
  }
  if (!ok) ok = copyFallback(text);
  if (ok) {
    status.textContent = "Copied to the clipboard.";
  } else {
    const code = document.getElementById("css-code");
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    status.textContent = "Copying is blocked here: the CSS is selected, press Ctrl+C (or ⌘C).";
  }
});

update();
refreshDefault();
