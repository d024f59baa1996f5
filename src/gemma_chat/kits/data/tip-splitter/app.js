"use strict";

(function () {
  const DEFAULT_TIPS = [10, 15, 20];
  const MAX_PEOPLE = 100;

  function readConfig() {
    try {
      const data = JSON.parse(document.getElementById("kit-data").textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  const config = readConfig();

  // Tip buttons: numbers only ("15", "15%", " 12.5 "), 0..100, no repeats; else the defaults.
  function tipOptions(raw) {
    const list = Array.isArray(raw) ? raw : [];
    const found = [];
    list.forEach((item) => {
      const text = String(item).replace(/[%\s]/g, "").replace(",", ".");
      if (!/^\d+(\.\d+)?$/.test(text)) return;
      const value = Number(text);
      if (value >= 0 && value <= 100 && !found.includes(value)) found.push(value);
    });
    return found.length ? found.slice(0, 8) : DEFAULT_TIPS.slice();
  }

  function clampPeople(value) {
    const number = Math.round(Number(value));
    if (!Number.isFinite(number)) return 1;
    return Math.min(MAX_PEOPLE, Math.max(1, number));
  }

  const tips = tipOptions(config.tip_options);
  const defaultPeople = clampPeople(config.default_people === undefined ? 2 : config.default_people);
  const defaultTip = tips[Math.floor((tips.length - 1) / 2)];
  const storageKey = "tip-splitter:" + document.title;

  const currencyEl = document.getElementById("currency");
  const currency = (currencyEl ? currencyEl.textContent : "").trim();
  const billInput = document.getElementById("bill");
  const customInput = document.getElementById("custom-tip");
  const peopleInput = document.getElementById("people");
  const roundInput = document.getElementById("round");
  const grid = document.getElementById("tip-options");
  const out = {
    person: document.getElementById("total-person"),
    summary: document.getElementById("summary"),
    tipPerson: document.getElementById("tip-person"),
    tipTotal: document.getElementById("tip-total"),
    grand: document.getElementById("grand-total"),
  };

  const formatter = new Intl.NumberFormat(document.documentElement.lang || "en", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const percentFormatter = new Intl.NumberFormat(document.documentElement.lang || "en", {
    maximumFractionDigits: 2,
  });

  function money(amount) {
    const text = formatter.format(Number.isFinite(amount) ? amount : 0);
    if (!currency) return text;
    // Codes and words ("EUR", "kr") read better with a space; symbols sit right next to it.
    return /[\p{L}]$/u.test(currency) ? currency + "\u00a0" + text : currency + text;
  }

  // State
  let state = { bill: "", tip: defaultTip, custom: "", people: defaultPeople, round: false };

  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") {
      state = {
        bill: typeof saved.bill === "string" ? saved.bill : "",
        tip: tips.includes(saved.tip) ? saved.tip : defaultTip,
        custom: typeof saved.custom === "string" ? saved.custom : "",
        people: clampPeople(saved.people),
        round: saved.round === true,
      };
    }
  } catch (error) {
    // Storage can be blocked (private windows, sandboxed previews): the calculator still works.
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(state));
    } catch (error) {
      // See above.
    }
  }

  // Build the tip buttons before the custom field.
  const customBox = grid.querySelector(".custom-tip");
  const tipButtons = tips.map((value) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = percentFormatter.format(value) + "%";
    button.dataset.tip = String(value);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      state.tip = value;
      state.custom = "";
      customInput.value = "";
      update();
    });
    grid.insertBefore(button, customBox);
    return button;
  });

  function parseAmount(text) {
    const value = Number(String(text).replace(",", "."));
    return Number.isFinite(value) && value > 0 ? value : 0;
  }

  function tipPercent() {
    if (state.custom.trim() !== "") {
      return Math.min(100, parseAmount(state.custom));
    }
    return state.tip;
  }

  function update() {
    const bill = Math.min(parseAmount(state.bill), 1e12);
    const percent = tipPercent();
    const people = clampPeople(state.people);
    const usingCustom = state.custom.trim() !== "";

    tipButtons.forEach((button) => {
      const pressed = !usingCustom && Number(button.dataset.tip) === state.tip;
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
    });
    customInput.classList.toggle("active", usingCustom);

    const tip = (bill * percent) / 100;
    let perPerson = Math.round(((bill + tip) / people) * 100) / 100;
    let collected = bill + tip;
    if (state.round && bill > 0) {
      perPerson = Math.ceil((bill + tip) / people - 1e-9);
      collected = perPerson * people;
    }
    const tipTotal = collected - bill;

    out.person.textContent = money(perPerson);
    out.tipPerson.textContent = money(tipTotal / people);
    out.tipTotal.textContent = money(tipTotal);
    out.grand.textContent = money(collected);
    const ways = people === 1 ? "no split" : "split " + people + " ways";
    out.summary.textContent = percentFormatter.format(percent) + "% tip, " + ways;
    save();
  }

  function setPeople(value) {
    state.people = clampPeople(value);
    peopleInput.value = String(state.people);
    update();
  }

  // Wire up the controls.
  billInput.addEventListener("input", () => {
    state.bill = billInput.value;
    update();
  });
  customInput.addEventListener("input", () => {
    state.custom = customInput.value;
    update();
  });
  peopleInput.addEventListener("input", () => {
    if (peopleInput.value.trim() === "") return; // let them type a new number
    state.people = clampPeople(peopleInput.value);
    update();
  });
  peopleInput.addEventListener("change", () => setPeople(peopleInput.value || 1));
  document.getElementById("people-down").addEventListener("click", () => setPeople(state.people - 1));
  document.getElementById("people-up").addEventListener("click", () => setPeople(state.people + 1));
  roundInput.addEventListener("change", () => {
    state.round = roundInput.checked;
    update();
  });
  document.getElementById("reset").addEventListener("click", () => {
    state = { bill: "", tip: defaultTip, custom: "", people: defaultPeople, round: false };
    billInput.value = "";
    customInput.value = "";
    peopleInput.value = String(defaultPeople);
    roundInput.checked = false;
    update();
    billInput.focus();
  });

  // Show the saved (or starting) state.
  billInput.value = state.bill;
  customInput.value = state.custom;
  peopleInput.value = String(state.people);
  roundInput.checked = state.round;
  update();
})();
