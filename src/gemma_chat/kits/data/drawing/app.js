"use strict";

// Drawing canvas: pointer events (mouse, touch, pen) draw strokes that are kept as data,
// so the canvas can be redrawn at any size, undone, redone, saved and remembered.

function readConfig() {
  try {
    const data = JSON.parse(document.getElementById("kit-data").textContent);
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return {};
  }
}

const config = readConfig();
const storageKey = "drawing:" + document.title;
const FALLBACK_INK = "#1b1f2a";

// ---- Colours: names people say (as the app's colour slots read them) or hex -----------
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

function mix(hex, towards, amount) {
  const a = hex.replace("#", "");
  const b = towards.replace("#", "");
  let out = "#";
  for (let i = 0; i < 6; i += 2) {
    const x = parseInt(a.slice(i, i + 2), 16);
    const y = parseInt(b.slice(i, i + 2), 16);
    out += Math.round(x + (y - x) * amount).toString(16).padStart(2, "0");
  }
  return out;
}

function cssNamed(word) {
  if (!/^[a-z]+$/.test(word) || ["transparent", "currentcolor", "inherit", "initial", "unset", "revert"].includes(word)) return null;
  if (!(window.CSS && CSS.supports && CSS.supports("color", word))) return null;
  const probe = document.createElement("span");
  probe.style.color = word;
  probe.hidden = true;
  document.body.append(probe);
  const match = getComputedStyle(probe).color.match(/^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/);
  probe.remove();
  return match ? "#" + match.slice(1, 4).map((n) => Number(n).toString(16).padStart(2, "0")).join("") : null;
}

function parseColor(text) {
  const raw = String(text == null ? "" : text).trim().toLowerCase().replace(/\.$/, "");
  const hex = raw.match(/^#?([0-9a-f]{3}|[0-9a-f]{6})$/);
  if (hex) return "#" + (hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1]);
  const words = raw.replace(/-/g, " ").split(/\s+/).filter(Boolean);
  const joined = words.join("");
  if (NAMED[joined]) return NAMED[joined];
  if (words.length === 2 && words[0] in SHADES) {
    const base = NAMED[words[1]] || cssNamed(words[1]);
    if (base) return mix(base, SHADES[words[0]] > 0 ? "#ffffff" : "#000000", Math.abs(SHADES[words[0]]));
  }
  return cssNamed(joined);
}

function colorName(text, hex) {
  const words = String(text).split("|")[0].trim();
  if (!words || words.startsWith("#") || /^[0-9a-f]{3,6}$/i.test(words)) return hex;
  return words.replace(/(^|\s)\S/g, (c) => c.toUpperCase());
}

// The palette: the first part of an item that reads as a colour ("Sky | #87ceeb" too).
const colors = [];
for (const item of Array.isArray(config.colors) ? config.colors : []) {
  const parts = String(item == null ? "" : item).split("|").map((p) => p.trim()).filter(Boolean);
  let hex = null;
  for (const part of parts.slice().reverse()) hex = hex || parseColor(part);
  if (hex && !colors.some((c) => c.hex === hex)) colors.push({ hex, name: colorName(item, hex) });
}
if (!colors.length) colors.push({ hex: FALLBACK_INK, name: "Ink" });

function clampSize(value) {
  const n = Math.round(Number(value));
  return Number.isFinite(n) ? Math.min(50, Math.max(1, n)) : 6;
}

// ---- State ---------------------------------------------------------------------------------
const canvas = document.getElementById("canvas");
const paper = document.getElementById("paper");
const ctx = canvas.getContext("2d");
const sizeInput = document.getElementById("size");
const sizeValue = document.getElementById("size-value");
const preview = document.getElementById("brush-preview");
const eraserButton = document.getElementById("eraser");
const undoButton = document.getElementById("undo");
const redoButton = document.getElementById("redo");
const status = document.getElementById("status");

// A stroke: {c: colour or null for the eraser, s: width / canvas width, p: [[x, y, f]]} with
// x, y as fractions of the canvas width (so a resized canvas keeps the drawing's shape) and
// f a pen-pressure factor; {clear: true} wipes everything before it.
let history = [];
let redo = [];
let brush = { color: colors[0].hex, size: clampSize(config.default_size), eraser: false };
let stroke = null;
let pointerId = null;
let width = 1;
let height = 1;

try {
  const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
  if (saved && Array.isArray(saved.history)) history = saved.history.filter(validAction);
  if (saved && colors.some((c) => c.hex === saved.color)) brush.color = saved.color;
  if (saved && saved.size) brush.size = clampSize(saved.size);
} catch (error) {
  // Storage can be blocked or hold something odd: start with a clean sheet.
  history = [];
}

