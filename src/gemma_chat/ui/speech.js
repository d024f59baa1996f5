// Reading replies aloud with the browser's speech synthesis (the operating system's own
// voices, offline). One reading at a time; speaking into the mic in voice mode cancels it.

/** A rendered reply's words as they should be heard: no code, no markdown syntax. */
export function spokenText(element) {
  const copy = element.cloneNode(true);
  copy.querySelectorAll('pre, .code-block, .copy-code, script, style').forEach((n) => n.remove());
  copy.querySelectorAll('p, li, h1, h2, h3, h4, h5, h6, tr, blockquote').forEach((n) =>
    n.append(' '),
  );
  return (copy.textContent || '').replace(/\s+/g, ' ').trim();
}

export class Speaker {
  constructor() {
    this.current = null; // {utterance, onEnd}
  }

  get available() {
    return typeof window.speechSynthesis !== 'undefined' && typeof SpeechSynthesisUtterance !== 'undefined';
  }

  get speaking() {
    return Boolean(this.current);
  }

  /** Read `text`; onEnd runs once when it finishes or is cancelled. Returns false if it can't. */
  speak(text, { onEnd } = {}) {
    this.cancel();
    if (!this.available || !text) return false;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || navigator.language || 'en';
    const entry = { utterance, onEnd };
    const done = () => {
      if (this.current !== entry) return;
      this.current = null;
      entry.onEnd?.();
    };
    utterance.addEventListener('end', done);
    utterance.addEventListener('error', done);
    this.current = entry;
    window.speechSynthesis.speak(utterance);
    return true;
  }

  /** Stop the reading, if any. */
  cancel() {
    const entry = this.current;
    if (!entry) return false;
    this.current = null;
    window.speechSynthesis.cancel();
    entry.onEnd?.();
    return true;
  }
}

export const speaker = new Speaker();
