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

  const config = readConfig();
  const topics = (Array.isArray(config.topics) ? config.topics : [])
    .map((topic) => String(topic).replace(/\s+/g, " ").trim())
    .filter(Boolean)
    .filter((topic, index, all) => all.indexOf(topic) === index)
    .slice(0, 50);
  const rawMin = Math.round(Number(config.min_message));
  const minMessage = Number.isFinite(rawMin) ? Math.min(2000, Math.max(0, rawMin)) : 0;
  const draftKey = "form:" + document.title + ":draft";
  const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)*\.[^\s@.]{2,}$/;

  const $ = (id) => document.getElementById(id);
  const form = $("contact-form");
  const fields = {
    name: $("name"),
    email: $("email"),
    topic: $("topic"),
    message: $("message"),
    consent: $("consent"),
  };
  const status = $("form-status");
  const success = $("success");
  const summary = $("summary");
  const counter = $("message-count");
  const hint = $("message-hint");
  const topicLabel = document.querySelector('label[for="topic"]');
  const messageLabel = document.querySelector('[data-slot="message_label"]');
  const submitButton = form.querySelector('[type="submit"]');
  const touched = new Set();
  let pressingSubmit = false;
  let submitted = false;

  topics.forEach((topic) => {
    const option = document.createElement("option");
    option.value = topic;
    option.textContent = topic;
    fields.topic.appendChild(option);
  });

  $("optional").hidden = minMessage > 0;
  hint.textContent =
    minMessage > 0
      ? "At least " + minMessage + (minMessage === 1 ? " character." : " characters.")
      : "Anything you would like to add.";

  function labelOf(element, fallback) {
    const text = element ? element.textContent.replace(/\s+/g, " ").trim() : "";
    return text || fallback;
  }

  const checks = {
    name() {
      return fields.name.value.trim() ? "" : "Please enter your name.";
    },
    email() {
      const value = fields.email.value.trim();
      if (!value) return "Please enter your email address.";
      if (!EMAIL.test(value)) return "Enter a full address, like name@example.com.";
      return "";
    },
    topic() {
      if (!topics.length) return "";
      return fields.topic.value ? "" : "Please choose an option.";
    },
    message() {
      const length = fields.message.value.trim().length;
      if (length >= minMessage) return "";
      if (length === 0) return "Please write a message.";
      const more = minMessage - length;
      return "Please write a little more: " + more + (more === 1 ? " more character." : " more characters.");
    },
    consent() {
      return fields.consent.checked ? "" : "Please tick this box to continue.";
    },
  };

  function show(name, message) {
    const input = fields[name];
    const error = $(name + "-error");
    error.textContent = message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    $("field-" + name).classList.toggle("invalid", Boolean(message));
  }

  function validate(name) {
    const message = checks[name]();
    show(name, message);
    return !message;
  }

  function updateCounter() {
    const length = fields.message.value.trim().length;
    counter.textContent = minMessage > 0 ? length + " / " + minMessage : String(length);
    counter.classList.toggle("met", minMessage > 0 && length >= minMessage);
  }

  function saveDraft() {
    try {
      localStorage.setItem(
        draftKey,
        JSON.stringify({
          name: fields.name.value,
          email: fields.email.value,
          topic: fields.topic.value,
          message: fields.message.value,
        })
      );
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): the form still works.
    }
  }

  function clearDraft() {
    try {
      localStorage.removeItem(draftKey);
    } catch (error) {
      // See saveDraft.
    }
  }

  function loadDraft() {
    try {
      const draft = JSON.parse(localStorage.getItem(draftKey) || "null");
      if (!draft || typeof draft !== "object") return;
      ["name", "email", "message"].forEach((key) => {
        if (typeof draft[key] === "string") fields[key].value = draft[key].slice(0, 2000);
      });
      if (typeof draft.topic === "string" && topics.includes(draft.topic)) {
        fields.topic.value = draft.topic;
      }
    } catch (error) {
      // A damaged draft is ignored.
    }
  }

  Object.keys(fields).forEach((name) => {
    const input = fields[name];
    const live = () => {
      if (name === "message") updateCounter();
      if (name !== "consent") saveDraft();
      if (submitted || touched.has(name)) validate(name);
      if (submitted) updateStatus();
    };
    input.addEventListener("input", live);
    input.addEventListener("change", live);
    input.addEventListener("blur", (event) => {
      // Leaving for the send button: the submit checks everything. Showing an error now
      // would move the button between mousedown and mouseup and swallow the click.
      if (pressingSubmit || event.relatedTarget === submitButton) return;
      // Only judge a field once the user has typed in it and left it.
      const filled = name === "consent" ? false : input.value.trim() !== "";
      if (filled) touched.add(name);
      if (touched.has(name) || submitted) validate(name);
    });
  });

  function invalidNames() {
    return Object.keys(fields).filter((name) => checks[name]());
  }

  function updateStatus() {
    const bad = invalidNames().length;
    status.textContent = bad
      ? bad === 1
        ? "One field needs your attention."
        : bad + " fields need your attention."
      : "";
  }

  submitButton.addEventListener("pointerdown", () => {
    pressingSubmit = true;
  });
  document.addEventListener("pointerup", () => {
    setTimeout(() => {
      pressingSubmit = false;
    }, 0);
  });
  document.addEventListener("pointercancel", () => {
    pressingSubmit = false;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitted = true;
    const bad = Object.keys(fields).filter((name) => !validate(name));
    updateStatus();
    if (bad.length) {
      fields[bad[0]].focus();
      return;
    }
    showSuccess();
  });

  function addRow(term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    summary.append(dt, dd);
  }

  function showSuccess() {
    summary.textContent = "";
    addRow("Name", fields.name.value.trim());
    addRow("Email", fields.email.value.trim());
    if (topics.length) addRow(labelOf(topicLabel, "Topic"), fields.topic.value);
    const message = fields.message.value.trim();
    addRow(labelOf(messageLabel, "Message"), message || "(none)");
    form.hidden = true;
    success.hidden = false;
    clearDraft();
    $("success-heading").focus();
  }

  $("again").addEventListener("click", () => {
    form.reset();
    submitted = false;
    touched.clear();
    Object.keys(fields).forEach((name) => show(name, ""));
    status.textContent = "";
    updateCounter();
    success.hidden = true;
    form.hidden = false;
    fields.name.focus();
  });

  if (!topics.length) $("field-topic").hidden = true;
  loadDraft();
  updateCounter();
})();
