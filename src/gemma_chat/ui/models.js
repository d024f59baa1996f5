// The model picker: what is on this computer, the Gemma catalogue (downloads with live
// progress), local engines and any custom spec. The header's model pill opens it, as does
// Ctrl/Cmd+Shift+M. Switching itself (load, then PATCH the open conversation) is app.js's
// job; this module shows the choices and reports the one picked.
import { api, streamPull } from './api.js';
import { confirmDialog } from './confirm.js';
import { icons, svg } from './icons.js';
import { el } from './dom.js';
import { formatBytes, formatDuration } from './format.js';
import { SpeechModels } from './speech_models.js';

// --- what the server knows about models (GET /api/models), shared by the whole UI ---------

export const modelInfo = {
  list: [], // Model objects, docs/api.md
  active: null, // the server's default spec for new conversations
  resident: [], // specs in this process's memory
  fetched: false,
  error: null, // why the last fetch failed
  find(spec) {
    return spec ? (this.list.find((m) => m.spec === spec) ?? null) : null;
  },
};

const listeners = new Set();
let fetchSeq = 0;

/** Call fn() whenever the model list changes. */
export function onModelsChange(fn) {
  listeners.add(fn);
}

/** Re-read GET /api/models; the newest answer wins when calls overlap. */
export async function refreshModels() {
  const seq = ++fetchSeq;
  try {
    const data = await api.models();
    if (seq !== fetchSeq) return modelInfo;
    modelInfo.list = Array.isArray(data.models) ? data.models : [];
    modelInfo.active = data.active ?? null;
    modelInfo.resident = data.resident ?? [];
    modelInfo.recommended = data.recommended ?? null; // the same pick as `gemma-chat doctor`
    modelInfo.fetched = true;
    modelInfo.error = null;
  } catch (e) {
    if (seq !== fetchSeq) return modelInfo;
    modelInfo.error = e.message || 'Could not list the models.';
  }
  for (const fn of listeners) fn();
  return modelInfo;
}

/** A short spec for display: file specs lose their folders ("gguf:model.gguf"). */
export function shortSpec(spec) {
  return String(spec ?? '').replace(/^(gguf|replay):.*[\\/]/, '$1:');
}

/** The model's name where the server listed it, otherwise its short spec. */
export function modelLabel(spec) {
  return modelInfo.find(spec)?.name || shortSpec(spec);
}

// --- formatting -----------------------------------------------------------------------------

/** "1 min left"; never "0 s left" while something is still to come. */
export function formatEta(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '';
  return `${formatDuration(Math.max(1, seconds))} left`;
}

function formatContext(n) {
  if (!n) return '';
  if (n < 1024) return `${n.toLocaleString()} context`;
  return `${Math.round(n / 1024)}K context`;
}

function formatParams(b) {
  if (!b) return '';
  return b < 1 ? `${Math.round(b * 1000)}M` : `${Number(b.toFixed(1))}B`;
}

/** "1.2 GB of 5.1 GB · 48 MB/s · 1 min left" and the percentage, from a progress event. */
export function describeProgress(p) {
  if (!p) return { pct: null, text: 'Starting…' };
  const total = Number(p.total) || 0;
  const done = Number(p.downloaded) || 0;
  const pct = total ? Math.min(100, Math.max(0, (done / total) * 100)) : null;
  const parts = [];
  if (p.phase && !/^(download|done|error)/i.test(p.phase)) {
    parts.push(p.phase.charAt(0).toUpperCase() + p.phase.slice(1).replace(/_/g, ' ') + '…');
  }
  if (total) parts.push(`${formatBytes(done)} of ${formatBytes(total)}`);
  else if (done) parts.push(formatBytes(done));
  if (p.bytes_per_s) parts.push(`${formatBytes(p.bytes_per_s)}/s`);
  const eta = formatEta(p.eta_s);
  if (eta) parts.push(eta);
  return { pct, text: parts.join(' · ') || 'Starting…' };
}

// --- icons ----------------------------------------------------------------------------------

