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

  function clean(text) {
    return String(text).replace(/\s+/g, " ").trim();
  }

  const config = readConfig();
  const seed = (Array.isArray(config.habits) ? config.habits : [])
    .map(clean)
    .filter(Boolean)
    .slice(0, 50);
  const wanted = Math.round(Number(config.days));
  const dayCount = Number.isFinite(wanted) ? Math.min(31, Math.max(1, wanted)) : 7;
  const storageKey = "habits:" + document.title + ":" + fingerprint(JSON.stringify(seed));
  const locale = document.documentElement.lang || undefined;
  const MAX_HABITS = 30;

  const list = document.getElementById("habit-list");
  const empty = document.getElementById("empty");
  const summary = document.getElementById("today-summary");
  const bar = document.getElementById("progress-bar");
  const form = document.getElementById("add-form");
  const input = document.getElementById("new-habit");
  const template = document.getElementById("habit-template");
  const undoBar = document.getElementById("undo-bar");
  const undoText = document.getElementById("undo-text");
  const announce = document.getElementById("announce");

  // Rows of 7 at most on a phone: 14 days are two even rows, 10 are two rows of 5.
  const rows = Math.ceil(dayCount / 7);
  list.style.setProperty("--days", String(dayCount));
  list.style.setProperty("--cols-narrow", String(Math.ceil(dayCount / rows)));

  function dateKey(date) {
    const month = String(date.getMonth() + 1).padStart(2, "0");
    const day = String(date.getDate()).padStart(2, "0");
    return date.getFullYear() + "-" + month + "-" + day;
  }

  function shiftDays(date, by) {
    return new Date(date.getFullYear(), date.getMonth(), date.getDate() + by);
  }

  function format(date, options, fallback) {
    try {
      return date.toLocaleDateString(locale, options);
    } catch (error) {
      return fallback;
    }
  }

  let counter = 0;
  function makeHabit(name, done) {
    counter += 1;
    return { id: "h" + counter, name: name, done: new Set(done || []) };
  }

  function load() {
    try {
      const raw = localStorage.getItem(storageKey);
      if (raw === null) return null;
      const saved = JSON.parse(raw);
      if (!Array.isArray(saved)) return null;
      return saved
        .filter((habit) => habit && typeof habit.name === "string" && clean(habit.name))
        .map((habit) =>
          makeHabit(
            clean(habit.name),
            Array.isArray(habit.done) ? habit.done.filter((key) => typeof key === "string") : []
          )
        );
    } catch (error) {
      return null;
    }
  }

  function save() {
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify(habits.map((h) => ({ name: h.name, done: Array.from(h.done).sort() })))
      );
    } catch (error) {
      // Storage can be blocked (private windows, sandboxed previews): ticking still works.
    }
  }

  let habits = load() || seed.map((name) => makeHabit(name));
  let lastRemoved = null;
  let undoTimer = 0;

  function days() {
    const today = new Date();
    const shown = [];
    for (let i = dayCount - 1; i >= 0; i -= 1) shown.push(shiftDays(today, -i));
    return shown;
  }

  // Days in a row, ending today (or yesterday while today is still open).
  function streak(habit) {
    let day = new Date();
    if (!habit.done.has(dateKey(day))) day = shiftDays(day, -1);
    let count = 0;
    while (habit.done.has(dateKey(day)) && count < 10000) {
      count += 1;
      day = shiftDays(day, -1);
    }
    return count;
  }

  function streakText(count) {
    return count === 1 ? "1 day streak" : count + " day streak";
  }

  function dayLabel(date, isToday) {
    const text = format(
      date,
      { weekday: "long", month: "long", day: "numeric" },
      date.toDateString()
    );
    return isToday ? "Today, " + text : text;
  }

  function buildHabit(habit, shown) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = habit.id;
    const nameId = "name-" + habit.id;
    const name = item.querySelector(".habit-name");
    name.id = nameId;
    name.textContent = habit.name;
    item.querySelector(".remove").setAttribute("aria-label", "Remove habit: " + habit.name);
    const group = item.querySelector(".days");
    group.setAttribute("aria-labelledby", nameId);
    const todayKey = dateKey(new Date());
    shown.forEach((date, index) => {
      const key = dateKey(date);
      const isToday = key === todayKey;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "day" + (isToday ? " is-today" : "");
      button.dataset.key = key;
      button.dataset.index = String(index);
      button.setAttribute("aria-pressed", String(habit.done.has(key)));
      button.setAttribute("aria-label", dayLabel(date, isToday));
      button.tabIndex = isToday ? 0 : -1;
      const weekday = document.createElement("span");
      weekday.className = "weekday";
      weekday.setAttribute("aria-hidden", "true");
      weekday.textContent = format(date, { weekday: "narrow" }, "");
      const number = document.createElement("span");
      number.className = "date";
      number.setAttribute("aria-hidden", "true");
      number.textContent = String(date.getDate());
      button.append(weekday, number);
      group.appendChild(button);
    });
    updateStreak(item, habit);
    return item;
  }

  function updateStreak(item, habit) {
    const count = streak(habit);
    const badge = item.querySelector(".streak");
    item.querySelector(".streak-count").textContent = String(count);
    badge.classList.toggle("active", count > 0);
    badge.setAttribute("title", streakText(count));
    badge.setAttribute("aria-label", streakText(count));
    badge.setAttribute("role", "img");
  }

  function updateSummary() {
    const key = dateKey(new Date());
    const done = habits.filter((habit) => habit.done.has(key)).length;
    const total = habits.length;
    let text = done + " of " + total + " " + (total === 1 ? "habit" : "habits") + " done";
    if (total > 0 && done === total) {
      text = total === 1 ? "Done for today. Well done!" : "All " + total + " done today. Well done!";
    }
    if (total === 0) text = "Nothing to track yet";
    summary.textContent = text;
    bar.style.width = total ? Math.round((done / total) * 100) + "%" : "0%";
  }

  function render() {
    const shown = days();
    list.textContent = "";
    habits.forEach((habit) => list.appendChild(buildHabit(habit, shown)));
    empty.hidden = habits.length > 0;
    list.hidden = habits.length === 0;
    updateSummary();
  }

  function habitOf(element) {
    const item = element.closest(".habit");
    return item ? habits.find((habit) => habit.id === item.dataset.id) : null;
  }

  function focusDay(button) {
    if (!button) return;
    const group = button.closest(".days");
    group.querySelectorAll(".day").forEach((day) => {
      day.tabIndex = day === button ? 0 : -1;
    });
    button.focus();
  }

  list.addEventListener("click", (event) => {
    const day = event.target.closest(".day");
    if (day) {
      const habit = habitOf(day);
      if (!habit) return;
      const key = day.dataset.key;
      if (habit.done.has(key)) habit.done.delete(key);
      else habit.done.add(key);
      day.setAttribute("aria-pressed", String(habit.done.has(key)));
      focusDay(day);
      updateStreak(day.closest(".habit"), habit);
      updateSummary();
      save();
      return;
    }
    const remove = event.target.closest(".remove");
    if (remove) removeHabit(remove.closest(".habit"));
  });

  list.addEventListener("keydown", (event) => {
    const day = event.target.closest(".day");
    if (!day) return;
    const group = day.closest(".days");
    const buttons = Array.from(group.querySelectorAll(".day"));
    const index = buttons.indexOf(day);
    let target = null;
    if (event.key === "ArrowRight") target = buttons[index + 1];
    else if (event.key === "ArrowLeft") target = buttons[index - 1];
    else if (event.key === "Home") target = buttons[0];
    else if (event.key === "End") target = buttons[buttons.length - 1];
    else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      const item = day.closest(".habit");
      const other = event.key === "ArrowUp" ? item.previousElementSibling : item.nextElementSibling;
      if (other) target = other.querySelectorAll(".day")[index];
      if (!target) {
        event.preventDefault();
        return;
      }
    } else return;
    event.preventDefault();
    focusDay(target);
  });

  function removeHabit(item) {
    const index = habits.findIndex((habit) => habit.id === item.dataset.id);
    if (index === -1) return;
    lastRemoved = { habit: habits[index], index: index };
    habits.splice(index, 1);
    save();
    render();
    const next = list.children[Math.min(index, list.children.length - 1)];
    (next ? next.querySelector(".remove") : input).focus();
    showUndo("Removed “" + lastRemoved.habit.name + "”.");
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
    lastRemoved = null;
  }

  document.getElementById("undo").addEventListener("click", () => {
    if (lastRemoved) {
      const { habit, index } = lastRemoved;
      habits.splice(Math.min(index, habits.length), 0, habit);
      save();
      render();
      const item = list.querySelector('[data-id="' + habit.id + '"]');
      if (item) item.querySelector(".day.is-today").focus();
      announce.textContent = "Habit restored";
    }
    clearTimeout(undoTimer);
    hideUndo();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = clean(input.value);
    input.value = "";
    if (!name) {
      input.focus();
      return;
    }
    if (habits.length >= MAX_HABITS) {
      announce.textContent = "You are tracking " + MAX_HABITS + " habits already; remove one first.";
      return;
    }
    habits.push(makeHabit(name));
    save();
    render();
    announce.textContent = "Added " + name;
    input.focus();
  });

  // Past midnight while the page is open: move the days along.
  let shownDay = dateKey(new Date());
  setInterval(() => {
    const now = dateKey(new Date());
    if (now !== shownDay) {
      shownDay = now;
      render();
    }
  }, 60000);

  render();
})();
