// Export and import (docs/api.md, Export and import): the header's Export menu (this
// conversation as Markdown or JSON), and the sidebar's "Export all data" and "Import…".
// Results and failures go to the toast.

import { fetchOk } from './api.js';
import { formatBytes } from './format.js';

/** The file name the server chose (RFC 5987 filename* first), else `fallback`. */
export function filenameFrom(disposition, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition || '');
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      /* a malformed escape: use the plain name */
    }
  }
  const plain = /filename="([^"]+)"/i.exec(disposition || '');
  return plain ? plain[1] : fallback;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

const plural = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** "Imported 2 conversations (6 messages, 1 attachment, 1 project)." and what was skipped. */
export function importSummary(report) {
  const n = report.imported || {};
  const parts = [plural(n.messages || 0, 'message')];
  if (n.attachments) parts.push(plural(n.attachments, 'attachment'));
  if (n.projects) parts.push(plural(n.projects, 'project'));
  let text = n.conversations
    ? `Imported ${plural(n.conversations, 'conversation')} (${parts.join(', ')}).`
    : 'Nothing was imported.';
  const skipped = report.skipped_total || 0;
  if (skipped) {
    const first = report.skipped[0];
    const more = skipped > 1 ? `, and ${(skipped - 1).toLocaleString()} more` : '';
    text += ` Skipped ${plural(skipped, 'item')}: ${first.item} (${first.reason})${more}.`;
  }
  return text;
}

export class Transfer {
  /**
   * `current()`: the open conversation `{id, title}` or null; `onImported(report)` runs
   * after an import (refresh the list, open what came in).
   */
  constructor({ toast, current, onImported, exportButton, exportMenu, importButton, exportAll, fileInput }) {
    Object.assign(this, { toast, current, onImported });
    this.button = exportButton;
    this.menu = exportMenu;
    this.importButton = importButton;
    this.exportAllLink = exportAll;
    this.input = fileInput;
    this.busy = false;

    this.button.setAttribute('aria-haspopup', 'menu');
    this.button.setAttribute('aria-expanded', 'false');
    this.button.addEventListener('click', () => (this.menu.hidden ? this.open() : this.close()));
    this.button.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.open(e.key === 'ArrowUp' ? -1 : 0);
      }
    });
    this.menu.addEventListener('click', (e) => {
      const item = e.target.closest('[data-format]');
      if (!item) return;
      this.close();
      this.exportConversation(item.dataset.format);
    });
    this.menu.addEventListener('keydown', (e) => this.onMenuKey(e));
    document.addEventListener('click', (e) => {
      if (!this.menu.hidden && !e.composedPath().some((n) => n === this.menu || n === this.button))
        this.close({ focus: false });
    });

    this.importButton.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      const file = this.input.files?.[0];
      this.input.value = ''; // the same file again is a new choice
      if (file) this.importFile(file);
    });
    this.exportAllLink.addEventListener('click', () => {
      // The browser downloads the zip itself (it may be large): the server sends it as an
      // attachment, so the page stays. Say what happens, as building it takes a moment.
      this.toast.info('Preparing your export… the download starts when the archive is ready.', {
        timeout: 6000,
      });
    });
  }

  items() {
    return [...this.menu.querySelectorAll('[role="menuitem"]')];
  }

  open(index = 0) {
    if (!this.current()) return;
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    const items = this.items();
    items.at(index)?.focus();
  }

  close({ focus = true } = {}) {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (focus) this.button.focus();
  }

  onMenuKey(e) {
    const items = this.items();
    const at = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.close();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      items[(at + step + items.length) % items.length].focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      items.at(e.key === 'Home' ? 0 : -1).focus();
    } else if (e.key === 'Tab') {
      this.close({ focus: false });
    }
  }

  async exportConversation(format) {
    const conv = this.current();
    if (!conv) return;
    const label = format === 'json' ? 'JSON' : 'Markdown';
    const url = `/api/conversations/${encodeURIComponent(conv.id)}/export?format=${format}`;
    let res;
    try {
      res = await fetchOk(url, { headers: { Accept: '*/*' } });
    } catch (e) {
      const what = e.status === 0 ? '' : ` “${conv.title}”`; // offline: no title, as before
      this.toast.error(`Couldn't export${what}: ${e.message}`);
      return;
    }
    const blob = await res.blob();
    const name = filenameFrom(res.headers.get('Content-Disposition'), `conversation.${format}`);
    saveBlob(blob, name);
    this.toast.info(`Exported “${conv.title}” as ${label} (${name}, ${formatBytes(blob.size)}).`);
  }

  async importFile(file) {
    if (this.busy) return;
    this.busy = true;
    this.importButton.setAttribute('aria-busy', 'true');
    this.importButton.disabled = true;
    this.toast.info(`Importing ${file.name}…`, { timeout: 0 });
    const body = new FormData();
    body.append('file', file, file.name);
    try {
      const res = await fetchOk('/api/import', {
        method: 'POST',
        body,
        headers: { Accept: 'application/json' },
      });
      const report = await res.json();
      try {
        await this.onImported?.(report); // may open a conversation (which clears the toast)
      } finally {
        this.toast.info(importSummary(report), { timeout: 12000 });
      }
    } catch (e) {
      this.toast.error(`Couldn't import ${file.name}: ${e.message}`, { timeout: 12000 });
    } finally {
      this.busy = false;
      this.importButton.disabled = false;
      this.importButton.removeAttribute('aria-busy');
    }
  }
}