const MODALITY = {
  text: ['Text', svg('<path d="M4 7V5h16v2"/><path d="M12 5v14"/><path d="M9 19h6"/>', 12)],
  image: [
    'Images',
    svg(
      '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/>' +
        '<path d="m21 16-5-5-9 9"/>',
      12,
    ),
  ],
  audio: [
    'Audio',
    svg('<path d="M3 10v4M7 6v12M11 3v18M15 8v8M19 10v4"/>', 12),
  ],
  video: [
    'Video',
    svg('<rect x="2" y="6" width="14" height="12" rx="2"/><path d="m22 8-6 4 6 4Z"/>', 12),
  ],
};

const ICON = {
  check: svg('<path d="M20 6 9 17l-5-5"/>', 15),
  download: svg('<path d="M12 4v11"/><path d="m7 10 5 5 5-5"/><path d="M5 20h14"/>', 14),
  trash: icons.trash,
  alert: icons.alert,
};

const ENGINE_NAMES = {
  ollama: 'Ollama',
  'lm-studio': 'LM Studio',
  'llama-server': 'llama-server',
  vllm: 'vLLM',
  mlx: 'MLX',
  'llama-cpp-python': 'llama.cpp (built in)',
};

const FIT = {
  fits: ['fits', 'fits'],
  tight: ['tight', 'tight'],
  wont_fit: ["won't fit", 'wont-fit'],
};

// --- downloads: module-level, so progress survives closing and reopening the picker --------

/** catalogue id → {status: running|cancelling|paused|error, progress, message} */
export const downloads = new Map();

const thinksTag = () =>
  el('span', { class: 'mp-tag think', title: 'Can think before answering' }, 'thinks');

