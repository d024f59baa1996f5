"use strict";

// Flashcards: "front | back" items; flip, move, shuffle, and mark each card known or again.
const BLANK_SIDE = "—";

function readConfig() {
  try {
    const parsed = JSON.parse(document.getElementById("kit-data").textContent);
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (error) {
    return {};
  }
}

// "front | back" (more " | " stay on the back); anything else is a front with a blank back.
function parseCard(item) {
  const text = String(item == null ? "" : item).trim();
  const at = text.indexOf(" | ");
  if (at === -1) return { front: text || BLANK_SIDE, back: BLANK_SIDE };
  const front = text.slice(0, at).trim();
  const back = text.slice(at + 3).trim();
  return { front: front || BLANK_SIDE, back: back || BLANK_SIDE };
}

function loadCards(raw) {
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split("\n") : [];
  const cards = list.map(parseCard).filter((card) => card.front !== BLANK_SIDE || card.back !== BLANK_SIDE);
  return cards.length ? cards : [{ front: "Add some cards", back: "One per line: front | back" }];
}

const cards = loadCards(readConfig().cards);
const allIndices = cards.map((card, index) => index);

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(36);
}

const storageKey = "flashcards:" + hash(cards.map((card) => card.front + "\u241f" + card.back).join("\u241e"));

const el = (id) => document.getElementById(id);
const flashcard = el("flashcard");
const frontSide = el("front-side");
const backSide = el("back-side");
const frontText = el("front-text");
const backText = el("back-text");
const markBadge = el("mark-badge");
const positionOut = el("position");
const tallyOut = el("tally");
const progress = el("progress");
const progressKnown = el("progress-known");
const progressAgain = el("progress-again");
const announce = el("announce");
const donePanel = el("done");
const doneDetail = el("done-detail");
const practiseButton = el("practise");
const knewButton = el("knew");
const againButton = el("again");

let order = allIndices.slice(); // the cards being studied, in study order
let pos = 0;
let marks = {}; // card index -> "knew" | "again"
let flipped = false;

function restore() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (!saved || typeof saved !== "object") return;
    const validOrder =
      Array.isArray(saved.order) &&
      saved.order.length > 0 &&
      saved.order.every((i) => Number.isInteger(i) && i >= 0 && i < cards.length) &&
      new Set(saved.order).size === saved.order.length;
    if (validOrder) order = saved.order;
    if (Number.isInteger(saved.pos) && saved.pos >= 0 && saved.pos < order.length) pos = saved.pos;
    if (saved.marks && typeof saved.marks === "object") {
      for (const [key, value] of Object.entries(saved.marks)) {
        const index = Number(key);
        if (Number.isInteger(index) && index >= 0 && index < cards.length && (value === "knew" || value === "again")) {
          marks[index] = value;
        }
      }
    }
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): studying still works.
  }
}

function save() {
  try {
    localStorage.setItem(storageKey, JSON.stringify({ order: order, pos: pos, marks: marks }));
  } catch (error) {
    // See restore.
  }
}

function sizeFor(text) {
  const length = Array.from(text).length;
  if (length <= 24) return "large";
  if (length <= 70) return "medium";
  return "small";
}

function count(kind) {
  return Object.values(marks).filter((mark) => mark === kind).length;
}

function renderProgress() {
  const knew = count("knew");
  const again = count("again");
  const left = cards.length - knew - again;
  tallyOut.textContent = knew + " known · " + again + " again · " + left + " left";
  progress.setAttribute("aria-valuemax", String(cards.length));
  progress.setAttribute("aria-valuenow", String(knew));
  progress.setAttribute("aria-valuetext", knew + " of " + cards.length + " known");
  progressKnown.style.width = (knew / cards.length) * 100 + "%";
  progressAgain.style.width = (again / cards.length) * 100 + "%";
}

function renderFlip() {
  flashcard.classList.toggle("is-flipped", flipped);
  frontSide.setAttribute("aria-hidden", flipped ? "true" : "false");
  backSide.setAttribute("aria-hidden", flipped ? "false" : "true");
}

