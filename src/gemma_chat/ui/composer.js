// The message box: auto-growing textarea, Enter to send, Send ⇄ Stop while a reply streams,
// the Think toggle for models that can reason before answering, and attachments (the
// paperclip, drag-and-drop and paste put chips above the textarea; see attachments.js).
import { KEYS, withKeys } from './shortcuts.js';

export class Composer {
  constructor({ form, input, send, stop, think, tray, onSend, onStop, onThink }) {
    Object.assign(this, { form, input, send, stop, think, tray, onSend, onStop, onThink });
    this.busy = false;
    this.thinking = false;
    think?.addEventListener('click', () => this.onThink?.(!this.thinking));
    input.addEventListener('input', () => this.sync());
    input.addEventListener('keydown', (e) => {
      // isComposing: Enter confirms an IME candidate (CJK input) and must not send.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    stop.addEventListener('click', () => this.onStop());
    this.sync();
  }

  /** Text is required only when no file is attached; uploads must finish first. */
  submit() {
    const text = this.input.value.trim();
    const attachments = this.tray?.ready ?? [];
    if (this.busy || this.tray?.uploading) return;
    if (!text && !attachments.length) return;
    this.onSend(text, attachments);
  }

  get value() {
    return this.input.value;
  }

  set value(text) {
    this.input.value = text;
    this.sync();
  }

  /** Empty the textarea and drop the chips. */
  clear() {
    this.tray?.clear();
    this.value = '';
  }

  focus() {
    this.input.focus();
  }

  /** While busy the Stop button replaces Send; typing the next message stays allowed. */
  setBusy(busy) {
    this.busy = busy;
    const hadFocus = document.activeElement === this.send || document.activeElement === this.stop;
    this.send.hidden = busy;
    this.stop.hidden = !busy;
    if (hadFocus) (busy ? this.stop : this.send).focus();
    this.sync();
  }

  /** Show the Think toggle where the model can think; `on` is the conversation's choice. */
  setThinking({ available, on }) {
    if (!this.think) return;
    this.thinking = Boolean(on);
    this.think.hidden = !available;
    this.think.setAttribute('aria-pressed', String(this.thinking));
    this.think.title = this.thinking
      ? 'Thinking is on: the model reasons before it answers'
      : 'Thinking is off: click to let the model reason before it answers';
  }

  sync() {
    // Grow with the content up to the CSS max-height, then scroll inside.
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight}px`;
    const uploading = Boolean(this.tray?.uploading);
    const files = this.tray?.ready.length ?? 0;
    this.send.disabled = this.busy || uploading || (!this.input.value.trim() && !files);
    this.send.title = uploading ? 'Waiting for the upload to finish…' : withKeys('Send', KEYS.send);
  }
}
