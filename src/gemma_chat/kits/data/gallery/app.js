"use strict";

// Card gallery: tiles from kit-data ("Title | description | tag"), tag chips, search,
// and a detail dialog with previous/next. Thumbnails are drawn here as inline SVG.

function readConfig() {
  try {
    const data = JSON.parse(document.getElementById("kit-data").textContent);
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return {};
  }
}

const config = readConfig();
const storageKey = "gallery:" + document.title + ":tag";
const SVG_NS = "http://www.w3.org/2000/svg";

function parseCard(item, index) {
  // "Title | description | tag"; a middle with more bars is all description.
  const parts = String(item == null ? "" : item)
    .split("|")
    .map((part) => part.trim());
  if (!parts.some(Boolean)) return null;
  let tag = "";
  let middle;
  if (parts.length >= 3) {
    tag = parts[parts.length - 1];
    middle = parts.slice(1, -1).filter(Boolean);
  } else {
    middle = parts.slice(1).filter(Boolean);
  }
  let title = parts[0];
  if (!title) title = middle.shift() || tag; // no title: the next text stands in
  const description = middle.join(" | ");
  return { id: index, title, description, tag, tagKey: tag.toLowerCase() };
}

const cards = (Array.isArray(config.cards) ? config.cards : [])
  .map(parseCard)
  .filter(Boolean)
  .map((card, index) => Object.assign(card, { id: index }));

// A small seeded random generator, so each title always gets the same picture.
function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