// Show the card at `pos` front up; `animate` slides it in (never shows the next back).
function render(animate) {
  const index = order[pos];
  const card = cards[index];
  flashcard.classList.add("no-anim");
  flipped = false;
  renderFlip();
  frontText.textContent = card.front;
  frontText.dataset.size = sizeFor(card.front);
  backText.textContent = card.back;
  backText.dataset.size = sizeFor(card.back);
  const mark = marks[index];
  markBadge.hidden = !mark;
  markBadge.dataset.mark = mark || "";
  markBadge.textContent = mark === "knew" ? "Known" : mark === "again" ? "Again" : "";
  positionOut.textContent =
    "Card " + (pos + 1) + " of " + order.length + (order.length < cards.length ? " (practising)" : "");
  void flashcard.offsetWidth; // apply the unflipped state before transitions return
  flashcard.classList.remove("no-anim");
  if (animate) {
    flashcard.classList.remove("enter");
    void flashcard.offsetWidth;
    flashcard.classList.add("enter");
  }
  renderProgress();
  save();
}

function flip() {
  flipped = !flipped;
  flashcard.classList.remove("enter");
  renderFlip();
  const card = cards[order[pos]];
  announce.textContent = flipped ? "Back: " + card.back : "Front: " + card.front;
}

function go(step) {
  donePanel.hidden = true;
  pos = (pos + step + order.length) % order.length;
  render(true);
  announce.textContent = "Card " + (pos + 1) + " of " + order.length + ": " + cards[order[pos]].front;
}

function showDone(focus) {
  const knew = count("knew");
  const again = count("again");
  doneDetail.textContent =
    "You knew " + knew + " of " + cards.length + "." +
    (again ? " " + again + " to practise again." : " Every card known!");
  practiseButton.hidden = again === 0;
  donePanel.hidden = false;
  if (!focus) return;
  announce.textContent = doneDetail.textContent;
  (again ? practiseButton : el("restart-deck")).focus();
}

function mark(kind) {
  marks[order[pos]] = kind;
  renderProgress();
  const unmarked = order.some((index) => !marks[index]);
  if (!unmarked) {
    render(false);
    showDone(true);
    return;
  }
  // Move on to the next card still to do in this round.
  let next = pos;
  do {
    next = (next + 1) % order.length;
  } while (marks[order[next]]);
  pos = next;
  render(true);
  announce.textContent =
    (kind === "knew" ? "Marked known. " : "Marked again. ") +
    "Card " + (pos + 1) + " of " + order.length + ": " + cards[order[pos]].front;
}

function shuffle(items) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function startOver(indices) {
  order = indices;
  for (const index of indices) delete marks[index];
  pos = 0;
  donePanel.hidden = true;
  render(true);
}

flashcard.addEventListener("click", flip);
el("prev").addEventListener("click", () => go(-1));
el("next").addEventListener("click", () => go(1));
knewButton.addEventListener("click", () => mark("knew"));
againButton.addEventListener("click", () => mark("again"));
el("shuffle").addEventListener("click", () => {
  const before = order.join(",");
  if (order.length > 1) {
    for (let tries = 0; tries < 5 && order.join(",") === before; tries += 1) shuffle(order);
  }
  pos = 0;
  donePanel.hidden = true;
  render(true);
  announce.textContent = "Shuffled. Card 1 of " + order.length + ": " + cards[order[0]].front;
});
el("reset").addEventListener("click", () => {
  marks = {};
  startOver(allIndices.slice());
  announce.textContent = "Progress reset.";
});
el("restart-deck").addEventListener("click", () => {
  marks = {};
  startOver(allIndices.slice());
  flashcard.focus();
});
practiseButton.addEventListener("click", () => {
  startOver(allIndices.filter((index) => marks[index] === "again"));
  flashcard.focus();
});

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  if (event.key === "ArrowRight") {
    event.preventDefault();
    go(1);
  } else if (event.key === "ArrowLeft") {
    event.preventDefault();
    go(-1);
  } else if (event.key === " " && !(target.closest && target.closest("button, a"))) {
    // Space on a focused button presses that button; anywhere else it flips the card.
    event.preventDefault();
    flip();
  }
});

restore();
render(false);
if (order.every((index) => marks[index])) showDone(false); // finished last time
