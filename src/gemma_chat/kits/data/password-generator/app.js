"use strict";

// Password generator: uniform random characters from the chosen sets, via crypto.getRandomValues.
const SETS = {
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lower: "abcdefghijklmnopqrstuvwxyz",
  digits: "0123456789",
  symbols: "!@#$%^&*-_=+?.:;~",
};
const MIN_LENGTH = 6;
const MAX_LENGTH = 64;

function readConfig() {
  try {
    const parsed = JSON.parse(document.getElementById("kit-data").textContent);
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (error) {
    return {};
  }
}

function clampLength(value, fallback) {
  const number = Math.round(Number(value));
  if (!Number.isFinite(number)) return fallback;
  return Math.min(MAX_LENGTH, Math.max(MIN_LENGTH, number));
}

const defaultLength = clampLength(readConfig().default_length, 16);
// Keyed by the default too, so a new default_length shows at once instead of an old choice.
const storageKey = "password-generator:settings:" + defaultLength;

const el = (id) => document.getElementById(id);
const output = el("password");
const lengthInput = el("length");
const lengthOut = el("length-value");
const copyButton = el("copy");
const copyText = el("copy-text");
const copiedText = el("copied-text");
const copyStatus = el("copy-status");
const strength = el("strength");
const strengthLabel = el("strength-label");
const strengthBits = el("strength-bits");
const note = el("options-note");
const toggles = Object.keys(SETS).map((name) => el(name));

let password = "";
let copiedTimer = 0;

// A uniform whole number in 0..n-1 (rejection sampling, so no character is favoured).
function randomBelow(n) {
  const buffer = new Uint32Array(1);
  const limit = Math.floor(0x100000000 / n) * n;
  do {
    window.crypto.getRandomValues(buffer);
  } while (buffer[0] >= limit);
  return buffer[0] % n;
}

function chosenSets() {
  return toggles.filter((box) => box.checked).map((box) => SETS[box.id]);
}

function makePassword(length, sets) {
  const pool = sets.join("");
  // Draw again until every chosen set appears at least once (rare for useful lengths).
  for (let attempt = 0; attempt < 200; attempt += 1) {
    let text = "";
    for (let i = 0; i < length; i += 1) text += pool[randomBelow(pool.length)];
    if (sets.every((set) => Array.from(text).some((ch) => set.includes(ch)))) return text;
  }
  // Practically unreachable; place one of each set at random positions.
  const chars = Array.from({ length: length }, () => pool[randomBelow(pool.length)]);
  const free = chars.map((ch, i) => i);
  for (const set of sets) {
    const at = free.splice(randomBelow(free.length), 1)[0];
    chars[at] = set[randomBelow(set.length)];
  }
  return chars.join("");
}

function rate(length, poolSize) {
  const bits = Math.round(length * Math.log2(poolSize));
  if (bits < 40) return { level: 1, label: "Weak", bits: bits };
  if (bits < 64) return { level: 2, label: "Fair", bits: bits };
  if (bits < 96) return { level: 3, label: "Strong", bits: bits };
  return { level: 4, label: "Very strong", bits: bits };
}

function show(text) {
  output.textContent = "";
  const fragment = document.createDocumentFragment();
  for (const ch of text) {
    const span = document.createElement("span");
    span.textContent = ch;
    if (SETS.digits.includes(ch)) span.className = "ch-digit";
    else if (SETS.symbols.includes(ch)) span.className = "ch-symbol";
    fragment.append(span);
  }
  output.append(fragment);
  output.classList.remove("fresh");
  void output.offsetWidth; // restart the animation
  output.classList.add("fresh");
}

function resetCopy() {
  window.clearTimeout(copiedTimer);
  copyButton.classList.remove("is-copied");
  copyText.hidden = false;
  copiedText.hidden = true;
}

function generate() {
  const sets = chosenSets();
  const length = clampLength(lengthInput.value, defaultLength);
  password = makePassword(length, sets);
  show(password);
  const rating = rate(length, sets.join("").length);
  strength.dataset.level = String(rating.level);
  strengthLabel.textContent = rating.label;
  strengthBits.textContent = "≈ " + rating.bits + " bits of entropy";
  resetCopy();
}

function saveSettings() {
  try {
    const settings = { length: Number(lengthInput.value) };
    for (const box of toggles) settings[box.id] = box.checked;
    localStorage.setItem(storageKey, JSON.stringify(settings));
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): nothing else depends on it.
  }
}

function restoreSettings() {
  let length = defaultLength;
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") {
      length = clampLength(saved.length, defaultLength);
      for (const box of toggles) {
        if (typeof saved[box.id] === "boolean") box.checked = saved[box.id];
      }
    }
  } catch (error) {
    // See saveSettings.
  }
  if (!toggles.some((box) => box.checked)) toggles.forEach((box) => (box.checked = true));
  lengthInput.value = String(length);
  lengthOut.textContent = String(length);
}

function fallbackCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.top = "-100px";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch (error) {
    done = false;
  }
  area.remove();
  return done;
}

function copied(ok) {
  if (ok) {
    copyButton.classList.add("is-copied");
    copyText.hidden = true;
    copiedText.hidden = false;
    copyStatus.textContent = "Password copied to the clipboard.";
    window.clearTimeout(copiedTimer);
    copiedTimer = window.setTimeout(() => {
      resetCopy();
      copyStatus.textContent = "";
    }, 1800);
  } else {
    // Select the password so Ctrl+C / long-press copy works by hand.
    const range = document.createRange();
    range.selectNodeContents(output);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    copyStatus.textContent = "Couldn't copy automatically: the password is selected, press Ctrl+C.";
  }
}

copyButton.addEventListener("click", () => {
  if (!password) return;
  const text = password;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(
      () => copied(true),
      () => copied(fallbackCopy(text))
    );
  } else {
    copied(fallbackCopy(text));
  }
});

el("generate").addEventListener("click", generate);

lengthInput.addEventListener("input", () => {
  lengthOut.textContent = lengthInput.value;
  generate();
  saveSettings();
});

for (const box of toggles) {
  box.addEventListener("change", () => {
    if (!toggles.some((other) => other.checked)) {
      box.checked = true; // at least one kind of character is always on
      note.textContent = "Keep at least one kind of character.";
      return;
    }
    note.textContent = "";
    generate();
    saveSettings();
  });
}

restoreSettings();
generate();
output.classList.remove("fresh");