const escapeAttr = (s) => String(s).replace(/["\\]/g, '\\$&');

function modalities(list) {
  const box = el('span', { class: 'mp-modalities' });
  for (const m of list ?? []) {
    const [label, icon] = MODALITY[m] ?? [m, ''];
    const chip = el('span', { class: 'mp-modality', title: label, 'data-modality': m });
    chip.innerHTML = `${icon}<span class="sr-only">${label}</span>`;
    box.append(chip);
  }
  return box;
}

function metaLine(parts) {
  const line = el('span', { class: 'mp-meta' });
  parts.filter(Boolean).forEach((part, i) => {
    if (i) line.append(el('span', { class: 'mp-sep', 'aria-hidden': 'true' }, '·'));
    if (typeof part === 'string') {
      const span = el('span');
      span.textContent = part;
      line.append(span);
    } else {
      line.append(part);
    }
  });
  return line;
}

/**
 * The picker popover. `onChoose(spec, name)` does the switch and resolves true on success;
 * `current()` names the spec the header shows (the open conversation's or the default).
 */
export class ModelPicker {
  constructor({ menu, pill, dialog, current, onChoose, onError }) {
    Object.assign(this, { menu, pill, dialog, current, onChoose, onError });
    this.panel = el('div', {
      class: 'model-picker',
      id: 'model-picker',
      role: 'dialog',
      'aria-label': 'Choose a model',
      'data-testid': 'model-picker',
      tabindex: '-1',
      hidden: true,
    });
    menu.append(this.panel);
    pill.setAttribute('aria-controls', this.panel.id);
    pill.setAttribute('aria-haspopup', 'dialog');
    pill.setAttribute('aria-expanded', 'false');
    this.loading = null; // the spec being switched to
    this.engines = null; // GET /api/models/engines answer, once fetched
    this.enginesError = null;
    this.enginesLoading = false;
    this.custom = '';
    this.flash = null; // a spec that just arrived (download done): highlight it once
    this.speech = new SpeechModels(this, { onError }); // Whisper models

    pill.addEventListener('click', () => this.toggle());
    this.panel.addEventListener('keydown', (e) => this.onKey(e));
    this.panel.addEventListener('click', (e) => this.onClick(e));
    this.panel.addEventListener('input', (e) => {
      if (e.target.matches('.mp-custom-input')) this.custom = e.target.value;
    });
    this.panel.addEventListener('submit', (e) => {
      e.preventDefault();
      // A typed spec is named as typed (the toast quotes it if it fails), not shortened.
      const spec = this.custom.trim();
      if (spec) this.choose(spec, spec);
    });
    document.addEventListener('click', (e) => {
      if (!this.isOpen) return;
      // The path as dispatched: a click that re-rendered its own row still counts as inside.
      const inside = e
        .composedPath()
        .some((node) => node === menu || node.tagName === 'DIALOG' || node.id === 'toast');
      if (!inside) this.close({ focus: false });
    });
    onModelsChange(() => {
      this.rejoin();
      if (this.isOpen) this.render();
    });
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  open() {
    if (this.isOpen) return;
    this.panel.hidden = false;
    this.pill.setAttribute('aria-expanded', 'true');
    this.render();
    this.focusInitial();
    refreshModels();
    this.loadEngines();
    this.speech.refresh();
  }

  /** Esc and outside clicks land here; returns whether it was open. */
  close({ focus = true } = {}) {
    if (!this.isOpen) return false;
    this.panel.hidden = true;
    this.pill.setAttribute('aria-expanded', 'false');
    if (focus) this.pill.focus();
    return true;
  }

  /** The app's model changed (a switch elsewhere, a conversation opened): show it. */
  update() {
    if (this.isOpen) this.render();
  }

  async loadEngines() {
    if (this.enginesLoading) return;
    this.enginesLoading = true;
    if (this.isOpen) this.render();
    try {
      this.engines = (await api.engines()).engines ?? [];
      this.enginesError = null;
    } catch (e) {
      this.enginesError = e.message;
    } finally {
      this.enginesLoading = false;
      if (this.isOpen) this.render();
    }
  }

  // --- keyboard ------------------------------------------------------------------------------

  focusables() {
    return [...this.panel.querySelectorAll('button:not(:disabled), input:not(:disabled)')].filter(
      (node) => node.offsetParent !== null,
    );
  }

  focusInitial() {
    const current = this.panel.querySelector('.mp-choose[aria-current="true"]');
    (current || this.focusables()[0] || this.panel).focus();
  }

  onKey(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.close();
      return;
    }
    const items = this.focusables();
    if (!items.length) return;
    const at = items.indexOf(document.activeElement);
    const typing = document.activeElement?.matches?.('input');
    const go = (i) => {
      e.preventDefault();
      items[(i + items.length) % items.length].focus();
    };
    if (e.key === 'Tab') {
      // Keep focus inside the popover while it is open.
      if (e.shiftKey && at <= 0) go(items.length - 1);
      else if (!e.shiftKey && at === items.length - 1) go(0);
    } else if (e.key === 'ArrowDown' && !typing) go(at + 1);
    else if (e.key === 'ArrowUp') go(at < 0 ? items.length - 1 : at - 1);
    else if (e.key === 'Home' && !typing) go(0);
    else if (e.key === 'End' && !typing) go(items.length - 1);
  }

  // --- actions -------------------------------------------------------------------------------

  onClick(e) {
    const button = e.target.closest('button');
    if (!button || button.disabled) return;
    const row = button.closest('[data-spec]');
    const spec = row?.dataset.spec;
    if (button.matches('.mp-choose')) this.choose(spec, button.dataset.name || shortSpec(spec));
    else if (button.matches('.mp-download')) this.download(spec);
    else if (button.matches('.mp-cancel')) this.cancel(spec);
    else if (button.matches('.mp-delete')) this.remove(spec);
    else if (button.matches('.mp-retry-list')) {
      refreshModels();
      this.loadEngines();
    } else if (button.matches('.mp-template')) {
      this.custom = button.dataset.prefix;
      this.render();
      const input = this.panel.querySelector('.mp-custom-input');
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    }
  }

  async choose(spec, name) {
    if (!spec || this.loading) return;
    if (spec === this.current() && spec === modelInfo.active) {
      this.close();
      return;
    }
    this.loading = spec;
    this.render();
    let ok = false;
    try {
      ok = await this.onChoose(spec, name);
    } finally {
      this.loading = null;
    }
    if (ok) {
      if (spec === this.custom.trim()) this.custom = '';
      this.close();
    } else if (this.isOpen) {
      this.render();
    }
  }

  /** Downloads the server is running that this page is not watching (after a reload). */
  rejoin() {
    for (const model of modelInfo.list) {
      if (model.pull && !downloads.has(model.spec)) {
        this.download(model.spec, { join: true, progress: model.pull });
      }
    }
  }

  async download(id, { join = false, progress = null } = {}) {
    const model = modelInfo.find(id);
    const existing = downloads.get(id);
    if (existing && (existing.status === 'running' || existing.status === 'cancelling')) return;
    if (model?.fit?.verdict === 'wont_fit' && !existing && !join) {
      const ok = await confirmDialog(this.dialog, {
        title: `${model.name} may not fit`,
        body:
          `${model.fit.message || 'This model needs more memory than this computer has free.'} ` +
          'It may fail to load or run very slowly. Download it anyway?',
        confirmLabel: 'Download anyway',
      });
      if (!ok) return;
    }
    const job = { status: 'running', progress: existing?.progress ?? progress, message: null };
    downloads.set(id, job);
    this.render();
    try {
      await streamPull(id, join ? (progress?.quant ?? null) : null, (name, data) => {
        if (name === 'progress') {
          job.progress = data;
          this.paintProgress(id);
        } else if (name === 'done') {
          job.status = 'done';
          job.model = data?.model;
        } else if (name === 'cancelled') {
          job.cancelled = true; // from this page or another: the partial file stays
        } else if (name === 'error') {
          job.status = 'error';
          job.message = data?.message || 'The download failed.';
        }
      });
      if (job.status === 'running') {
        job.status = 'error';
        job.message = 'The download stopped unexpectedly.';
      }
    } catch (e) {
      job.status = 'error';
      job.message = e.message || 'The download failed.';
    }
    if (downloads.get(id) !== job) return;
    if (job.cancelled) {
      // The partial file stays on disk; the next download resumes it.
      job.status = 'paused';
      job.message = null;
    } else if (job.status === 'done') {
      downloads.delete(id);
      this.flash = id;
      await refreshModels();
    }
    this.render();
  }

  async cancel(id) {
    const job = downloads.get(id);
    if (!job) return;
    if (job.status !== 'running') {
      downloads.delete(id); // dismiss a failed or paused download
      this.render();
      return;
    }
    job.cancelled = true;
    job.status = 'cancelling';
    this.render();
    try {
      await api.cancelPull(id);
    } catch (e) {
      job.cancelled = false;
      if (job.status === 'cancelling') job.status = 'running';
      this.onError?.(`Could not cancel the download: ${e.message}`);
      this.render();
    }
  }

  async remove(id) {
    const model = modelInfo.find(id);
    const size = formatBytes(model?.download_bytes);
    const ok = await confirmDialog(this.dialog, {
      title: `Delete ${model?.name || id}?`,
      body:
        `Its files will be removed from this computer${size ? ` (${size})` : ''}. ` +
        'You can download it again later.',
    });
    if (!ok) return;
    try {
      await api.deleteModel(id);
    } catch (e) {
      this.onError?.(`Could not delete ${model?.name || id}: ${e.message}`);
      return;
    }
    await refreshModels();
  }

  // --- rendering -----------------------------------------------------------------------------

  /** Rebuild the panel, keeping focus, scroll position and what was typed. */
  render() {
    const active = document.activeElement;
    const hadFocus = this.panel.contains(active);
    const key = hadFocus ? active?.dataset.key : null;
    const rowSpec = hadFocus ? active?.closest('[data-spec]')?.dataset.spec : null;
    const caret = active?.matches?.('input') ? [active.selectionStart, active.selectionEnd] : null;
    const scroll = this.panel.querySelector('.mp-body')?.scrollTop ?? 0;

    const head = el('div', { class: 'mp-head' });
    const title = el('h2', { class: 'mp-title' });
    title.textContent = 'Models';
    head.append(title);
    if (modelInfo.active) {
      const sub = el('span', { class: 'mp-sub' });
      sub.append('Default for new chats: ', el('strong'));
      sub.lastChild.textContent = modelLabel(modelInfo.active);
      head.append(sub);
    }

    const body = el('div', { class: 'mp-body' });
    if (!modelInfo.fetched && !modelInfo.error) {
      body.append(this.placeholder('Looking at your models…'));
    } else if (modelInfo.error && !modelInfo.fetched) {
      body.append(this.failed(modelInfo.error));
    } else {
      body.append(this.localSection(), this.catalogueSection());
    }
    body.append(this.speech.section(), this.enginesSection(), this.customSection());
    this.panel.replaceChildren(head, body);
    this.flash = null;
    body.scrollTop = scroll;

    if (!hadFocus) return;
    // The same control again, else another in the same row, else the current model.
    const again =
      (key && this.panel.querySelector(`[data-key="${escapeAttr(key)}"]:not(:disabled)`)) ||
      (rowSpec &&
        this.panel.querySelector(`[data-spec="${escapeAttr(rowSpec)}"] button:not(:disabled)`));
    if (again) {
      again.focus();
      if (caret && again.matches('input')) again.setSelectionRange(...caret);
    } else {
      this.focusInitial();
    }
  }

  placeholder(text) {
    const box = el('div', { class: 'mp-placeholder' });
    box.innerHTML = '<span class="spinner" aria-hidden="true"></span>';
    box.append(text);
    return box;
  }

  failed(message) {
    const box = el('div', { class: 'mp-failed', role: 'alert' }, ICON.alert);
    const text = el('span');
    text.textContent = `Could not list the models: ${message}`;
    box.append(
      text,
      el('button', { type: 'button', class: 'mp-btn mp-retry-list', 'data-key': 'retry' }, 'Retry'),
    );
    return box;
  }

  section(titleText, testid, note) {
    const section = el('section', { class: 'mp-section', 'data-testid': testid });
    const h = el('h3', { class: 'mp-section-title' });
    h.textContent = titleText;
    if (note) {
      const n = el('span', { class: 'mp-section-note' });
      n.textContent = note;
      h.append(n);
    }
    section.append(h);
    return section;
  }

  localSection() {
    const current = this.current();
    const section = this.section('On this computer', 'models-local');
    const list = el('div', { class: 'mp-list', role: 'list' });
    const local = modelInfo.list.filter((m) => m.installed || m.source !== 'catalogue');
    // The current model first is not what people expect in a list; keep the server's order
    // but make sure the built-in model leads.
    local.sort((a, b) => (b.source === 'builtin') - (a.source === 'builtin'));
    for (const model of local) list.append(this.localRow(model, current));
    if (current && !modelInfo.find(current)) {
      const unknown = { spec: current, name: shortSpec(current), modalities: [] };
      list.prepend(this.localRow(unknown, current));
    }
    if (!list.childElementCount) {
      list.append(el('p', { class: 'mp-empty' }, 'Nothing downloaded yet.'));
    }
    section.append(list);
    return section;
  }

  localRow(model, current) {
    const selected = model.spec === current;
    const loading = this.loading === model.spec;
    const row = el('div', {
      class: 'mp-row',
      role: 'listitem',
      'data-spec': model.spec,
      'data-testid': 'model-row',
      'data-source': model.source ?? 'custom',
    });
    if (selected) row.classList.add('selected');
    if (loading) row.classList.add('loading');
    if (this.flash === model.spec) row.classList.add('flash');
    const choose = el('button', {
      type: 'button',
      class: 'mp-choose',
      'data-key': `choose:${model.spec}`,
      'data-name': model.name || shortSpec(model.spec),
      'aria-current': selected ? 'true' : null,
      title: model.error ? `${model.spec}\n${model.error}` : model.spec,
    });
    const mark = el('span', { class: 'mp-mark', 'aria-hidden': 'true' });
    mark.innerHTML = loading ? '<span class="spinner"></span>' : selected ? ICON.check : '';
    const main = el('span', { class: 'mp-main' });
    const name = el('span', { class: 'mp-name' });
    const nameText = el('span', { class: 'mp-name-text' });
    nameText.textContent = model.name || shortSpec(model.spec);
    name.append(nameText);
    if (model.loaded) {
      name.append(
        el('span', { class: 'mp-loaded', title: 'Loaded in memory', 'data-testid': 'loaded-dot' }),
      );
      name.append(el('span', { class: 'sr-only' }, '(loaded)'));
    }
    if (model.spec === modelInfo.active && !selected) {
      name.append(el('span', { class: 'mp-tag' }, 'default'));
    }
    if (model.thinking) {
      name.append(thinksTag());
    }
    main.append(name);
    const sourceLabel =
      model.source === 'builtin'
        ? 'Built in'
        : model.source === 'custom' || model.source === 'installed'
          ? shortSpec(model.spec)
          : null;
    main.append(
      metaLine([
        model.modalities?.length ? modalities(model.modalities) : null,
        formatContext(model.context_length),
        formatParams(model.params_b),
        sourceLabel,
      ]),
    );
    if (model.error) {
      const err = el('span', { class: 'mp-row-error' });
      err.textContent = model.error;
      main.append(err);
    }
    if (loading) {
      main.append(el('span', { class: 'sr-only', role: 'status' }, 'Loading…'));
    }
    choose.append(mark, main);
    row.append(choose);
    const removable =
      (model.source === 'catalogue' && model.installed) || model.source === 'installed';
    if (removable && !selected && !loading) {
      row.append(
        el(
          'button',
          {
            type: 'button',
            class: 'icon-btn sm mp-delete danger',
            'data-key': `delete:${model.spec}`,
            'aria-label': `Delete ${model.name} from this computer`,
            title: 'Delete from this computer',
          },
          ICON.trash,
        ),
      );
    }
    return row;
  }

  catalogueSection() {
    const section = this.section('Gemma catalogue', 'models-catalogue', 'Download to use offline');
    const list = el('div', { class: 'mp-list', role: 'list' });
    const entries = modelInfo.list.filter((m) => m.source === 'catalogue' && !m.installed);
    for (const model of entries) list.append(this.catalogueRow(model));
    if (!entries.length) {
      list.append(el('p', { class: 'mp-empty' }, 'Every catalogue model is downloaded.'));
    }
    section.append(list);
    return section;
  }

  catalogueRow(model) {
    const job = downloads.get(model.spec);
    const row = el('div', {
      class: 'mp-row catalogue',
      role: 'listitem',
      'data-spec': model.spec,
      'data-testid': 'catalogue-row',
    });
    const main = el('div', { class: 'mp-main' });
    const name = el('span', { class: 'mp-name' });
    const nameText = el('span', { class: 'mp-name-text' });
    nameText.textContent = model.name;
    name.append(nameText);
    const fit = model.fit;
    if (fit?.verdict) {
      const [label, cls] = FIT[fit.verdict] ?? [fit.verdict, 'tight'];
      const badge = el('span', {
        class: `fit-badge ${cls}`,
        title: fit.message || label,
        'data-testid': 'fit-badge',
        'data-verdict': fit.verdict,
      });
      badge.textContent = label;
      name.append(badge);
    }
    const rec = modelInfo.recommended;
    if (rec && (rec.spec === model.spec || rec.spec === model.id)) {
      const best = el('span', {
        class: 'mp-tag recommended',
        title: rec.why || '',
        'data-testid': 'recommended-tag',
      });
      best.textContent = rec.fast_enough === false ? 'best here (slow)' : 'recommended';
      name.append(best);
    }
    if (model.thinking) {
      name.append(thinksTag());
    }
    main.append(name);
    const speed = model.tokens_per_s ? `~${Math.round(model.tokens_per_s)} tok/s here` : null;
    const params =
      model.active_params_b && model.active_params_b < model.params_b
        ? `${formatParams(model.params_b)} · ${formatParams(model.active_params_b)} active`
        : formatParams(model.params_b);
    main.append(
      metaLine([modalities(model.modalities), params]),
      metaLine([
        model.download_bytes ? `${formatBytes(model.download_bytes)} download` : null,
        // The context the app opens it with (fit.context), not the model's maximum.
        formatContext(fit?.context ?? model.context_length),
        speed,
      ]),
    );
    if (fit?.message && fit.verdict !== 'fits') {
      const msg = el('span', { class: `mp-fit-msg ${FIT[fit.verdict]?.[1] ?? ''}` });
      msg.textContent = fit.message;
      main.append(msg);
    }
    row.title = [model.description, model.licence].filter(Boolean).join('\n');

    const end = el('div', { class: 'mp-end' });
    if (job && ['running', 'cancelling', 'paused'].includes(job.status)) {
      main.append(this.progressBlock(model.spec, job));
    }
    if (job?.status === 'error') {
      const err = el('span', {
        class: 'mp-row-error',
        role: 'alert',
        'data-testid': 'download-error',
      });
      err.innerHTML = ICON.alert;
      err.append(document.createTextNode(job.message));
      main.append(err);
    }
    if (job?.status === 'running' || job?.status === 'cancelling') {
      end.append(
        el(
          'button',
          {
            type: 'button',
            class: 'mp-btn mp-cancel',
            'data-key': `cancel:${model.spec}`,
            'data-testid': 'cancel-download',
            disabled: job.status === 'cancelling',
            'aria-label': `Cancel downloading ${model.name}`,
          },
          job.status === 'cancelling' ? 'Cancelling…' : 'Cancel',
        ),
      );
    } else {
      const again = { paused: 'Resume', error: 'Retry' }[job?.status] ?? 'Download';
      const size = model.download_bytes ? ` (${formatBytes(model.download_bytes)})` : '';
      end.append(
        el(
          'button',
          {
            type: 'button',
            class: 'mp-btn primary mp-download',
            'data-key': `download:${model.spec}`,
            'data-testid': 'download-model',
            'aria-label': `${again} ${model.name}${size}`,
          },
          `${ICON.download}<span>${again}</span>`,
        ),
      );
    }
    row.append(main, end);
    return row;
  }

  progressBlock(id, job) {
    const box = el('div', { class: 'mp-progress', 'data-testid': 'download-progress' });
    box.dataset.status = job.status;
    const bar = el('div', {
      class: 'mp-bar',
      role: 'progressbar',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-label': 'Download progress',
    });
    bar.append(el('span', { class: 'mp-bar-fill' }));
    const text = el('div', { class: 'mp-progress-text' });
    text.append(el('span', { class: 'mp-pct', 'data-testid': 'download-percent' }));
    text.append(el('span', { class: 'mp-progress-detail', 'data-testid': 'download-detail' }));
    box.append(bar, text);
    this.fillProgress(box, job);
    return box;
  }

  fillProgress(box, job) {
    const { pct, text } = describeProgress(job.progress);
    const bar = box.querySelector('.mp-bar');
    const fill = box.querySelector('.mp-bar-fill');
    box.classList.toggle('indeterminate', pct == null && job.status === 'running');
    fill.style.width = pct == null ? '' : `${pct.toFixed(1)}%`;
    if (pct == null) bar.removeAttribute('aria-valuenow');
    else bar.setAttribute('aria-valuenow', String(Math.floor(pct)));
    box.querySelector('.mp-pct').textContent = pct == null ? '' : `${Math.floor(pct)}%`;
    const at = pct == null ? '' : ` at ${Math.floor(pct)}%`;
    const detail =
      job.status === 'paused'
        ? `Paused${at} · the next download resumes where it stopped`
        : job.status === 'cancelling'
          ? 'Cancelling…'
          : text;
    box.querySelector('.mp-progress-detail').textContent = detail;
    const p = job.progress;
    const file = p?.file || '';
    box.title =
      p?.files_total > 1
        ? `File ${Math.min(p.files_done + 1, p.files_total)} of ${p.files_total}` +
          (file ? `: ${file}` : '')
        : file;
  }

  /** A progress event: update that row's bar in place (no rebuild, so focus stays put). */
  paintProgress(id) {
    if (!this.isOpen) return;
    const job = downloads.get(id);
    const row = this.panel.querySelector(`.mp-row.catalogue[data-spec="${escapeAttr(id)}"]`);
    const box = row?.querySelector('.mp-progress');
    if (job && box) this.fillProgress(box, job);
    else if (job && row) this.render();
  }

  enginesSection() {
    const section = this.section('Engines', 'models-engines', 'Models other apps serve');
    const list = el('div', { class: 'mp-engines' });
    if (!this.engines) {
      if (this.enginesError) {
        const err = el('p', { class: 'mp-empty' });
        err.textContent = `Could not look for engines: ${this.enginesError}`;
        list.append(err);
      } else {
        list.append(this.placeholder('Looking for local engines…'));
      }
    } else if (!this.engines.length) {
      list.append(el('p', { class: 'mp-empty' }, 'No local engines found.'));
    } else {
      const current = this.current();
      const sorted = [...this.engines].sort((a, b) => Boolean(b.running) - Boolean(a.running));
      for (const engine of sorted) list.append(this.engineBlock(engine, current));
    }
    section.append(list);
    return section;
  }

  engineBlock(engine, current) {
    const running = Boolean(engine.running);
    const block = el('div', {
      class: `mp-engine ${running ? 'is-running' : 'is-stopped'}`,
      'data-testid': 'engine',
      'data-engine': engine.name,
    });
    const head = el('div', { class: 'mp-engine-head' });
    head.append(el('span', { class: 'mp-status', 'aria-hidden': 'true' }));
    const name = el('span', { class: 'mp-engine-name' });
    name.textContent = ENGINE_NAMES[engine.name] ?? engine.name;
    head.append(name);
    block.append(head);
    if (!running) {
      // One quiet line: why it isn't available.
      const note = el('span', { class: 'mp-engine-where' });
      note.textContent = engine.note || 'not running';
      head.append(note);
      block.title = engine.note || `${name.textContent} is not running`;
      return block;
    }
    const where = el('span', { class: 'mp-engine-where' });
    where.textContent = engine.url
      ? engine.url.replace(/^https?:\/\//, '')
      : engine.kind === 'in-process'
        ? 'in this app'
        : 'running';
    head.append(where);
    if (engine.note) {
      const note = el('p', { class: 'mp-engine-note' });
      note.textContent = engine.note;
      block.append(note);
    }
    const models = engine.models ?? [];
    for (const m of models) {
      const selected = m.spec === current;
      const loading = this.loading === m.spec;
      const row = el('div', {
        class: 'mp-row engine-model',
        'data-spec': m.spec,
        'data-testid': 'engine-model',
      });
      if (selected) row.classList.add('selected');
      const choose = el('button', {
        type: 'button',
        class: 'mp-choose',
        'data-key': `choose:${m.spec}`,
        'data-name': m.name || m.spec,
        'aria-current': selected ? 'true' : null,
        title: m.spec,
      });
      const mark = el('span', { class: 'mp-mark', 'aria-hidden': 'true' });
      mark.innerHTML = loading ? '<span class="spinner"></span>' : selected ? ICON.check : '';
      const main = el('span', { class: 'mp-main' });
      const nm = el('span', { class: 'mp-name' });
      nm.textContent = m.name || m.spec;
      main.append(nm, metaLine([m.spec]));
      choose.append(mark, main);
      row.append(choose);
      block.append(row);
    }
    // An engine that takes a path or name rather than listing models ("gguf:PATH").
    const template = /^([a-z]+:)(.*)$/.exec(engine.spec ?? '');
    if (!models.length && template && /^[A-Z_#]+$/.test(template[2] || 'X')) {
      const use = el('button', {
        type: 'button',
        class: 'mp-template',
        'data-key': `template:${engine.name}`,
        'data-prefix': template[1],
      });
      use.textContent = `Use ${engine.spec} (type the path below)`;
      block.append(use);
    }
    return block;
  }

  customSection() {
    const section = this.section('Custom', 'models-custom');
    const form = el('form', { class: 'mp-custom', autocomplete: 'off' });
    const input = el('input', {
      type: 'text',
      class: 'mp-custom-input',
      'data-key': 'custom',
      'data-testid': 'custom-model-input',
      placeholder: 'Any model spec, e.g. ollama:gemma3',
      'aria-label': 'Model spec',
      spellcheck: 'false',
      autocapitalize: 'off',
    });
    input.value = this.custom;
    const loading = this.loading && this.loading === this.custom.trim();
    const use = el(
      'button',
      {
        type: 'submit',
        class: 'mp-btn primary',
        'data-key': 'custom-use',
        'data-testid': 'custom-model-use',
      },
      loading ? '<span class="spinner" aria-hidden="true"></span><span>Loading</span>' : 'Use',
    );
    form.append(input, use);
    const hint = el('p', { class: 'mp-hint' });
    hint.innerHTML =
      '<code>openai:URL#MODEL</code> <code>ollama:NAME</code> <code>gguf:PATH</code> ' +
      '<code>mlx:REPO</code> <code>hf:owner/repo</code>';
    section.append(form, hint);
    return section;
  }
}
