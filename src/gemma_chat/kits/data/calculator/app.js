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

  function whole(value, low, high, fallback) {
    const n = Math.round(Number(value));
    return Number.isFinite(n) ? Math.min(high, Math.max(low, n)) : fallback;
  }

  const config = readConfig();
  const decimals = whole(config.decimals, 0, 10, 8);
  const historySize = whole(config.history_size, 1, 100, 10);
  const storageKey = "calculator:" + document.title;
  const MAX_LENGTH = 80;
  const OPS = "+−×÷";

  const el = (id) => document.getElementById(id);
  const exprLine = el("expression");
  const resultLine = el("result");
  const keypad = el("keypad");
  const historyList = el("history");
  const historyEmpty = el("history-empty");
  const clearHistory = el("clear-history");
  const announce = el("announce");

  // ---- Evaluating: a small recursive-descent parser, no eval(). --------------------------

  class CalcError extends Error {}

  const NUMBER = /^(?:\d+\.?\d*|\.\d*)(?:e[+-]?\d+)?/;

  function tokenize(source) {
    const tokens = [];
    let i = 0;
    while (i < source.length) {
      const rest = source.slice(i);
      const number = NUMBER.exec(rest);
      if (number && number[0]) {
        const text = number[0];
        tokens.push({ type: "num", value: text === "." ? 0 : Number(text) });
        i += text.length;
        continue;
      }
      const c = source[i];
      if (c === " ") {
        i++;
        continue;
      }
      const op = { "-": "−", "*": "×", "/": "÷", x: "×" }[c] || c;
      if ("+−×÷%()".includes(op)) {
        tokens.push({ type: "op", value: op });
        i++;
        continue;
      }
      throw new CalcError("Check the expression");
    }
    return tokens;
  }

  function evaluate(source) {
    const tokens = tokenize(source);
    let pos = 0;
    const peek = () => tokens[pos];
    const isOp = (value) => peek() && peek().type === "op" && peek().value === value;

    // expression := term (("+" | "−") term)*, where "a + b%" means a plus b percent of a.
    function expression() {
      let left = term().value;
      while (isOp("+") || isOp("−")) {
        const op = tokens[pos++].value;
        const right = term();
        const amount = right.percent ? left * right.value : right.value;
        left = op === "+" ? left + amount : left - amount;
      }
      return left;
    }

    // term := unary (("×" | "÷") unary)*, a number or "(" straight after means "×".
    function term() {
      let result = unary();
      let single = true;
      for (;;) {
        const next = peek();
        if (isOp("×") || isOp("÷")) {
          const op = tokens[pos++].value;
          const right = unary().value;
          if (op === "÷" && right === 0) throw new CalcError("Can't divide by zero");
          result = { value: op === "×" ? result.value * right : result.value / right, percent: false };
        } else if (next && (next.type === "num" || next.value === "(")) {
          result = { value: result.value * unary().value, percent: false };
        } else {
          break;
        }
        single = false;
      }
      return single ? result : { value: result.value, percent: false };
    }

    function unary() {
      if (isOp("−")) {
        pos++;
        const inner = unary();
        return { value: -inner.value, percent: inner.percent };
      }
      if (isOp("+")) {
        pos++;
        return unary();
      }
      return postfix();
    }

    function postfix() {
      let value = primary();
      let percent = false;
      while (isOp("%")) {
        pos++;
        value /= 100;
        percent = true;
      }
      return { value, percent };
    }

    function primary() {
      const token = peek();
      if (!token) throw new CalcError("Incomplete expression");
      if (token.type === "num") {
        pos++;
        return token.value;
      }
      if (token.value === "(") {
        pos++;
        const inside = expression();
        if (isOp(")")) pos++; // a missing ")" at the end is forgiven
        else if (peek()) throw new CalcError("Check the brackets");
        return inside;
      }
      throw new CalcError("Check the expression");
    }

    if (!tokens.length) throw new CalcError("Incomplete expression");
    const value = expression();
    if (pos < tokens.length) throw new CalcError("Check the expression");
    if (!Number.isFinite(value)) throw new CalcError("Number too large");
    return value;
  }

  // ---- Numbers on screen -------------------------------------------------------------

  function round(value) {
    if (Math.abs(value) >= 1e21) return value;
    const rounded = Number(value.toFixed(decimals));
    return Object.is(rounded, -0) ? 0 : rounded;
  }

  function show(value) {
    if (Math.abs(value) >= 1e15) return value.toExponential(8).replace(/\.?0+e/, "e").replace("-", "−");
    return value
      .toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: 0 })
      .replace("-", "−");
  }

  // The value as the expression writes it, so a result can be used again.
  function raw(value) {
    return String(value).replace(/^-/, "−");
  }

  const NUMBERS = /(?:\d+\.?\d*|\.\d*)(?:e[+-]?\d+)?/g;

  function pretty(expr) {
    return expr
      .replace(NUMBERS, (n) => {
        if (n.includes("e")) return n;
        const [intPart, frac] = n.split(".");
        const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
        return frac === undefined ? grouped : grouped + "." + frac;
      })
      .replace(/([\d.)%])([+−×÷])/g, "$1 $2 ");
  }

  // ---- State and input ---------------------------------------------------------------

  let expr = "";
  let shownExpr = ""; // the expression a result came from, shown above it
  let result = null; // the last "=" result while it is on screen
  let error = "";
  let history = [];

  const last = () => expr.slice(-1);
  const endsWithValue = () => /[\d.)%]$/.test(expr);
  const LAST_NUMBER = /(?:\d+\.?\d*|\.\d*)(?:e[+-]?\d+)?$/;

  function continueFromResult() {
    if (result !== null) {
      expr = raw(result);
      result = null;
    }
  }

  function startFresh() {
    if (result !== null) {
      expr = "";
      result = null;
    }
  }

  function append(text) {
    if (expr.length + text.length <= MAX_LENGTH) expr += text;
  }

  function digit(d) {
    startFresh();
    if (/[)%]$/.test(expr)) append("×");
    const number = (expr.match(LAST_NUMBER) || [""])[0];
    if (number === "0") expr = expr.slice(0, -1);
    if (number.replace(/\D/g, "").length >= 15 && !number.includes("e")) return;
    append(d);
  }

  function dot() {
    startFresh();
    if (/[)%]$/.test(expr)) append("×");
    const number = (expr.match(LAST_NUMBER) || [""])[0];
    if (number.includes(".") || number.includes("e")) return;
    append(number ? "." : "0.");
  }

  function operator(op) {
    continueFromResult();
    if (!expr) {
      if (op === "−") append("−");
      else append("0" + op);
      return;
    }
    if (last() === "(") {
      if (op === "−") append("−");
      return;
    }
    if (OPS.includes(last())) {
      const before = expr.slice(0, -1);
      if (op === "−" && "×÷".includes(last())) {
        append("−"); // 5 × −3
        return;
      }
      expr = before.replace(/[+−×÷]+$/, "");
      if (!expr) {
        if (op === "−") append("−");
        return;
      }
      if (last() === "(") {
        if (op === "−") append("−");
        return;
      }
    }
    append(op);
  }

  function percent() {
    continueFromResult();
    if (endsWithValue()) append("%");
  }

  function bracket(which) {
    if (which === "(") {
      startFresh();
      if (endsWithValue()) append("×");
      append("(");
      return;
    }
    continueFromResult();
    const open = (expr.match(/\(/g) || []).length - (expr.match(/\)/g) || []).length;
    if (open > 0 && endsWithValue()) append(")");
  }

  function sign() {
    continueFromResult();
    const found = /((?:\d+\.?\d*|\.\d*)(?:e[+-]?\d+)?%*|\))$/.exec(expr);
    if (!found || found[0] === ")") {
      if (!expr) append("−");
      return;
    }
    const at = found.index;
    const before = expr.slice(0, at);
    const prev = before.slice(-1);
    const prevPrev = before.slice(-2, -1);
    if (prev === "−" && (before.length === 1 || "+−×÷(".includes(prevPrev))) {
      expr = before.slice(0, -1) + expr.slice(at); // −3 -> 3
    } else if (prev === "−") {
      expr = before.slice(0, -1) + "+" + expr.slice(at); // 5 − 3 -> 5 + 3
    } else if (prev === "+") {
      expr = before.slice(0, -1) + "−" + expr.slice(at); // 5 + 3 -> 5 − 3
    } else if (expr.length < MAX_LENGTH) {
      expr = before + "−" + expr.slice(at); // 3 -> −3, 5 × 3 -> 5 × −3
    }
  }

  function back() {
    if (result !== null) {
      clearAll();
      return;
    }
    const number = (expr.match(LAST_NUMBER) || [""])[0];
    expr = number.includes("e") ? expr.slice(0, -number.length) : expr.slice(0, -1);
  }

  function clearAll() {
    expr = "";
    shownExpr = "";
    result = null;
    error = "";
  }

  // What is typed, made whole: a trailing operator dropped, open brackets closed.
  function settle(text) {
    let whole = text;
    while (/[+−×÷(]$/.test(whole)) whole = whole.slice(0, -1);
    const open = (whole.match(/\(/g) || []).length - (whole.match(/\)/g) || []).length;
    return whole && open > 0 ? whole + ")".repeat(open) : whole;
  }

  function equals() {
    if (result !== null) return;
    const text = settle(expr);
    if (!text) return;
    try {
      const value = round(evaluate(text));
      shownExpr = text;
      result = value;
      error = "";
      remember(text, value);
      say("Equals " + show(value));
    } catch (caught) {
      error = caught instanceof CalcError ? caught.message : "Check the expression";
      say(error);
    }
  }

  function press(key) {
    error = "";
    if (/^\d$/.test(key)) digit(key);
    else if (key === ".") dot();
    else if (OPS.includes(key)) operator(key);
    else if (key === "%") percent();
    else if (key === "(" || key === ")") bracket(key);
    else if (key === "sign") sign();
    else if (key === "back") back();
    else if (key === "clear") clearAll();
    else if (key === "=") equals();
    render();
  }

  // ---- History -----------------------------------------------------------------------

  function loadHistory() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "[]");
      if (Array.isArray(saved)) {
        history = saved
          .filter((h) => h && typeof h.expr === "string" && Number.isFinite(h.value))
          .slice(0, historySize);
      }
    } catch (caught) {
      history = [];
    }
  }

  function saveHistory() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(history));
    } catch (caught) {
      // Storage can be blocked (private windows, sandboxed previews): the history is per visit.
    }
  }

  function remember(text, value) {
    history.unshift({ expr: text, value });
    history = history.slice(0, historySize);
    saveHistory();
    renderHistory();
  }

  function useValue(value) {
    const text = raw(value);
    if (result !== null || !expr || !/[+−×÷(]$/.test(expr)) {
      expr = text;
    } else {
      expr = (expr + text).slice(0, MAX_LENGTH);
    }
    result = null;
    error = "";
    render();
  }

  function renderHistory() {
    const rows = document.createDocumentFragment();
    history.forEach((entry) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "history-item";
      const line = document.createElement("span");
      line.className = "history-expr";
      line.textContent = pretty(entry.expr) + " =";
      const value = document.createElement("span");
      value.className = "history-value";
      value.textContent = show(entry.value);
      button.append(line, value);
      button.setAttribute("aria-label", "Use " + show(entry.value) + " (" + pretty(entry.expr) + ")");
      button.addEventListener("click", () => useValue(entry.value));
      item.append(button);
      rows.append(item);
    });
    historyList.replaceChildren(rows);
    historyEmpty.hidden = history.length > 0;
    clearHistory.disabled = history.length === 0;
  }

  // ---- Drawing -----------------------------------------------------------------------

  function fit(node, text) {
    node.textContent = text;
    node.classList.toggle("long", text.length > 12);
    node.classList.toggle("longer", text.length > 18);
  }

  function render() {
    if (result !== null) {
      exprLine.textContent = pretty(shownExpr) + " =";
      fit(resultLine, show(result));
      resultLine.classList.remove("preview", "error");
      return;
    }
    exprLine.textContent = pretty(expr);
    resultLine.classList.remove("error");
    if (error) {
      resultLine.classList.remove("preview");
      resultLine.classList.add("error");
      fit(resultLine, error);
      return;
    }
    resultLine.classList.add("preview");
    let preview = "0";
    const text = settle(expr);
    if (text) {
      try {
        preview = show(round(evaluate(text)));
      } catch (caught) {
        preview = ""; // half-typed (5 ÷ 0 on the way to 5 ÷ 0.5): "=" explains
      }
    }
    fit(resultLine, preview);
  }

  function say(text) {
    announce.textContent = text;
  }

  // ---- Wiring ------------------------------------------------------------------------

  keypad.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-key]") : null;
    if (button) press(button.dataset.key);
  });

  const KEYS = {
    Enter: "=",
    "=": "=",
    Backspace: "back",
    Delete: "clear",
    Escape: "clear",
    c: "clear",
    C: "clear",
    F9: "sign",
    ",": ".",
    "-": "−",
    "*": "×",
    x: "×",
    X: "×",
    "/": "÷",
  };

  function flash(key) {
    const button = keypad.querySelector('[data-key="' + key + '"]');
    if (!button) return;
    button.classList.remove("pressed");
    void button.offsetWidth; // restart the animation
    button.classList.add("pressed");
  }

  // How the focus got where it is: a click (or tap) or the Tab key.
  let pointerUsed = true;
  document.addEventListener("pointerdown", () => {
    pointerUsed = true;
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab") pointerUsed = false;
  }, true);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("input, textarea, select, [contenteditable]")) return;
    // A button reached with Tab takes Enter itself, as buttons do; after a click, Enter is "=".
    if (event.key === "Enter" && target && target.closest("button") && !pointerUsed) return;
    const key = KEYS[event.key] || event.key;
    if (!/^[\d.+−×÷%()=]$/.test(key) && !["back", "clear", "sign"].includes(key)) return;
    event.preventDefault();
    press(key);
    flash(key);
  });

  keypad.addEventListener("animationend", (event) => {
    if (event.target instanceof Element) event.target.classList.remove("pressed");
  });

  clearHistory.addEventListener("click", () => {
    history = [];
    saveHistory();
    renderHistory();
    say("History cleared");
    keypad.querySelector('[data-key="="]').focus();
  });

  loadHistory();
  renderHistory();
  render();
})();
