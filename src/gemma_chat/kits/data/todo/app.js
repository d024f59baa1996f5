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

  // A short, stable fingerprint: new starting items (a rebuilt project) start a fresh list.
  function fingerprint(text) {
    let hash = 0;
    for (let i = 0; i < text.length; i += 1) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return (hash >>> 0).toString(36);
  }

  const config = readConfig();
  const seed = (Array.isArray(config.items) ? config.items : [])
    .map((item) => String(item).replace(/\s+/g, " ").trim())
    .filter(Boolean)
    .slice(0, 100);
  const storageKey = "todo:" + document.title + ":" + fingerprint(JSON.stringify(seed));

  const form = document.getElementById("add-form");
  const input = document.getElementById("new-task");
  const list = document.getElementById("tasks");
  const empty = document.getElementById("empty");
  const filterEmpty = document.getElementById("filter-empty");
  const left = document.getElementById("left");
  const clearDone = document.getElementById("clear-done");
  const template = document.getElementById("task-template");
  const filtersBar = document.querySelector(".filters");
  const filterButtons = Array.from(document.querySelectorAll("[data-filter]"));

  let nextId = 1;
  function newTask(text, done) {
    return { id: "t" + Date.now().toString(36) + (nextId++), text: text, done: Boolean(done) };
  }

  function load() {
    try {
      const raw = localStorage.getItem(storageKey);
      if (raw === null) return null;
      const saved = JSON.parse(raw);
      if (!Array.isArray(saved)) return null;
      return saved
        .filter((task) => task && typeof task.text === "string" && task.text.trim())
        .map((task) => newTask(task.text.trim(), task.done));
    } catch (error) {
      return null; // Storage blocked or damaged: start from the starting items.
    }
  }

  function save() {
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify(tasks.map((task) => ({ text: task.text, done: task.done })))
      );
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): the list still works.
    }
  }

  let tasks = load() || seed.map((text) => newTask(text, false));
  let filter = "all";

  function visible(task) {
    if (filter === "active") return !task.done;
    if (filter === "done") return task.done;
    return true;
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  function render(focus) {
    list.textContent = "";
    tasks.filter(visible).forEach((task) => {
      const item = template.content.firstElementChild.cloneNode(true);
      const check = item.querySelector(".task-check");
      const label = item.querySelector(".task-text");
      const remove = item.querySelector(".delete");
      item.dataset.id = task.id;
      item.classList.toggle("done", task.done);
      check.id = "check-" + task.id;
      check.checked = task.done;
      label.htmlFor = check.id;
      label.textContent = task.text;
      remove.setAttribute("aria-label", "Delete: " + task.text);
      list.appendChild(item);
    });

    const done = tasks.filter((task) => task.done).length;
    const active = tasks.length - done;
    document.querySelector('[data-count="all"]').textContent = String(tasks.length);
    document.querySelector('[data-count="active"]').textContent = String(active);
    document.querySelector('[data-count="done"]').textContent = String(done);
    filterButtons.forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
    });

    empty.hidden = tasks.length > 0;
    filtersBar.hidden = tasks.length === 0;
    const shown = list.children.length;
    filterEmpty.hidden = tasks.length === 0 || shown > 0;
    if (!filterEmpty.hidden) {
      filterEmpty.textContent = filter === "done" ? "Nothing ticked off yet." : "Everything is done.";
    }
    list.hidden = shown === 0;
    if (tasks.length === 0) left.textContent = "No tasks yet";
    else if (active === 0) left.textContent = "All done, nice work!";
    else left.textContent = plural(active, "task", "tasks") + " left";
    clearDone.disabled = done === 0;

    if (focus) focusAfterRender(focus);
  }

  // After a re-render, put focus back where the user was (or the nearest sensible place).
  function focusAfterRender(focus) {
    let target = null;
    if (focus.id) {
      const item = list.querySelector('[data-id="' + focus.id + '"]');
      if (item) target = item.querySelector(focus.part === "delete" ? ".delete" : ".task-check");
    }
    if (!target && typeof focus.index === "number" && list.children.length) {
      const index = Math.min(focus.index, list.children.length - 1);
      target = list.children[index].querySelector(focus.part === "delete" ? ".delete" : ".task-check");
    }
    (target || input).focus();
  }

  function persistAndRender(focus) {
    save();
    render(focus);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.replace(/\s+/g, " ").trim();
    if (!text) {
      input.value = "";
      input.focus();
      return;
    }
    tasks.push(newTask(text, false));
    if (filter === "done") filter = "all"; // show the task just added
    input.value = "";
    persistAndRender(null);
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") input.value = "";
  });

  list.addEventListener("change", (event) => {
    const check = event.target.closest(".task-check");
    if (!check) return;
    const id = check.closest(".task").dataset.id;
    const task = tasks.find((t) => t.id === id);
    if (!task) return;
    task.done = check.checked;
    const index = Array.prototype.indexOf.call(list.children, check.closest(".task"));
    persistAndRender({ id: id, part: "check", index: index });
  });

  list.addEventListener("click", (event) => {
    const remove = event.target.closest(".delete");
    if (!remove) return;
    const item = remove.closest(".task");
    const index = Array.prototype.indexOf.call(list.children, item);
    tasks = tasks.filter((task) => task.id !== item.dataset.id);
    persistAndRender({ index: index, part: "delete" });
  });

  list.addEventListener("keydown", (event) => {
    // Delete or Backspace on a focused task's checkbox removes that task.
    if (event.key !== "Delete" && event.key !== "Backspace") return;
    const check = event.target.closest(".task-check");
    if (!check) return;
    event.preventDefault();
    check.closest(".task").querySelector(".delete").click();
  });

  filterButtons.forEach((button) => {
    button.addEventListener("click", () => {
      filter = button.dataset.filter;
      render(null);
    });
  });

  clearDone.addEventListener("click", () => {
    tasks = tasks.filter((task) => !task.done);
    persistAndRender({ index: 0 });
  });

  render(null);
})();