function seeded(seed) {
  let a = seed || 1;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function el(name, attrs) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

const round = (n) => Math.round(n * 10) / 10;

// Six families of pictures; shapes use currentColor (the tile's tone) and the surface.
const PATTERNS = [
  function orbs(svg, rnd) {
    for (let i = 0; i < 5; i += 1) {
      svg.append(el("circle", {
        cx: round(rnd() * 160), cy: round(rnd() * 100), r: round(12 + rnd() * 34),
        fill: "currentColor", "fill-opacity": round(0.18 + rnd() * 0.5),
      }));
    }
    svg.append(el("circle", { cx: round(30 + rnd() * 100), cy: round(20 + rnd() * 60), r: 9, style: "fill: var(--surface)", "fill-opacity": 0.85 }));
  },
  function hills(svg, rnd) {
    svg.append(el("circle", { cx: round(30 + rnd() * 100), cy: round(22 + rnd() * 16), r: round(10 + rnd() * 8), style: "fill: var(--surface)", "fill-opacity": 0.9 }));
    for (let layer = 0; layer < 3; layer += 1) {
      const base = 55 + layer * 15;
      let d = `M0 ${base}`;
      for (let x = 0; x <= 160; x += 40) {
        const peak = base - 10 - rnd() * 22;
        d += ` Q${x + 20} ${round(peak)} ${x + 40} ${round(base - rnd() * 8)}`;
      }
      d += " L160 100 L0 100 Z";
      svg.append(el("path", { d, fill: "currentColor", "fill-opacity": round(0.35 + layer * 0.22) }));
    }
  },
  function peaks(svg, rnd) {
    svg.append(el("circle", { cx: round(110 + rnd() * 30), cy: round(24 + rnd() * 10), r: 11, style: "fill: var(--surface)", "fill-opacity": 0.9 }));
    for (let i = 0; i < 4; i += 1) {
      const x = round(-20 + i * 45 + rnd() * 20);
      const h = round(35 + rnd() * 40);
      svg.append(el("path", { d: `M${x - 45} 100 L${x} ${100 - h} L${x + 45} 100 Z`, fill: "currentColor", "fill-opacity": round(0.3 + rnd() * 0.55) }));
    }
  },
  function dots(svg, rnd) {
    for (let y = 12; y < 100; y += 16) {
      for (let x = 12; x < 160; x += 16) {
        const big = rnd() > 0.8;
        svg.append(el("circle", { cx: x, cy: y, r: big ? 5.5 : 2.4, fill: "currentColor", "fill-opacity": big ? 0.85 : 0.35 }));
      }
    }
  },
  function rings(svg, rnd) {
    const cx = round(40 + rnd() * 80);
    const cy = round(30 + rnd() * 40);
    for (let r = 70; r > 6; r -= 12) {
      svg.append(el("circle", { cx, cy, r, fill: "none", stroke: "currentColor", "stroke-width": 5, "stroke-opacity": round(0.2 + (70 - r) / 110) }));
    }
    svg.append(el("circle", { cx, cy, r: 6, style: "fill: var(--surface)" }));
  },
  function stripes(svg, rnd) {
    const tilt = round(20 + rnd() * 50);
    for (let i = -4; i < 12; i += 1) {
      const x = i * 22;
      svg.append(el("path", { d: `M${x} 100 L${x + tilt} 0 L${x + tilt + 11} 0 L${x + 11} 100 Z`, fill: "currentColor", "fill-opacity": round(0.2 + rnd() * 0.6) }));
    }
  },
];

function drawThumb(container, card) {
  container.textContent = "";
  const rnd = seeded(hash(card.title + "|" + card.description));
  const svg = el("svg", { viewBox: "0 0 160 100", preserveAspectRatio: "xMidYMid slice", "aria-hidden": "true", focusable: "false" });
  PATTERNS[hash(card.title) % PATTERNS.length](svg, rnd);
  container.append(svg);
  // Same tag, same hue family: a shift of up to ±50 degrees around the accent.
  const shift = card.tagKey ? (hash(card.tagKey) % 101) - 50 : 0;
  container.style.setProperty("--shift", String(shift));
}

// Tags, in first-seen order, with the spelling first used.
const tags = [];
for (const card of cards) {
  if (card.tagKey && !tags.some((t) => t.key === card.tagKey)) {
    tags.push({ key: card.tagKey, label: card.tag });
  }
}

const grid = document.getElementById("grid");
const chips = document.getElementById("chips");
const allChip = document.getElementById("chip-all");
const search = document.getElementById("search");
const count = document.getElementById("result-count");
const empty = document.getElementById("empty");
const dialog = document.getElementById("detail");

let activeTag = "";
try {
  const saved = localStorage.getItem(storageKey) || "";
  if (tags.some((t) => t.key === saved)) activeTag = saved;
} catch (error) {
  // Storage can be blocked (private windows, sandboxed previews): filters still work.
}

let visible = [];
let current = -1; // index into `visible` of the card open in the dialog
let opener = null;

function buildChips() {
  allChip.addEventListener("click", () => setTag(""));
  if (tags.length < 2) {
    chips.hidden = true; // nothing to filter between
    return;
  }
  for (const tag of tags) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.dataset.tag = tag.key;
    chip.title = tag.label;
    chip.textContent = tag.label;
    const n = document.createElement("span");
    n.className = "chip-count";
    n.setAttribute("aria-hidden", "true");
    n.textContent = String(cards.filter((c) => c.tagKey === tag.key).length);
    chip.append(n);
    chip.addEventListener("click", () => setTag(activeTag === tag.key ? "" : tag.key));
    chips.append(chip);
  }
}

function setTag(key) {
  activeTag = key;
  try {
    localStorage.setItem(storageKey, key);
  } catch (error) {
    // See above.
  }
  render();
}

