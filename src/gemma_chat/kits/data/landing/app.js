"use strict";

// Landing page: builds the highlights from kit-data and runs the sign-up form locally
// (nothing is sent anywhere; the address is only remembered on this device).

function readConfig() {
  try {
    const data = JSON.parse(document.getElementById("kit-data").textContent);
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return {};
  }
}

const config = readConfig();
const storageKey = "landing:" + document.title + ":email";

// Simple line icons, drawn in the accent colour, used in turn for the highlights.
const ICONS = [
  '<path d="M12 3l2.6 5.6 6.1.7-4.5 4.2 1.2 6-5.4-3-5.4 3 1.2-6-4.5-4.2 6.1-.7z"/>',
  '<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>',
  '<path d="M12 3l8 3v6c0 4.6-3.3 8.4-8 9.9C7.3 20.4 4 16.6 4 12V6z"/><path d="m8.5 12 2.5 2.5 4.5-5"/>',
  '<path d="M12 20s-7.5-4.4-8.8-9.3A4.6 4.6 0 0 1 12 7.4a4.6 4.6 0 0 1 8.8 3.3C19.5 15.6 12 20 12 20z"/>',
  '<circle cx="12" cy="12" r="8.5"/><path d="M12 7.5V12l3 2"/>',
  '<path d="M5 19c0-8 5-13 14-14 0 9-5 14-13 14z"/><path d="M5 19 13 11"/>',
];

function splitItem(item) {
  const parts = String(item == null ? "" : item)
    .split("|")
    .map((part) => part.trim())
    .filter(Boolean);
  return { heading: parts[0] || "", text: parts.slice(1).join(" | ") };
}

function renderFeatures() {
  const list = document.getElementById("features");
  const items = Array.isArray(config.features) ? config.features : [];
  list.textContent = "";
  items.forEach((item, index) => {
    const { heading, text } = splitItem(item);
    if (!heading) return;
    const li = document.createElement("li");
    li.className = "feature";
    const icon = document.createElement("span");
    icon.className = "feature-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.innerHTML =
      '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" ' +
      'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">' +
      ICONS[index % ICONS.length] +
      "</svg>";
    const title = document.createElement("h3");
    title.textContent = heading;
    li.append(icon, title);
    if (text) {
      const body = document.createElement("p");
      body.textContent = text;
      li.append(body);
    }
    list.append(li);
  });
  list.closest(".features").hidden = list.children.length === 0;
}

// Sign-up form
const form = document.getElementById("signup-form");
const email = document.getElementById("email");
const error = document.getElementById("email-error");
const done = document.getElementById("signup-done");
const status = document.getElementById("signup-status");
const signedEmail = document.getElementById("signed-email");
const thanksText = document.getElementById("thanks-text");

function remember(value) {
  try {
    if (value) localStorage.setItem(storageKey, value);
    else localStorage.removeItem(storageKey);
  } catch (err) {
    // Storage can be blocked (private windows, sandboxed previews): the form still works.
  }
}

function recalled() {
  try {
    return localStorage.getItem(storageKey) || "";
  } catch (err) {
    return "";
  }
}

function showError(message) {
  error.textContent = message;
  email.setAttribute("aria-invalid", message ? "true" : "false");
}

function showDone(address, announce) {
  form.hidden = true;
  done.hidden = false;
  signedEmail.textContent = "Signed up as " + address + ".";
  if (announce) status.textContent = thanksText.textContent;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = email.value.trim();
  email.value = value;
  if (!value) {
    showError("Please enter your email address.");
    email.focus();
    return;
  }
  if (!email.checkValidity() || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    showError("That doesn't look like an email address. Try name@example.com.");
    email.focus();
    return;
  }
  showError("");
  remember(value);
  showDone(value, true);
  document.getElementById("signup-again").focus();
});

email.addEventListener("input", () => {
  if (error.textContent) showError("");
});

document.getElementById("signup-again").addEventListener("click", () => {
  remember("");
  done.hidden = true;
  form.hidden = false;
  status.textContent = "";
  email.value = "";
  email.focus();
});

// The call to action scrolls to the form and puts the cursor in it.
document.getElementById("cta").addEventListener("click", (event) => {
  event.preventDefault();
  const target = document.getElementById("signup");
  target.scrollIntoView({ block: "center" });
  const focusable = form.hidden ? document.getElementById("signup-again") : email;
  focusable.focus({ preventScroll: true });
  try {
    history.replaceState(null, "", "#signup");
  } catch (err) {
    // Some sandboxed previews forbid history changes; scrolling is what matters.
  }
});

renderFeatures();
const saved = recalled();
if (saved) showDone(saved, false);
