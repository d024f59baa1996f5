"use strict";

// Memory (pairs): every symbol appears on two cards; flip two at a time to find the pairs.
const FALLBACK = ["🍎", "🌵", "🐙", "🚀", "🎈", "🌙", "🦊", "🎧", "⭐", "🍀", "🎲", "🐝"];
const MAX_PAIRS = 12;
const MISMATCH_MS = 900;

function readConfig() {
  try {
    const parsed = JSON.parse(document.getElementById("kit-data").textContent);
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (error) {
    return {};
  }
}

// Clean, de-duplicated symbols (2 to 12): duplicates would make cards that look alike but
// never match, so they are dropped, and a list too short is topped up from the fallback.
function cleanSymbols(raw) {
  const list = Array.isArray(raw) ? raw : [];
  const seen = new Set();
  const symbols = [];
  for (const item of list) {
    const text = String(item == null ? "" : item).trim();
    const key = text.toLowerCase();
    if (!text || seen.has(key)) continue;
    seen.add(key);
    symbols.push(text);
    if (symbols.length === MAX_PAIRS) break;
  }
  for (const extra of FALLBACK) {
    if (symbols.length >= 2) break;
    if (!seen.has(extra)) {
      seen.add(extra);
      symbols.push(extra);
    }
  }
  return symbols;
}

const config = readConfig();
const symbols = cleanSymbols(config.symbols);
const storageKey = "memory-game:best:" + symbols.join("\u241f");

const board = document.getElementById("board");
const movesOut = document.getElementById("moves");
const timeOut = document.getElementById("time");
const pairsOut = document.getElementById("pairs");
const statusOut = document.getElementById("status");
const winPanel = document.getElementById("win");
const winDetail = document.getElementById("win-detail");

let cards = []; // {symbol, button, face, state: "down" | "open" | "matched"}
let open = []; // indices of face-up, unmatched cards (0 to 2)
let moves = 0;
let found = 0;
let startedAt = 0;
let finishedMs = 0;
let ticker = 0;
let hideTimer = 0;

// Emoji get a big face; words are sized by their longest word (see style.css).
function isEmoji(symbol) {
  return !/[\p{L}\p{N}]/u.test(symbol) && Array.from(symbol).length <= 4;
}

function longestWord(symbol) {
  return Math.max(4, ...symbol.split(/\s+/).map((word) => Array.from(word).length));
}

function columnsFor(count) {
  const table = { 4: 2, 6: 3, 8: 4, 10: 5, 12: 4, 14: 5, 16: 4, 18: 6, 20: 5, 22: 6, 24: 6 };
  return table[count] || 4;
}

function shuffle(items) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function formatTime(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return minutes + ":" + seconds;
}

function elapsed() {
  if (finishedMs) return finishedMs;
  return startedAt ? Date.now() - startedAt : 0;
}

function plural(count, one, many) {
  return count + " " + (count === 1 ? one : many);
}

function readBest() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && Number.isFinite(saved.moves) && Number.isFinite(saved.ms)) return saved;
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): the game still works.
  }
  return null;
}

function saveBest(result) {
  try {
    localStorage.setItem(storageKey, JSON.stringify(result));
  } catch (error) {
    // See readBest.
  }
}

function label(index) {
  const card = cards[index];
  const where = "Card " + (index + 1) + " of " + cards.length;
  if (card.state === "down") return where + ", face down";
  if (card.state === "matched") return where + ", " + card.symbol + ", matched";
  return where + ", " + card.symbol;
}

function render(index) {
  const card = cards[index];
  card.button.classList.toggle("is-open", card.state === "open");
  card.button.classList.toggle("is-matched", card.state === "matched");
  card.button.setAttribute("aria-label", label(index));
  card.button.setAttribute("aria-disabled", card.state === "down" ? "false" : "true");
  // The face is only written while the card is up, so nothing can read it early.
  if (card.state !== "down") {
    card.face.textContent = card.symbol;
    card.face.classList.toggle("is-emoji", isEmoji(card.symbol));
    card.face.style.setProperty("--len", String(longestWord(card.symbol)));
  }
}

function renderStats() {
  movesOut.textContent = String(moves);
  pairsOut.textContent = found + "/" + symbols.length;
  timeOut.textContent = formatTime(elapsed());
}

function startClock() {
  if (startedAt) return;
  startedAt = Date.now();
  ticker = window.setInterval(() => {
    timeOut.textContent = formatTime(elapsed());
  }, 250);
}

function stopClock() {
  window.clearInterval(ticker);
  ticker = 0;
}

