// A dismissible error toast above the composer, for failed requests (HTTP 4xx/5xx, offline).
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
    this.root.innerHTML =
      `${icons.alert}<span class="toast-text"></span>` +
      `<button type="button" class="icon-btn sm toast-close" aria-label="Dismiss">${icons.close}</button>`;
    this.root.querySelector('.toast-text').textContent = message;
    this.root.hidden = false;
    clearTimeout(this.timer);
    if (timeout) this.timer = setTimeout(() => this.hide(), timeout);
  }

  hide() {
    clearTimeout(this.timer);
    this.root.hidden = true;
  }
}