function validAction(action) {
  if (!action || typeof action !== "object") return false;
  if (action.clear === true) return true;
  return (
    (action.c === null || typeof action.c === "string") &&
    Number.isFinite(action.s) &&
    Array.isArray(action.p) &&
    action.p.length > 0 &&
    action.p.every((pt) => Array.isArray(pt) && Number.isFinite(pt[0]) && Number.isFinite(pt[1]))
  );
}

function persist() {
  try {
    localStorage.setItem(storageKey, JSON.stringify({ history, color: brush.color, size: brush.size }));
  } catch (error) {
    // Full or blocked storage: the drawing still works for this visit.
  }
}

function say(message) {
  status.textContent = message;
}

// ---- Drawing ------------------------------------------------------------------------------
function fit() {
  const rect = paper.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  width = Math.max(1, rect.width);
  height = Math.max(1, rect.height);
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  redraw();
}

function at(point) {
  return { x: point[0] * width, y: point[1] * width, f: Number(point[2]) || 1 };
}

function begin(action, pointIndex) {
  ctx.globalCompositeOperation = action.c ? "source-over" : "destination-out";
  ctx.strokeStyle = action.c || "#000";
  ctx.fillStyle = action.c || "#000";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = Math.max(0.5, action.s * width * at(action.p[pointIndex]).f);
}