function fold(text) {
  return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

function matches(card, words) {
  if (activeTag && card.tagKey !== activeTag) return false;
  const hay = fold(card.title + " " + card.description + " " + card.tag);
  return words.every((word) => hay.includes(word));
}

function buildTile(card) {
  const li = document.createElement("li");
  li.className = "tile-item enter";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tile";
  button.dataset.id = String(card.id);
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-label", card.tag ? `${card.title} (${card.tag})` : card.title);
  const thumb = document.createElement("span");
  thumb.className = "thumb";
  drawThumb(thumb, card);
  const body = document.createElement("span");
  body.className = "tile-body";
  if (card.tag) {
    const tag = document.createElement("span");
    tag.className = "tile-tag";
    tag.textContent = card.tag;
    body.append(tag);
  }
  const title = document.createElement("span");
  title.className = "tile-title";
  title.textContent = card.title;
  body.append(title);
  if (card.description) {
    const desc = document.createElement("span");
    desc.className = "tile-desc";
    desc.textContent = card.description;
    body.append(desc);
  }
  button.append(thumb, body);
  button.addEventListener("click", () => openCard(card.id, button));
  li.append(button);
  return li;
}

const tiles = new Map(cards.map((card) => [card.id, buildTile(card)]));

function render() {
  const words = fold(search.value).split(/\s+/).filter(Boolean);
  const before = new Set(visible.map((card) => card.id));
  visible = cards.filter((card) => matches(card, words));
  grid.textContent = "";
  for (const card of visible) {
    const tile = tiles.get(card.id);
    tile.classList.toggle("enter", !before.has(card.id)); // only newly shown tiles rise in
    grid.append(tile);
  }
  allChip.setAttribute("aria-pressed", String(activeTag === ""));
  for (const chip of chips.querySelectorAll("[data-tag]")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.tag === activeTag));
  }
  const total = cards.length;
  const word = total === 1 ? "card" : "cards";
  count.textContent =
    visible.length === total ? `${total} ${word}` : `Showing ${visible.length} of ${total} ${word}`;
  empty.hidden = visible.length > 0;
}

// Detail dialog
function showDetail() {
  const card = visible[current];
  if (!card) return;
  document.getElementById("detail-title").textContent = card.title;
  const tag = document.getElementById("detail-tag");
  tag.textContent = card.tag;
  tag.hidden = !card.tag;
  const desc = document.getElementById("detail-desc");
  desc.textContent = card.description;
  desc.hidden = !card.description;
  drawThumb(document.getElementById("detail-thumb"), card);
  document.getElementById("detail-pos").textContent = `${current + 1} / ${visible.length}`;
  const single = visible.length < 2;
  document.getElementById("prev").disabled = single;
  document.getElementById("next").disabled = single;
}

function openCard(id, from) {
  current = visible.findIndex((card) => card.id === id);
  if (current < 0) return;
  opener = from || null;
  showDetail();
  if (typeof dialog.showModal === "function") {
    if (!dialog.open) dialog.showModal();
  } else {
    dialog.setAttribute("open", "");
  }
  document.getElementById("close-detail").focus();
}

function step(by) {
  if (!visible.length) return;
  current = (current + by + visible.length) % visible.length;
  showDetail();
}

function closeDetail() {
  if (typeof dialog.close === "function" && dialog.open) dialog.close();
  else dialog.removeAttribute("open");
}

dialog.addEventListener("close", () => {
  // Return focus to the tile of the card last shown (it may differ after next/prev).
  const card = visible[current];
  const tile = card ? grid.querySelector(`.tile[data-id="${card.id}"]`) : null;
  const target = tile || opener;
  if (target) target.focus();
});
dialog.addEventListener("click", (event) => {
  if (event.target === dialog) closeDetail(); // a click on the backdrop
});
dialog.addEventListener("keydown", (event) => {
  if (event.key === "ArrowLeft") step(-1);
  if (event.key === "ArrowRight") step(1);
});
document.getElementById("prev").addEventListener("click", () => step(-1));
document.getElementById("next").addEventListener("click", () => step(1));
document.getElementById("close-detail").addEventListener("click", closeDetail);
document.getElementById("close-x").addEventListener("click", closeDetail);

search.addEventListener("input", render);
search.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && search.value) {
    search.value = "";
    render();
  }
});
document.getElementById("clear-filters").addEventListener("click", () => {
  search.value = "";
  setTag("");
  search.focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || dialog.open) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  event.preventDefault();
  search.focus();
});

buildChips();
render();
