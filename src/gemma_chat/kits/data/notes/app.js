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

  function fingerprint(text) {
    let hash = 0;
    for (let i = 0; i < text.length; i += 1) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return (hash >>> 0).toString(36);
  }

  // "Title | body" -> {title, body}; a line without " | " is all title.
  function parseSeed(item) {
    const text = String(item).trim();
    const cut = text.indexOf("|");
    if (cut === -1) return { title: text, body: "" };
    return {
      title: text.slice(0, cut).trim(),
      body: text.slice(cut + 1).split("|").map((part) => part.trim()).filter(Boolean).join("\n"),
    };
  }

  const config = readConfig();
  const seedItems = (Array.isArray(config.notes) ? config.notes : [])
    .map((item) => String(item).trim())
    .filter(Boolean)
    .slice(0, 100);
  const storageKey = "notes:" + document.title + ":" + fingerprint(JSON.stringify(seedItems));

  const $ = (id) => document.getElementById(id);
  const layout = $("notes");
  const search = $("search");
  const list = $("note-list");
  const empty = $("empty");
  const noMatch = $("no-match");
  const searchStatus = $("search-status");
  const fields = $("editor-fields");
  const noSelection = $("no-selection");
  const titleInput = $("note-title");
  const bodyInput = $("note-body");
  const meta = $("note-meta");
  const saveState = $("save-state");
  const deleteButton = $("delete-note");
  const undoBar = $("undo-bar");
  const undoText = $("undo-text");
  const announce = $("announce");
  const narrow = window.matchMedia("(max-width: 44rem)");
  const locale = document.documentElement.lang || undefined;

  let counter = 0;
  function makeId() {
    counter += 1;
    return "n" + Date.now().toString(36) + counter;
  }

  function load() {
    try {
      const raw = localStorage.getItem(storageKey);
      if (raw === null) return null;
      const saved = JSON.parse(raw);
      if (!Array.isArray(saved)) return null;
      return saved
        .filter((note) => note && typeof note === "object")
        .map((note) => ({
          id: makeId(),
          title: typeof note.title === "string" ? note.title : "",
          body: typeof note.body === "string" ? note.body : "",
          updated: Number(note.updated) || Date.now(),
        }));
    } catch (error) {
      return null;
    }
  }

  function store() {
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify(notes.map((n) => ({ title: n.title, body: n.body, updated: n.updated })))
      );
      return true;
    } catch (error) {
      return false; // Blocked storage (private window, sandboxed preview).
    }
  }

  const now = Date.now();
  let notes =
    load() ||
    seedItems.map((item, index) => {
      const parsed = parseSeed(item);
      // Keep the starting order: the first note is the newest.
      return { id: makeId(), title: parsed.title, body: parsed.body, updated: now - index * 60000 };
    });
  let currentId = null;
  let saveTimer = 0;
  let undoTimer = 0;
  let lastDeleted = null;
  let storedOk = store();

  function sorted() {
    return notes.slice().sort((a, b) => b.updated - a.updated);
  }

  function current() {
    return notes.find((note) => note.id === currentId) || null;
  }

  function displayTitle(note) {
    return note.title.trim() || "Untitled note";
  }

  function when(time) {
    const date = new Date(time);
    const today = new Date();
    try {
      if (date.toDateString() === today.toDateString()) {
        return date.toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit" });
      }
      const options = { month: "short", day: "numeric" };
      if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
      return date.toLocaleDateString(locale, options);
    } catch (error) {
      return date.toDateString();
    }
  }

  function matches(note, query) {
    if (!query) return true;
    return (note.title + "\n" + note.body).toLowerCase().includes(query);
  }

  function renderList() {
    const query = search.value.trim().toLowerCase();
    const shown = sorted().filter((note) => matches(note, query));
    list.textContent = "";
    shown.forEach((note) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "note-item";
      button.dataset.id = note.id;
      if (note.id === currentId) button.setAttribute("aria-current", "true");
      const top = document.createElement("span");
      top.className = "note-top";
      const title = document.createElement("span");
      title.className = "note-title";
      title.textContent = displayTitle(note);
      const date = document.createElement("span");
      date.className = "note-date";
      date.textContent = when(note.updated);
      top.append(title, date);
      const snippet = document.createElement("span");
      snippet.className = "note-snippet";
      snippet.textContent = note.body.replace(/\s+/g, " ").trim() || "No text";
      button.append(top, snippet);
      item.appendChild(button);
      list.appendChild(item);
    });
    empty.hidden = notes.length > 0;
    noMatch.hidden = notes.length === 0 || shown.length > 0;
    list.hidden = shown.length === 0;
    const status = query
      ? shown.length === 1
        ? "1 note found"
        : shown.length + " notes found"
      : "";
    if (searchStatus.textContent !== status) searchStatus.textContent = status;
  }

  function renderEditor() {
    const note = current();
    fields.hidden = !note;
    deleteButton.hidden = !note;
    noSelection.hidden = Boolean(note);
    if (!note) {
      saveState.textContent = "";
      return;
    }
    if (titleInput.value !== note.title) titleInput.value = note.title;
    if (bodyInput.value !== note.body) bodyInput.value = note.body;
    meta.textContent = "Edited " + when(note.updated) + " · " + words(note.body);
    deleteButton.setAttribute("aria-label", "Delete note: " + displayTitle(note));
  }

  function words(text) {
    const count = text.trim() ? text.trim().split(/\s+/).length : 0;
    return count === 1 ? "1 word" : count + " words";
  }

  function setView(view) {
    layout.dataset.view = view;
  }

  function open(id, focusField) {
    flush();
    currentId = id;
    renderList();
    renderEditor();
    setView("editor");
    showStored();
    if (focusField) focusField.focus();
  }

  function flush() {
    if (!saveTimer) return;
    clearTimeout(saveTimer);
    saveTimer = 0;
    commit();
  }

  function commit() {
    saveTimer = 0;
    storedOk = store();
    showStored();
    renderList();
  }

  function showStored() {
    saveState.textContent = storedOk ? "Saved" : "Not saved: storage is blocked here";
    saveState.dataset.state = storedOk ? "saved" : "error";
  }

  function edited() {
    const note = current();
    if (!note) return;
    note.title = titleInput.value;
    note.body = bodyInput.value;
    note.updated = Date.now();
    meta.textContent = "Edited " + when(note.updated) + " · " + words(note.body);
    deleteButton.setAttribute("aria-label", "Delete note: " + displayTitle(note));
    saveState.textContent = "Saving…";
    saveState.dataset.state = "saving";
    clearTimeout(saveTimer);
    saveTimer = setTimeout(commit, 450);
  }

  function createNote() {
    search.value = "";
    const note = { id: makeId(), title: "", body: "", updated: Date.now() };
    notes.push(note);
    storedOk = store();
    open(note.id, titleInput);
    announce.textContent = "New note created";
  }

  function deleteCurrent() {
    const note = current();
    if (!note) return;
    flush();
    const order = sorted();
    const index = order.findIndex((n) => n.id === note.id);
    notes = notes.filter((n) => n.id !== note.id);
    storedOk = store();
    lastDeleted = note;
    const rest = order.filter((n) => n.id !== note.id);
    const next = rest[Math.min(index, rest.length - 1)];
    currentId = next && !narrow.matches ? next.id : null;
    renderList();
    renderEditor();
    setView("list");
    showUndo("Deleted “" + displayTitle(note) + "”.");
    const focusTarget = list.querySelector('[data-id="' + currentId + '"]') || $("new-note");
    focusTarget.focus();
  }

  function showUndo(message) {
    undoText.textContent = message;
    undoBar.hidden = false;
    announce.textContent = message + " Press Undo to bring it back.";
    clearTimeout(undoTimer);
    undoTimer = setTimeout(hideUndo, 8000);
  }

  function hideUndo() {
    undoBar.hidden = true;
    lastDeleted = null;
  }

  $("undo").addEventListener("click", () => {
    if (!lastDeleted) return hideUndo();
    const note = lastDeleted;
    notes.push(note);
    storedOk = store();
    clearTimeout(undoTimer);
    hideUndo();
    open(note.id, titleInput);
    announce.textContent = "Note restored";
  });

  list.addEventListener("click", (event) => {
    const button = event.target.closest(".note-item");
    if (button) open(button.dataset.id, titleInput);
  });

  list.addEventListener("keydown", (event) => {
    // Arrow keys move between notes in the list.
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = Array.from(list.querySelectorAll(".note-item"));
    const index = buttons.indexOf(event.target);
    if (index === -1) return;
    event.preventDefault();
    const next = buttons[index + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) next.focus();
  });

  $("new-note").addEventListener("click", createNote);
  deleteButton.addEventListener("click", deleteCurrent);
  $("back").addEventListener("click", () => {
    flush();
    setView("list");
    const item = list.querySelector('[data-id="' + currentId + '"]');
    (item || search).focus();
  });
  titleInput.addEventListener("input", edited);
  bodyInput.addEventListener("input", edited);
  titleInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      bodyInput.focus();
    }
  });
  search.addEventListener("input", renderList);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      const first = list.querySelector(".note-item");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });

  const first = sorted()[0];
  currentId = first && !narrow.matches ? first.id : null;
  renderList();
  renderEditor();
  if (current()) showStored();
})();
