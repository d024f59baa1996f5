"use strict";

(function () {
  const MAX_CHOICES = 6;

  function readConfig() {
    try {
      const data = JSON.parse(document.getElementById("kit-data").textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  function clean(text) {
    return String(text).replace(/\s+/g, " ").trim();
  }

  // "Question | right | wrong | wrong": anything else still becomes a usable card.
  // 2+ answers: multiple choice. 1 answer: a flashcard (show answer). None: a plain card.
  function parseItem(raw, index) {
    const parts = String(raw).split("|").map(clean);
    const answers = [];
    parts.slice(1).forEach((answer) => {
      if (answer && !answers.some((seen) => seen.toLowerCase() === answer.toLowerCase())) {
        answers.push(answer);
      }
    });
    let question = parts[0] || "";
    if (!question) question = answers.length > 1 ? "Choose the right answer." : "Question " + (index + 1);
    return {
      question: question,
      right: answers.length ? answers[0] : null,
      choices: answers.length > 1 ? answers.slice(0, MAX_CHOICES) : null,
    };
  }

  const config = readConfig();
  const rawItems = Array.isArray(config.questions) ? config.questions : [];
  const items = rawItems
    .filter((item) => item !== null && item !== undefined && clean(item) !== "")
    .map(parseItem);
  const scoredTotal = items.filter((item) => item.choices).length;

  const el = {
    quiz: document.getElementById("quiz"),
    result: document.getElementById("result"),
    progressText: document.getElementById("progress-text"),
    progressBar: document.getElementById("progress-bar"),
    scoreChip: document.getElementById("score-chip"),
    question: document.getElementById("question"),
    answers: document.getElementById("answers"),
    feedback: document.getElementById("feedback"),
    reveal: document.getElementById("reveal"),
    next: document.getElementById("next"),
    hint: document.getElementById("hint"),
    hintMax: document.getElementById("hint-max"),
    resultTitle: document.getElementById("result-title"),
    finalScore: document.getElementById("final-score"),
    verdict: document.getElementById("verdict"),
    best: document.getElementById("best"),
    restart: document.getElementById("restart"),
  };

  function message(id, fallback) {
    const node = document.getElementById(id);
    const text = node ? clean(node.textContent) : "";
    return text || fallback;
  }

  const msgCorrect = message("msg-correct", "Correct!");
  const msgWrong = message("msg-wrong", "Not quite. The answer is");

  // A key per quiz content, so a changed question list starts a fresh best score.
  function hash(text) {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return (h >>> 0).toString(36);
  }
  const storageKey = "quiz:" + document.title + ":" + hash(JSON.stringify(rawItems));

  function loadBest() {
    try {
      const value = Number(localStorage.getItem(storageKey));
      return Number.isFinite(value) && value > 0 ? value : 0;
    } catch (error) {
      return 0; // Storage can be blocked (sandboxed previews): the quiz still works.
    }
  }

  function saveBest(value) {
    try {
      localStorage.setItem(storageKey, String(value));
    } catch (error) {
      // See above.
    }
  }

  function shuffle(list) {
    const copy = list.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const swap = copy[i];
      copy[i] = copy[j];
      copy[j] = swap;
    }
    return copy;
  }

  let index = 0;
  let score = 0;
  let done = false; // the current card is answered / revealed
  let shown = []; // the current choices in screen order

  function withStop(text) {
    return /[.!?…]$/.test(text) ? text : text + ".";
  }

  function updateProgress() {
    const total = items.length || 1;
    el.progressText.textContent = Math.min(index + 1, items.length) + " / " + items.length;
    el.progressBar.style.width = ((index + (done ? 1 : 0)) / total) * 100 + "%";
    el.scoreChip.textContent = "Score: " + score;
    el.scoreChip.hidden = scoredTotal === 0;
  }

  function render() {
    const item = items[index];
    done = false;
    el.question.textContent = item.question;
    el.answers.textContent = "";
    el.feedback.textContent = "";
    el.feedback.className = "feedback";
    shown = item.choices ? shuffle(item.choices) : [];

    shown.forEach((choice, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "answer";
      const key = document.createElement("span");
      key.className = "key";
      key.setAttribute("aria-hidden", "true");
      key.textContent = String(i + 1);
      const text = document.createElement("span");
      text.className = "answer-text";
      text.textContent = choice;
      button.append(key, text);
      button.addEventListener("click", () => answer(i));
      li.appendChild(button);
      el.answers.appendChild(li);
    });

    el.answers.hidden = shown.length === 0;
    el.hint.hidden = shown.length === 0;
    el.hintMax.textContent = String(shown.length);
    el.reveal.hidden = !(item.right && !item.choices);
    el.next.hidden = true;
    if (!item.right) {
      // Nothing to answer or reveal: just a card to read.
      done = true;
      el.next.hidden = false;
    }
    updateProgress();
  }

  function answer(choiceIndex) {
    const item = items[index];
    if (done || !item || !item.choices || choiceIndex < 0 || choiceIndex >= shown.length) return;
    done = true;
    const picked = shown[choiceIndex];
    const correct = picked === item.right;
    if (correct) score += 1;

    el.answers.querySelectorAll("button.answer").forEach((button, i) => {
      button.disabled = true;
      if (shown[i] === item.right) button.classList.add("right");
      if (i === choiceIndex) button.classList.add("chosen", correct ? "right" : "wrong");
    });
    el.feedback.className = "feedback " + (correct ? "is-right" : "is-wrong");
    el.feedback.textContent = correct ? msgCorrect : msgWrong + " " + withStop(item.right);
    el.next.hidden = false;
    updateProgress();
    el.next.focus();
  }

  function reveal() {
    const item = items[index];
    if (done || !item || !item.right) return;
    done = true;
    el.feedback.className = "feedback is-reveal";
    el.feedback.textContent = item.right;
    el.reveal.hidden = true;
    el.next.hidden = false;
    updateProgress();
    el.next.focus();
  }

  function next() {
    if (!done) return;
    index += 1;
    if (index >= items.length) {
      showResult();
      return;
    }
    render();
    el.question.focus();
  }

  function showResult() {
    el.quiz.hidden = true;
    el.result.hidden = false;
    if (scoredTotal > 0) {
      el.finalScore.textContent = score + " / " + scoredTotal;
      const share = score / scoredTotal;
      el.verdict.textContent =
        share === 1
          ? "Perfect score!"
          : share >= 0.7
            ? "Great job!"
            : share >= 0.4
              ? "Not bad. Play again to beat it."
              : "Keep practising: you'll get there.";
      const best = Math.max(loadBest(), score);
      saveBest(best);
      el.best.textContent = "Best: " + best + " / " + scoredTotal;
      el.best.hidden = false;
    } else {
      el.finalScore.textContent = items.length + " / " + items.length;
      el.verdict.textContent = "All cards reviewed.";
      el.best.hidden = true;
    }
    el.resultTitle.focus();
  }

  function restart() {
    index = 0;
    score = 0;
    el.result.hidden = true;
    el.quiz.hidden = false;
    render();
    el.question.focus();
  }

  el.reveal.addEventListener("click", reveal);
  el.next.addEventListener("click", next);
  el.restart.addEventListener("click", restart);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    const onButton = event.target.closest && event.target.closest("button");
    if (!el.result.hidden) {
      if (event.key === "Enter" && !onButton) {
        event.preventDefault();
        restart();
      }
      return;
    }
    if (!items.length) return;
    if (/^[1-9]$/.test(event.key)) {
      answer(Number(event.key) - 1);
      return;
    }
    if (event.key === "Enter" && !onButton) {
      event.preventDefault();
      if (!el.next.hidden) next();
      else if (!el.reveal.hidden) reveal();
    }
  });

  if (!items.length) {
    el.question.textContent = "No questions yet.";
    el.progressText.textContent = "0 / 0";
    el.scoreChip.hidden = true;
    el.answers.hidden = true;
    el.hint.hidden = true;
  } else {
    render();
  }
})();
