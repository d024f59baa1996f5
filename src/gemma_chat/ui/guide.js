// Build mode on the built-in model: one line at the top of the canvas that says what this
// tiny model can do (start from a kit and put your words on it) and offers the Gemma 4
// model that would do more on this machine, with a one-click download that switches the
// conversation to it when done. The recommendation is the server's (`recommended` in
// GET /api/models), the same one `gemma-chat doctor` prints.

import { api, streamPull } from './api.js';
import { formatBytes } from './format.js';

const BUILT_IN = new Set(['embedded']);

export class ModelGuide {
  /**
   * @param {HTMLElement} root  the canvas's guide slot
   * @param {{onUse: (spec: string, name: string) => Promise<boolean>, toast: any}} options
   */
  constructor(root, { onUse, toast }) {
    this.root = root;
    this.onUse = onUse;
    this.toast = toast;
    this.recommended = undefined; // undefined: not asked yet; null: none for this machine
    this.pulling = null; // {controller}
    this.root.innerHTML =
      '<span class="guide-text"></span>' +
      '<button type="button" class="chip-btn guide-action" data-testid="guide-download"></button>' +
      '<div class="guide-progress" hidden><i></i></div>';
    this.text = this.root.querySelector('.guide-text');
    this.button = this.root.querySelector('.guide-action');
    this.bar = this.root.querySelector('.guide-progress');
    this.button.addEventListener('click', () => this.act());
  }

  /** Show or hide for the open conversation's mode and model. */
  async update({ mode, spec }) {
    const show = mode === 'build' && BUILT_IN.has(spec ?? 'embedded');
    this.root.hidden = !show;
    if (!show || this.pulling) return;
    if (this.recommended === undefined) {
      try {
        this.recommended = (await api.models())?.recommended ?? null;
      } catch {
        this.recommended = null;
      }
    }
    this.render();
  }

  render() {
    const rec = this.recommended;
    const can = 'Built-in demo model: starts from a kit and puts your words on it.';
    if (!rec) {
      this.text.textContent = `${can} A Gemma 4 model (model picker) can build any app.`;
      this.button.hidden = true;
      return;
    }
    const facts = [rec.size_bytes ? formatBytes(rec.size_bytes) : null, rec.verdict];
    if (rec.tokens_per_s) facts.push(`~${Math.round(rec.tokens_per_s)} tok/s`);
    this.text.innerHTML = '';
    this.text.append(`${can} `);
    const name = document.createElement('strong');
    name.textContent = rec.name;
    this.text.append(name, ` builds any app (${facts.filter(Boolean).join(' · ')}).`);
    this.text.title = rec.why || '';
    this.button.hidden = false;
    this.button.textContent = rec.installed ? `Use ${rec.name}` : 'Download and switch';
  }

  async act() {
    const rec = this.recommended;
    if (!rec) return;
    if (this.pulling) {
      this.pulling.controller.abort();
      return;
    }
    if (rec.installed) {
      await this.onUse(rec.spec, rec.name);
      return;
    }
    const controller = new AbortController();
    this.pulling = { controller };
    this.button.textContent = 'Cancel';
    this.bar.hidden = false;
    const fill = this.bar.querySelector('i');
    let finished = null;
    try {
      await streamPull(
        rec.spec,
        rec.quant,
        (event, data) => {
          if (event === 'progress' && data.total) {
            fill.style.width = `${Math.min(100, (100 * data.downloaded) / data.total).toFixed(1)}%`;
            this.text.textContent = `Downloading ${rec.name}… ${formatBytes(data.downloaded)} of ${formatBytes(data.total)}`;
          } else if (event === 'done') {
            finished = data.model?.spec || rec.spec;
          } else if (event === 'error') {
            throw new Error(data.message || 'The download failed.');
          }
        },
        controller.signal,
      );
    } catch (e) {
      if (e.name !== 'AbortError') this.toast?.error(`Couldn't download ${rec.name}: ${e.message}`);
    } finally {
      this.pulling = null;
      this.bar.hidden = true;
      fill.style.width = '0';
    }
    if (finished) {
      rec.installed = true;
      if (await this.onUse(finished, rec.name)) return;
    }
    this.render();
  }
}