function hideOpen() {
  window.clearTimeout(hideTimer);
  hideTimer = 0;
  for (const index of open) {
    const card = cards[index];
    card.state = "down";
    card.button.classList.remove("is-wrong");
    render(index);
    const face = card.face;
    // Clear the face once the card has turned away (at once if it is flipped again first).
    window.setTimeout(() => {
      if (card.state === "down") face.textContent = "";
    }, 400);
  }
  open = [];
}

function finish() {
  finishedMs = Date.now() - startedAt;
  stopClock();
  renderStats();
  const best = readBest();
  const result = { moves: moves, ms: finishedMs };
  const isBest = !best || moves < best.moves || (moves === best.moves && finishedMs < best.ms);
  if (isBest) saveBest(result);
  let detail =
    "All " + plural(symbols.length, "pair", "pairs") + " in " + plural(moves, "move", "moves") +
    " and " + formatTime(finishedMs) + ".";
  if (best && isBest) detail += " A new best!";
  else if (best) detail += " Best: " + plural(best.moves, "move", "moves") + ", " + formatTime(best.ms) + ".";
  winDetail.textContent = detail;
  winPanel.hidden = false;
  statusOut.classList.add("visually-hidden"); // the win panel says it; the status still announces
  statusOut.textContent = detail;
  window.setTimeout(() => {
    if (!winPanel.hidden) document.getElementById("play-again").focus();
  }, 500);
}

function flip(index) {
  const card = cards[index];
  if (!card || card.state !== "down" || finishedMs) return;
  if (open.length === 2) hideOpen(); // a third card turns the mismatched two away at once
  startClock();
  card.state = "open";
  open.push(index);
  render(index);
  if (open.length < 2) {
    statusOut.textContent = card.symbol + ". Now find its pair.";
    return;
  }
  moves += 1;
  const [a, b] = open.map((i) => cards[i]);
  if (a.symbol === b.symbol) {
    a.state = "matched";
    b.state = "matched";
    open.forEach(render);
    open = [];
    found += 1;
    renderStats();
    if (found === symbols.length) {
      finish();
    } else {
      statusOut.textContent = "Match: " + a.symbol + "! " + plural(symbols.length - found, "pair", "pairs") + " to go.";
    }
    return;
  }
  renderStats();
  a.button.classList.add("is-wrong");
  b.button.classList.add("is-wrong");
  statusOut.textContent = a.symbol + " and " + b.symbol + " don't match.";
  hideTimer = window.setTimeout(hideOpen, MISMATCH_MS);
}

function newGame() {
  stopClock();
  window.clearTimeout(hideTimer);
  hideTimer = 0;
  open = [];
  moves = 0;
  found = 0;
  startedAt = 0;
  finishedMs = 0;
  winPanel.hidden = true;
  statusOut.classList.remove("visually-hidden");
  const deck = shuffle(symbols.concat(symbols));
  board.style.setProperty("--want", String(columnsFor(deck.length)));
  board.textContent = "";
  cards = deck.map((symbol, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tile";
    button.dataset.index = String(index);
    const inner = document.createElement("span");
    inner.className = "tile-inner";
    inner.setAttribute("aria-hidden", "true");
    const back = document.createElement("span");
    back.className = "tile-back";
    const face = document.createElement("span");
    face.className = "tile-face";
    inner.append(back, face);
    button.append(inner);
    board.append(button);
    return { symbol: symbol, button: button, face: face, state: "down" };
  });
  cards.forEach((card, index) => render(index));
  renderStats();
  statusOut.textContent = "New game: " + plural(symbols.length, "pair", "pairs") + " to find.";
}

board.addEventListener("click", (event) => {
  const button = event.target.closest(".tile");
  if (button) flip(Number(button.dataset.index));
});

// Arrow keys move between cards like a grid (the columns are read from the layout).
board.addEventListener("keydown", (event) => {
  const button = event.target.closest(".tile");
  if (!button) return;
  const index = Number(button.dataset.index);
  const top = cards[0].button.offsetTop;
  let perRow = cards.findIndex((card) => card.button.offsetTop !== top);
  if (perRow <= 0) perRow = cards.length;
  const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -perRow, ArrowDown: perRow };
  let next = null;
  if (event.key in steps) next = index + steps[event.key];
  if (event.key === "Home") next = 0;
  if (event.key === "End") next = cards.length - 1;
  if (next === null) return;
  event.preventDefault();
  next = Math.min(cards.length - 1, Math.max(0, next));
  cards[next].button.focus();
});

document.getElementById("restart").addEventListener("click", newGame);
document.getElementById("play-again").addEventListener("click", () => {
  newGame();
  cards[0].button.focus();
});

newGame();
statusOut.textContent = "Pick a card to start.";
