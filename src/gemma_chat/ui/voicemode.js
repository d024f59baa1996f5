// Voice mode (hands-free): the microphone listens; a pause of about a second after speech
// ends the recording, its transcript (or, for a model that hears, the recording itself)
// is sent, the reply is read aloud, and listening goes on. Talking over the reading stops
// it. The button and Ctrl/Cmd+Shift+H toggle it; aria-pressed shows the state.
import { withKeys, KEYS } from './shortcuts.js';

const WAIT_MS = 60000; // longest wait for an upload before sending

export class VoiceMode {
  constructor({ button, voice, speaker }) {
    Object.assign(this, { button, voice, speaker });
    this.on = false;
    this.sent = false; // a message went out in voice mode: read its reply
    button?.addEventListener('click', () => this.toggle());
    this.sync();
  }

  toggle() {
    if (this.on) this.stop();
    else this.start();
  }

  start() {
    if (this.on) return;
    this.on = true;
    this.voice.autoStop = true;
    this.sync();
    this.listen();
  }

  /** Turn it off (Esc, the button, a microphone error); true when it was on. */
  stop() {
    if (!this.on) return false;
    this.on = false;
    this.sent = false;
    this.voice.autoStop = false;
    this.voice.cancel();
    this.speaker.cancel();
    this.sync();
    return true;
  }

  /** Listen again once the microphone is free. */
  listen() {
    if (!this.on || this.voice.state !== 'idle') return;
    setTimeout(() => {
      if (this.on && this.voice.state === 'idle') this.voice.start();
    }, 0);
  }

  /** The user started talking: stop reading the reply. */
  interrupt() {
    if (this.on) this.speaker.cancel();
  }

  /** In voice mode, send what was said once `ready()` (an upload may still be running). */
  async sendWhenReady(send, ready = () => true) {
    if (!this.on) return;
    const until = performance.now() + WAIT_MS;
    while (!ready() && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (!this.on) return;
    this.sent = true;
    send();
  }

  /** A reply finished: read it aloud if it answers what was said in voice mode. */
  replied(read) {
    if (!this.on || !this.sent) return;
    this.sent = false;
    read();
  }

  sync() {
    if (!this.button) return;
    this.button.setAttribute('aria-pressed', String(this.on));
    this.button.classList.toggle('active', this.on);
    const label = this.on ? 'Turn voice mode off' : 'Voice mode: talk hands-free, hear the replies';
    this.button.setAttribute('aria-label', label);
    this.button.title = withKeys(label, KEYS.voiceMode);
  }
}
