"use strict";

const config = JSON.parse(document.getElementById("kit-data").textContent);
const start = Number(config.start) || 0;
const step = Number(config.step) || 1;
const storageKey = "counter:" + document.title;

const output = document.getElementById("count");
let count = start;
try {
  const saved = localStorage.getItem(storageKey);
  if (saved !== null && !Number.isNaN(Number(saved))) count = Number(saved);
} catch (error) {
  // Storage can be blocked (private windows, sandboxed previews): counting still works.
}

function show() {
  output.textContent = String(count);
  output.classList.remove("bump");
  void output.offsetWidth; // restart the animation
  output.classList.add("bump");
  try {
    localStorage.setItem(storageKey, String(count));
  } catch (error) {
    // See above.
  }
}

function change(by) {
  count += by;
  show();
}

document.getElementById("increment").addEventListener("click", () => change(step));
document.getElementById("decrement").addEventListener("click", () => change(-step));
document.getElementById("reset").addEventListener("click", () => {
  count = start;
  show();
});
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select")) return;
  if (event.key === "+" || event.key === "=" || event.key === "ArrowUp") change(step);
  if (event.key === "-" || event.key === "ArrowDown") change(-step);
});

output.textContent = String(count);
