"use strict";

// Number guessing: a secret whole number from min to max; each guess gets "higher" or
// "lower" until it is found (or the optional attempt limit runs out).
const DEFAULT_MIN = 1;
const DEFAULT_MAX = 100;

function readConfig() {
  try {
    const parsed = JSON.parse(document.getElementById("kit-data").textContent);
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (error) {
    return {};
  }
}

function wholeNumber(value, fallback) {
  const number = Number(value);
  return Number.isFinite(number) ? Math.round(number) : fallback;
}

// Any min/max the slots allow gives a playable range: swapped if reversed, widened if equal.
function settings(config) {
  let min = wholeNumber(config.min_number, DEFAULT_MIN);
  let max = wholeNumber(config.max_number, DEFAULT_MAX);
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    min = DEFAULT_MIN;
    max = DEFAULT_MAX;
  }
  const limit = Math.min(50, Math.max(0, wholeNumber(config.max_attempts, 0)));
  return { min: min, max: max, limit: limit };
}

const { min, max, limit } = settings(readConfig());
const format = (n) => n.toLocaleString("en-US");
const storageKey = "guessing-game:best:" + min + ":" + max + ":" + limit;

const form = document.getElementById("guess-form");
const input = document.getElementById("guess");
const guessButton = document.getElementById("guess-button");
const newGameButton = document.getElementById("new-game");
const feedback = document.getElementById("feedback");
const feedbackIcon = document.getElementById("feedback-icon");
const feedbackTitle = document.getElementById("feedback-title");
const feedbackDetail = document.getElementById("feedback-detail");
const attemptsOut = document.getElementById("attempts");
const leftOut = document.getElementById("left");
const bestOut = document.getElementById("best");
const historyList = document.getElementById("history");
const historyEmpty = document.getElementById("history-empty");
const rangeWindow = document.getElementById("range-window");

let secret = 0;
let guesses = [];
let low = min; // the secret is known to be in low..high
let high = max;
let over = false;

function randomWhole(from, to) {
  const span = to - from + 1;
  if (window.crypto && window.crypto.getRandomValues) {
    const buffer = new Uint32Array(1);
    const limitValue = Math.floor(0x100000000 / span) * span;
    let value;
    do {
      window.crypto.getRandomValues(buffer);
      value = buffer[0];
    } while (value >= limitValue);
    return from + (value % span);
  }
  return from + Math.floor(Math.random() * span);
}

function readBest() {
  try {
    const saved = Number(localStorage.getItem(storageKey));
    return Number.isInteger(saved) && saved > 0 ? saved : 0;
  } catch (error) {
    return 0; // Storage can be blocked (sandboxed previews): the game still works.
  }
}

function saveBest(count) {
  try {
    localStorage.setItem(storageKey, String(count));
  } catch (error) {
    // See readBest.
  }
}

function plural(count, one, many) {
  return format(count) + " " + (count === 1 ? one : many);
}

function say(state, icon, title, detail) {
  feedback.dataset.state = state;
  feedbackIcon.textContent = icon;
  feedbackTitle.textContent = title;
  feedbackDetail.textContent = detail;
  feedback.classList.remove("pulse");
  void feedback.offsetWidth; // restart the animation
  feedback.classList.add("pulse");
}

function renderStats() {
  attemptsOut.textContent = format(guesses.length);
  leftOut.textContent = limit ? format(limit - guesses.length) : "∞";
  const best = readBest();
  bestOut.textContent = best ? format(best) : "–";
  const span = max - min + 1;
  rangeWindow.style.left = ((low - min) / span) * 100 + "%";
  rangeWindow.style.width = ((high - low + 1) / span) * 100 + "%";
}

function renderHistory() {
  historyList.textContent = "";
  for (const guess of guesses) {
    const item = document.createElement("li");
    const value = document.createElement("span");
    value.textContent = format(guess);
    const dir = document.createElement("span");
    dir.className = "dir";
    dir.setAttribute("aria-hidden", "true");
    const said = document.createElement("span");
    said.className = "visually-hidden";
    if (guess < secret) {
      dir.textContent = "↑";
      said.textContent = ", too low";
    } else if (guess > secret) {
      dir.textContent = "↓";
      said.textContent = ", too high";
    } else {
      dir.textContent = "✓";
      said.textContent = ", correct";
      item.className = "is-right";
    }
    item.append(value, dir, said);
    historyList.append(item);
  }
  historyEmpty.hidden = guesses.length > 0;
}

function endGame() {
  over = true;
  input.disabled = true;
  guessButton.disabled = true;
  newGameButton.classList.add("primary");
  newGameButton.focus();
}

function between() {
  return low === high
    ? "It can only be " + format(low) + "."
    : "It's between " + format(low) + " and " + format(high) + ".";
}

function guess(raw) {
  if (over) return;
  const text = String(raw).trim();
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) {
    say("error", "!", "That's not a number", "Type a whole number from " + format(min) + " to " + format(max) + ".");
    return;
  }
  if (!Number.isInteger(value)) {
    say("error", "!", "Whole numbers only", "Try a number without decimals.");
    return;
  }
  if (value < min || value > max) {
    say("error", "!", "Out of range", "The number is from " + format(min) + " to " + format(max) + ".");
    return;
  }
  if (guesses.includes(value)) {
    say("error", "!", "Already tried " + format(value), between());
    return;
  }
  guesses.push(value);
  if (value === secret) {
    const best = readBest();
    const isBest = !best || guesses.length < best;
    if (isBest) saveBest(guesses.length);
    say(
      "won",
      "✓",
      "You got it!",
      "It was " + format(secret) + ": found in " + plural(guesses.length, "guess", "guesses") + "." +
        (isBest && best ? " New best!" : "")
    );
    low = secret;
    high = secret;
    endGame();
  } else {
    if (value < secret) low = Math.max(low, value + 1);
    else high = Math.min(high, value - 1);
    if (limit && guesses.length >= limit) {
      say("lost", "×", "Out of guesses", "The number was " + format(secret) + ". Try again?");
      endGame();
    } else {
      const higher = value < secret;
      const left = limit ? " " + plural(limit - guesses.length, "guess", "guesses") + " left." : "";
      say(
        higher ? "higher" : "lower",
        higher ? "↑" : "↓",
        higher ? "Higher" : "Lower",
        format(value) + " is too " + (higher ? "low" : "high") + ". " + between() + left
      );
    }
  }
  renderHistory();
  renderStats();
}

function newGame() {
  secret = randomWhole(min, max);
  guesses = [];
  low = min;
  high = max;
  over = false;
  input.disabled = false;
  guessButton.disabled = false;
  input.value = "";
  newGameButton.classList.remove("primary");
  say("start", "?", "Make your first guess", "Type a number and press Enter.");
  renderHistory();
  renderStats();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  guess(input.value);
  if (!over) {
    input.value = "";
    input.focus();
  }
});

newGameButton.addEventListener("click", () => {
  newGame();
  input.focus();
});

input.min = String(min);
input.max = String(max);
input.placeholder = format(min) + "–" + format(max);
document.getElementById("range-low").textContent = format(min);
document.getElementById("range-high").textContent = format(max);
document.getElementById("range-text").textContent =
  "I'm thinking of a whole number from " + format(min) + " to " + format(max) + "." +
  (limit ? " You have " + plural(limit, "guess", "guesses") + "." : "");
newGame();
feedback.classList.remove("pulse");