// The piece of a stroke that point i adds: a curve through the previous point, ending
// half-way to point i (the tail to the last point is drawn when the stroke ends).
function drawPiece(action, i) {
  const points = action.p;
  begin(action, Math.max(0, i - 1));
  if (i === 0) {
    const p = at(points[0]);
    ctx.beginPath();
    ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  const prev = at(points[i - 1]);
  const cur = at(points[i]);
  const start = i === 1 ? prev : midpoint(at(points[i - 2]), prev);
  const end = midpoint(prev, cur);
  ctx.beginPath();
  ctx.moveTo(start.x, start.y);
  ctx.quadraticCurveTo(prev.x, prev.y, end.x, end.y);
  ctx.stroke();
}

function drawTail(action) {
  const points = action.p;
  const n = points.length;
  if (n < 2) return;
  const last = at(points[n - 1]);
  const start = midpoint(at(points[n - 2]), last);
  begin(action, n - 1);
  ctx.beginPath();
  ctx.moveTo(start.x, start.y);
  ctx.lineTo(last.x, last.y);
  ctx.stroke();
}

function midpoint(a, b) {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

function drawAction(action) {
  if (action.clear) {
    ctx.clearRect(0, 0, width, height);
    return;
  }
  for (let i = 0; i < action.p.length; i += 1) drawPiece(action, i);
  if (action !== stroke) drawTail(action);
}

function redraw() {
  ctx.save();
  ctx.globalCompositeOperation = "source-over";
  ctx.clearRect(0, 0, width, height);
  ctx.restore();
  for (const action of history) drawAction(action);
  ctx.globalCompositeOperation = "source-over";
  updateButtons();
}

function hasStrokes() {
  // Anything drawn since the last clear?
  return history.length > 0 && !history[history.length - 1].clear;
}

function updateButtons() {
  undoButton.disabled = history.length === 0;
  redoButton.disabled = redo.length === 0;
  document.getElementById("clear").disabled = !hasStrokes();
}

function pointFrom(event) {
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(1, rect.width);
  const x = Math.min(rect.width, Math.max(0, event.clientX - rect.left)) / w;
  const y = Math.min(rect.height, Math.max(0, event.clientY - rect.top)) / w;
  const point = [round(x), round(y)];
  if (event.pointerType === "pen" && event.pressure > 0) point.push(round(0.35 + event.pressure * 1.3));
  return point;
}

function round(n) {
  return Math.round(n * 10000) / 10000;
}

canvas.addEventListener("pointerdown", (event) => {
  if (stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pointerId = event.pointerId;
  try {
    canvas.setPointerCapture(pointerId);
  } catch (error) {
    // Capture is a nicety; drawing works without it.
  }
  stroke = { c: brush.eraser ? null : brush.color, s: round(brush.size / width), p: [pointFrom(event)] };
  history.push(stroke);
  redo = [];
  drawPiece(stroke, 0);
  ctx.globalCompositeOperation = "source-over";
});

canvas.addEventListener("pointermove", (event) => {
  if (!stroke || event.pointerId !== pointerId) return;
  const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) {
    stroke.p.push(pointFrom(e));
    drawPiece(stroke, stroke.p.length - 1);
  }
  ctx.globalCompositeOperation = "source-over";
});

function endStroke(event) {
  if (!stroke || event.pointerId !== pointerId) return;
  const done = stroke;
  stroke = null;
  pointerId = null;
  drawTail(done);
  ctx.globalCompositeOperation = "source-over";
  updateButtons();
  persist();
  say("");
}

canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
canvas.addEventListener("lostpointercapture", endStroke);

// ---- Tools ------------------------------------------------------------------------------
function undo() {
  if (stroke || !history.length) return;
  const action = history.pop();
  redo.push(action);
  redraw();
  persist();
  say(action.clear ? "Brought the drawing back." : "Undone.");
}

function redoLast() {
  if (stroke || !redo.length) return;
  const action = redo.pop();
  history.push(action);
  redraw();
  persist();
  say(action.clear ? "Cleared again." : "Redone.");
}

function clearAll() {
  if (stroke || !hasStrokes()) return;
  history.push({ clear: true });
  redo = [];
  redraw();
  persist();
  say("Cleared. Undo brings it back.");
}

function setEraser(on) {
  brush.eraser = on;
  eraserButton.setAttribute("aria-pressed", String(on));
  paper.classList.toggle("erasing", on);
  showBrush();
}

function setSize(value) {
  brush.size = clampSize(value);
  sizeInput.value = String(brush.size);
  sizeValue.textContent = String(brush.size);
  showBrush();
  persist();
}

function showBrush() {
  const dot = preview.firstElementChild;
  preview.style.setProperty("--brush", brush.color);
  preview.style.setProperty("--dot", Math.min(brush.size, 36) + "px");
  preview.classList.toggle("erasing", brush.eraser);
  dot.title = brush.eraser ? "Eraser" : brush.color;
}

function buildPalette() {
  const palette = document.getElementById("palette");
  colors.forEach((color, index) => {
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "brush-color";
    input.id = "color-" + index;
    input.value = color.hex;
    input.checked = color.hex === brush.color;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.title = color.name;
    label.style.setProperty("--swatch", color.hex);
    const text = document.createElement("span");
    text.className = "visually-hidden";
    text.textContent = color.name;
    label.append(text);
    input.addEventListener("change", () => {
      if (!input.checked) return;
      brush.color = color.hex;
      setEraser(false);
      persist();
    });
    palette.append(input, label);
  });
}

function fileName() {
  const slug = document.title.toLowerCase().normalize("NFD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return (slug || "drawing").slice(0, 40) + ".png";
}

document.getElementById("save").addEventListener("click", (event) => {
  const link = event.currentTarget;
  // The saved picture is the drawing on its white paper, at the screen's resolution.
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const octx = out.getContext("2d");
  octx.fillStyle = getComputedStyle(paper).backgroundColor || "#ffffff";
  octx.fillRect(0, 0, out.width, out.height);
  octx.drawImage(canvas, 0, 0);
  try {
    link.href = out.toDataURL("image/png");
    link.download = fileName();
    say("Saved " + link.download + ".");
  } catch (error) {
    event.preventDefault();
    say("This page may not save files here.");
  }
});

undoButton.addEventListener("click", undo);
redoButton.addEventListener("click", redoLast);
document.getElementById("clear").addEventListener("click", clearAll);
eraserButton.addEventListener("click", () => setEraser(!brush.eraser));
sizeInput.addEventListener("input", () => setSize(sizeInput.value));

document.addEventListener("keydown", (event) => {
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && !event.altKey) {
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if (key === "y" || (key === "z" && event.shiftKey)) {
      event.preventDefault();
      redoLast();
    }
    return;
  }
  if (event.altKey || event.target.closest("input:not([type=radio]):not([type=range]), textarea, select")) return;
  if (key === "e") setEraser(!brush.eraser);
  else if (key === "b") setEraser(false);
  else if (key === "[") setSize(brush.size - (brush.size > 10 ? 5 : 1));
  else if (key === "]") setSize(brush.size + (brush.size >= 10 ? 5 : 1));
});

// Keep the drawing when the window (and so the paper) changes size.
if (typeof ResizeObserver === "function") {
  let last = "";
  new ResizeObserver(() => {
    const rect = paper.getBoundingClientRect();
    const key = Math.round(rect.width) + "x" + Math.round(rect.height) + "@" + (window.devicePixelRatio || 1);
    if (key !== last) {
      last = key;
      fit();
    }
  }).observe(paper);
} else {
  window.addEventListener("resize", fit);
}

buildPalette();
setSize(brush.size);
setEraser(false);
fit();
