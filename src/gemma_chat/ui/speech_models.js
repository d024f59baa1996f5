// The model picker's "Speech to text" section: the Whisper models dictation can use, with
// size, speed and languages; Download (the server's pull jobs, with progress) and Use.
// Kept apart from models.js: it has its own list, downloads and choice.

import { api, streamSpeechPull } from './api.js';
import { el } from './dom.js';
import { formatBytes } from './format.js';

/** GET /api/speech/models answer, and downloads by id (they survive closing the picker). */
const state = { models: [], fetched: false, error: null, using: null };
const downloads = new Map();

const text = (tag, attrs, value) => {
  const node = el(tag, attrs);
  node.textContent = value;
  return node;
};

export class SpeechModels {
  /** `picker`: the ModelPicker, for its render, progress bars and size formatting. */
  constructor(picker, { onError }) {
    Object.assign(this, { picker, onError });
  }

  async refresh() {
    try {
      const data = await api.speechModels();
      state.models = data.models ?? [];
      state.fetched = true;
      state.error = null;
      for (const model of state.models) {
        if (model.pull && !downloads.has(model.id)) this.download(model.id, model.pull);
      }
    } catch (e) {
      state.error = e.message;
    }
    this.repaint();
  }

  repaint() {
    if (this.picker.isOpen) this.picker.render();
  }

  section() {
    const section = this.picker.section(
      'Speech to text',
      'speech-models',
      'Whisper models for the microphone',
    );
    const list = el('div', { class: 'mp-list', role: 'list' });
    if (!state.fetched) {
      list.append(
        state.error
          ? text('p', { class: 'mp-empty' }, `Could not list speech models: ${state.error}`)
          : this.picker.placeholder('Looking at speech models…'),
      );
    }
    for (const model of state.models) list.append(this.row(model));
    list.addEventListener('click', (e) => this.onClick(e));
    section.append(list);
    return section;
  }

  row(model) {
    const job = downloads.get(model.id);
    const row = el('div', {
      class: 'mp-row catalogue speech',
      role: 'listitem',
      'data-speech-id': model.id,
      'data-testid': 'speech-row',
      'data-installed': String(Boolean(model.installed)),
      'data-active': String(Boolean(model.active)),
    });
    if (model.active) row.classList.add('selected');
    const main = el('div', { class: 'mp-main' });
    const name = el('span', { class: 'mp-name' });
    name.append(text('span', { class: 'mp-name-text' }, model.name || model.id));
    if (model.active) {
      name.append(text('span', { class: 'mp-tag', 'data-testid': 'speech-active' }, 'in use'));
    }
    name.append(text('span', { class: 'mp-tag' }, model.multilingual ? 'multilingual' : 'English'));
    const meta = [
      model.builtin ? 'Built in' : model.installed ? 'Downloaded' : null,
      model.size_bytes ? formatBytes(model.size_bytes) : null,
      model.speed,
    ].filter(Boolean);
    main.append(name, text('span', { class: 'mp-meta' }, meta.join(' · ')));
    if (job && ['running', 'cancelling', 'paused'].includes(job.status)) {
      main.append(this.picker.progressBlock(model.id, job));
    }
    if (job?.status === 'error') {
      const attrs = { class: 'mp-row-error', role: 'alert', 'data-testid': 'speech-error' };
      main.append(text('span', attrs, job.message));
    }
    const end = el('div', { class: 'mp-end' });
    const label = model.name || model.id;
    if (job?.status === 'running' || job?.status === 'cancelling') {
      end.append(
        this.button('Cancel', 'mp-btn sp-cancel', model.id, `Cancel downloading ${label}`, {
          disabled: job.status === 'cancelling',
        }),
      );
    } else if (!model.installed) {
      const again = { paused: 'Resume', error: 'Retry' }[job?.status] ?? 'Download';
      const size = model.size_bytes ? ` (${formatBytes(model.size_bytes)})` : '';
      end.append(
        this.button(again, 'mp-btn primary sp-download', model.id, `${again} ${label}${size}`),
      );
    } else if (!model.active) {
      end.append(
        this.button(
          state.using === model.id ? 'Switching…' : 'Use',
          'mp-btn sp-use',
          model.id,
          `Use ${label} for speech to text`,
          { disabled: Boolean(state.using) },
        ),
      );
    }
    row.append(main, end);
    return row;
  }

  button(label, cls, id, aria, { disabled = false } = {}) {
    const kind = cls.split(' ').pop();
    const button = el('button', {
      type: 'button',
      class: cls,
      'data-key': `${kind}:${id}`,
      'data-testid': kind,
      'aria-label': aria,
      disabled,
    });
    button.textContent = label;
    return button;
  }

  onClick(e) {
    const button = e.target.closest('button');
    const id = button?.closest('[data-speech-id]')?.dataset.speechId;
    if (!id || button.disabled) return;
    e.stopPropagation(); // the picker's own click handler has nothing to do here
    if (button.matches('.sp-download')) this.download(id);
    else if (button.matches('.sp-cancel')) this.cancel(id);
    else if (button.matches('.sp-use')) this.use(id);
  }

  async download(id, progress = null) {
    const existing = downloads.get(id);
    if (existing && ['running', 'cancelling'].includes(existing.status)) return;
    const job = { status: 'running', progress: existing?.progress ?? progress, message: null };
    downloads.set(id, job);
    this.repaint();
    try {
      await streamSpeechPull(id, (name, data) => {
        if (name === 'progress') {
          job.progress = data;
          this.paintProgress(id, job);
        } else if (name === 'done') job.status = 'done';
        else if (name === 'cancelled') job.cancelled = true;
        else if (name === 'error') {
          job.status = 'error';
          job.message = data?.message || 'The download failed.';
        }
      });
      if (job.status === 'running' && !job.cancelled) {
        job.status = 'error';
        job.message = 'The download stopped unexpectedly.';
      }
    } catch (e) {
      job.status = 'error';
      job.message = e.message || 'The download failed.';
    }
    if (downloads.get(id) !== job) return;
    if (job.cancelled) {
      job.status = 'paused'; // the partial files stay; the next download resumes them
    } else if (job.status === 'done') {
      downloads.delete(id);
      await this.refresh();
      return;
    }
    this.repaint();
  }

  paintProgress(id, job) {
    if (!this.picker.isOpen) return;
    const row = this.picker.panel.querySelector(`[data-speech-id="${CSS.escape(id)}"]`);
    const box = row?.querySelector('.mp-progress');
    if (box) this.picker.fillProgress(box, job);
    else if (row) this.repaint();
  }

  async cancel(id) {
    const job = downloads.get(id);
    if (!job) return;
    job.cancelled = true;
    job.status = 'cancelling';
    this.repaint();
    try {
      await api.cancelSpeechPull(id);
    } catch (e) {
      job.cancelled = false;
      job.status = 'running';
      this.onError?.(`Could not cancel the download: ${e.message}`);
      this.repaint();
    }
  }

  async use(id) {
    if (state.using) return;
    state.using = id;
    this.repaint();
    try {
      await api.useSpeechModel(id);
    } catch (e) {
      this.onError?.(`Could not switch speech to text: ${e.message}`);
    } finally {
      state.using = null;
    }
    await this.refresh();
  }
}
