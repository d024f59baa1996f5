// The settings panel: generation settings, global (the gear in the sidebar) or for the open
// conversation (the sliders in its header), and the colour theme (kept in this browser).
// docs/api.md "Settings": an empty field is null, which means the default: for a
// conversation the global value, globally the model's own.
import { settingsApi, ApiError } from './api.js';
import { el } from './dom.js';
import { svg } from './icons.js';

const RESET_ICON = svg(
  '<path d="M3 12a9 9 0 1 0 9-9 9.75 9.75 0 0 0-6.74 2.74L3 8"/><path d="M3 3v5h5"/>',
  14,
);

// key, label, kind, input attributes, hint
const FIELDS = [
  ['system_prompt', 'System prompt', 'text', {}, 'Instructions the model reads before the chat.'],
  ['temperature', 'Temperature', 'number', { min: 0, max: 2, step: 0.05 }, '0–2. Higher is more varied.'],
  ['top_p', 'Top-p', 'number', { min: 0, max: 1, step: 0.05 }, '0–1. Keeps the likeliest words up to this share.'],
  ['top_k', 'Top-k', 'integer', { min: 0, max: 1000, step: 1 }, 'Keeps this many likeliest words (0: all).'],
  ['max_tokens', 'Maximum reply length', 'integer', { min: 1, step: 1 }, 'Tokens. A longer reply stops, and can be continued.'],
  ['context_length', 'Context length', 'integer', { min: 512, step: 1 }, 'Tokens of the conversation the model sees; at most what the model was loaded with.'],
  ['thinking', 'Thinking', 'choice', {}, 'For reasoning models: think before answering.'],
];
const THEMES = [
  ['system', 'System'],
  ['light', 'Light'],
  ['dark', 'Dark'],
];

function shown(value, key) {
  if (value == null) return null;
  if (key === 'thinking') return value ? 'On' : 'Off';
  if (key === 'system_prompt') return value ? `“${value.length > 40 ? `${value.slice(0, 40)}…` : value}”` : 'none';
  return typeof value === 'number' ? value.toLocaleString() : String(value);
}

export class SettingsPanel {
  /**
   * onSaved(scope, settings): after a save (scope "global" or a conversation id).
   */
  constructor({ onSaved, toast } = {}) {
    this.onSaved = onSaved;
    this.toast = toast;
    this.scope = 'global';
    this.loaded = {};
    this.dialog = el('dialog', {
      class: 'dialog settings-dialog',
      'data-testid': 'settings-dialog',
      'aria-labelledby': 'settings-title',
    });
    this.dialog.innerHTML =
      '<form method="dialog" class="settings-form" novalidate>' +
      '<div class="settings-head"><h2 class="dialog-title" id="settings-title">Settings</h2>' +
      '<button type="button" class="icon-btn settings-close" value="cancel" aria-label="Close settings" data-testid="settings-close">' +
      svg('<path d="M18 6 6 18M6 6l12 12"/>') +
      '</button></div>' +
      '<p class="settings-sub"></p>' +
      '<div class="settings-body">' +
      '<fieldset class="settings-theme" data-testid="theme-switch"><legend>Theme</legend>' +
      '<div class="segmented" role="radiogroup" aria-label="Theme"></div></fieldset>' +
      '<div class="settings-fields"></div></div>' +
      '<p class="settings-error" role="alert" data-testid="settings-error" hidden></p>' +
      '<div class="dialog-actions">' +
      '<button type="button" class="btn settings-cancel" data-testid="settings-cancel">Cancel</button>' +
      '<button type="submit" class="btn primary" value="save" data-testid="settings-save">Save</button>' +
      '</div></form>';
    document.body.append(this.dialog);
    this.form = this.dialog.querySelector('form');
    this.title = this.dialog.querySelector('#settings-title');
    this.sub = this.dialog.querySelector('.settings-sub');
    this.error = this.dialog.querySelector('.settings-error');
    this.themeBox = this.dialog.querySelector('.settings-theme');
    this.buildTheme(this.dialog.querySelector('.segmented'));
    this.inputs = {};
    this.resets = {};
    this.hints = {};
    const fields = this.dialog.querySelector('.settings-fields');
    for (const field of FIELDS) fields.append(this.buildField(...field));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    this.dialog.querySelector('.settings-cancel').addEventListener('click', () => this.close());
    this.dialog.querySelector('.settings-close').addEventListener('click', () => this.close());
    this.dialog.addEventListener('click', (e) => {
      if (e.target === this.dialog) this.close(); // the backdrop
    });
  }

  buildTheme(box) {
    for (const [value, label] of THEMES) {
      const id = `theme-${value}`;
      const input = el('input', { type: 'radio', name: 'theme', id, value, 'data-testid': id });
      input.addEventListener('change', () => window.gemmaTheme?.set(value)); // at once
      const tag = el('label', { for: id }, '');
      tag.textContent = label;
      box.append(input, tag);
    }
  }

