// A dismissible toast above the composer: failed requests (HTTP 4xx/5xx, offline) and,
// with info(), results such as an import's report.
import { icons } from './icons.js';

export class Toast {
  constructor(root) {
    this.root = root;
    this.timer = 0;
    root.addEventListener('click', (e) => {
      if (e.target.closest('.toast-close')) this.hide();
    });
  }

  error(message, { timeout = 8000 } = {}) {
    this.show(message, icons.alert, timeout);
  }

  /** A result or progress note (not a failure): the same place, calmer colours. */
  info(message, { timeout = 8000 } = {}) {
    this.show(message, icons.check, timeout, 'info');
  }

  show(message, icon, timeout, kind = 'error') {
    this.root.innerHTML =
      `${icon}<span class="toast-text"></span>` +
      `<button type="button" class="icon-btn sm toast-close" aria-label="Dismiss">${icons.close}</button>`;
    this.root.querySelector('.toast-text').textContent = message;
    this.root.classList.toggle('info', kind === 'info');
    this.root.dataset.kind = kind;
    this.root.hidden = false;
    clearTimeout(this.timer);
    if (timeout) this.timer = setTimeout(() => this.hide(), timeout);
  }

  hide() {
    clearTimeout(this.timer);
    this.root.hidden = true;
  }
}