  buildField(key, label, kind, attrs, hint) {
    const id = `setting-${key}`;
    const row = el('div', { class: `settings-field field-${key}` });
    const head = el('div', { class: 'settings-label' });
    const name = el('label', { for: id });
    name.textContent = label;
    const reset = el(
      'button',
      {
        type: 'button',
        class: 'settings-reset',
        'data-testid': `reset-${key}`,
        'aria-label': `Reset ${label.toLowerCase()} to the default`,
        title: 'Reset to the default',
      },
      `${RESET_ICON}<span>Default</span>`,
    );
    reset.addEventListener('click', () => {
      this.setValue(key, null);
      this.inputs[key].focus();
    });
    head.append(name, reset);
    let input;
    if (kind === 'text') {
      input = el('textarea', { id, rows: 4, maxlength: 100000, 'data-testid': id });
    } else if (kind === 'choice') {
      input = el('select', { id, 'data-testid': id });
      for (const [value, text] of [
        ['', 'Default'],
        ['true', 'On'],
        ['false', 'Off'],
      ]) {
        const option = el('option', { value });
        option.textContent = text;
        input.append(option);
      }
    } else {
      input = el('input', { id, type: 'number', inputmode: kind === 'integer' ? 'numeric' : 'decimal', 'data-testid': id, ...attrs });
    }
    input.setAttribute('aria-describedby', `${id}-hint`);
    input.addEventListener('input', () => this.syncResets());
    const note = el('p', { class: 'settings-hint', id: `${id}-hint` });
    note.textContent = hint;
    row.append(head, input, note);
    this.inputs[key] = input;
    this.resets[key] = reset;
    this.hints[key] = [note, hint];
    return row;
  }

  /** Open for the global defaults, or for conversation `id` (null: the global ones). */
  async open(id = null) {
    this.scope = id ?? 'global';
    const global = this.scope === 'global';
    this.title.textContent = global ? 'Settings' : 'Chat settings';
    this.sub.textContent = global
      ? 'Defaults for every chat. An empty field uses the model’s own default.'
      : 'For this chat only. An empty field uses the default from Settings.';
    this.themeBox.hidden = !global;
    const choice = window.gemmaTheme?.get() ?? 'system';
    for (const radio of this.themeBox.querySelectorAll('input')) radio.checked = radio.value === choice;
    this.showError(null);
    let data;
    try {
      data = global ? await settingsApi.global() : await settingsApi.conversation(id);
    } catch (e) {
      this.toast?.error(`Couldn't load the settings: ${e.message}`);
      return;
    }
    this.loaded = data;
    const defaults = global ? {} : data.effective ?? {};
    for (const [key] of FIELDS) {
      this.setValue(key, data[key]);
      // The value that applies when the field is empty.
      const fallback = global ? null : shown(data[key] == null ? defaults[key] : null, key);
      const input = this.inputs[key];
      const placeholder = global || fallback == null ? 'Model default' : `Default: ${fallback}`;
      if (input.tagName === 'SELECT') input.options[0].textContent = global ? 'Model default' : 'Default';
      else input.placeholder = placeholder;
    }
    if (!this.dialog.open) this.dialog.showModal();
    (global ? this.themeBox.querySelector('input:checked') : this.inputs.system_prompt)?.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  setValue(key, value) {
    const input = this.inputs[key];
    if (key === 'thinking') input.value = value == null ? '' : String(value);
    else input.value = value == null ? '' : String(value);
    this.syncResets();
  }

  syncResets() {
    for (const [key] of FIELDS) this.resets[key].hidden = this.inputs[key].value === '';
  }

  /** The form's values: null where empty; a string where a number doesn't parse (the
   * server says why). */
  values() {
    const out = {};
    for (const [key, , kind] of FIELDS) {
      const raw = this.inputs[key].value;
      if (kind === 'text') out[key] = raw === '' ? null : raw;
      else if (kind === 'choice') out[key] = raw === '' ? null : raw === 'true';
      else if (raw.trim() === '') out[key] = null;
      else out[key] = Number(raw);
    }
    return out;
  }

  showError(message) {
    this.error.hidden = !message;
    this.error.textContent = message ?? '';
  }

  async save() {
    const values = this.values();
    const changes = {};
    for (const [key] of FIELDS) {
      if ((values[key] ?? null) !== (this.loaded[key] ?? null)) changes[key] = values[key];
    }
    for (const [key, , kind] of FIELDS) {
      if (key in changes && kind !== 'text' && kind !== 'choice' && Number.isNaN(changes[key])) {
        this.showError(`${key}: not a number`);
        this.inputs[key].focus();
        return;
      }
    }
    if (!Object.keys(changes).length) {
      this.close();
      return;
    }
    const scope = this.scope;
    try {
      const saved =
        scope === 'global'
          ? await settingsApi.updateGlobal(changes)
          : await settingsApi.updateConversation(scope, changes);
      this.close();
      this.onSaved?.(scope, saved);
    } catch (e) {
      this.showError(e instanceof ApiError ? e.message : String(e));
      const key = FIELDS.map(([k]) => k).find((k) => this.error.textContent.includes(k));
      if (key) this.inputs[key].focus();
    }
  }
}
