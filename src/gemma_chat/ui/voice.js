// Voice input: record from the microphone (MediaRecorder, Opus in WebM) with an elapsed
// time and a live level meter (AnalyserNode). The mic button starts and stops; holding
// Ctrl/Cmd+Shift+Space talks while held (a short tap toggles); Esc cancels. What happens
// to the recording (an attachment, or local transcription) is app.js's choice. When
// app.js asks for it (`live`), the audio also streams to the server for a live transcript
// (live.js). Hands-free (`autoStop`), a pause of about a second after speech ends it.

import { svg } from './icons.js';
import { LiveTranscript, prepareAudio } from './live.js';

export const micIcon = svg(
  '<rect x="9" y="2" width="6" height="12" rx="3"/><path d="M19 10v1a7 7 0 0 1-14 0v-1"/><path d="M12 18v4"/>',
);
const stopIcon = svg('<rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor"/>', 14);
const cancelIcon = svg('<path d="M18 6 6 18M6 6l12 12"/>', 16);

const BARS = 24;
const HOLD_MS = 350; // pressed longer than this, the shortcut is push-to-talk
const SPEECH_LEVEL = 0.08; // meter level (0–1) above which the user is talking
const PAUSE_MS = 1000; // hands-free: this long below it after speech ends the recording
const LATE_MS = 150; // a live transcript whose audio began later than this lacks words

function pickMime() {
  if (typeof MediaRecorder === 'undefined') return null;
  for (const type of ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4']) {
    if (MediaRecorder.isTypeSupported?.(type)) return type;
  }
  return '';
}

/** A readable reason for a failed getUserMedia(). */
export function micError(error) {
  const name = error?.name || '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return "Microphone access was denied. Allow the microphone for this page in the browser's site settings, then try again.";
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No microphone was found. Connect one and try again.';
  if (name === 'NotReadableError' || name === 'AbortError')
    return 'The microphone is busy or unavailable (another app may be using it).';
  return `Couldn't start recording: ${error?.message || name || 'unknown error'}`;
}

export class VoiceInput {
  /**
   * button: the mic button; bar: the recording strip shown in the composer;
   * onRecorded(blob, {mime, seconds, live}) where live is the live transcript's final text
   * (a promise) or null; onError(message); onState(recording); live() says whether to
   * stream for a live transcript; onPartial(text) shows its provisional text; onSpeech()
   * runs when the user starts talking (voice mode stops reading aloud).
   */
  constructor({ button, bar, onRecorded, onError, onState, live, onPartial, onSpeech }) {
    Object.assign(this, { button, bar, onRecorded, onError, onState, live, onPartial, onSpeech });
    this.autoStop = false;
    this.state = 'idle'; // idle | starting | recording | busy
    this.pttAt = 0;
    bar.classList.add('voice-bar');
    bar.hidden = true;
    bar.setAttribute('role', 'status');
    bar.innerHTML =
      '<span class="rec-dot" aria-hidden="true"></span>' +
      '<span class="rec-label" data-testid="voice-status">Recording</span>' +
      '<span class="rec-time" data-testid="voice-time">0:00</span>' +
      `<span class="rec-meter" data-testid="voice-meter" aria-hidden="true">${'<i></i>'.repeat(BARS)}</span>` +
      '<span class="rec-hint"></span>' +
      `<button type="button" class="rec-cancel" data-testid="voice-cancel" aria-label="Cancel recording" title="Cancel (Esc)">${cancelIcon}</button>` +
      `<button type="button" class="rec-stop" data-testid="voice-stop" aria-label="Stop and use the recording" title="Stop">${stopIcon}<span>Done</span></button>`;
    this.label = bar.querySelector('.rec-label');
    this.time = bar.querySelector('.rec-time');
    this.meter = [...bar.querySelectorAll('.rec-meter i')];
    this.hint = bar.querySelector('.rec-hint');
    button.innerHTML = micIcon;
    button.addEventListener('click', () => this.toggle());
    bar.querySelector('.rec-cancel').addEventListener('click', () => this.cancel());
    bar.querySelector('.rec-stop').addEventListener('click', () => this.stop());
    this.sync();
  }

  get active() {
    return this.state === 'starting' || this.state === 'recording';
  }

  toggle() {
    if (this.state === 'recording') this.stop();
    else if (this.state === 'idle') this.start();
  }

  /** Ctrl/Cmd+Shift+Space went down: start (push-to-talk) or, if recording, stop. */
  shortcutDown() {
    if (this.state === 'recording' || this.state === 'starting') {
      if (!this.pttAt) this.stop();
      return;
    }
    if (this.state !== 'idle') return;
    this.pttAt = performance.now();
    this.start();
  }

  /** The shortcut came up: a hold ends the recording, a tap leaves it running. */
  shortcutUp() {
    if (!this.pttAt) return;
    const held = performance.now() - this.pttAt;
    this.pttAt = 0;
    if (held >= HOLD_MS && this.active) this.stop();
  }

  async start() {
    if (this.state !== 'idle') return;
    const mime = pickMime();
    if (!navigator.mediaDevices?.getUserMedia || mime === null) {
      this.pttAt = 0;
      this.onError?.(
        window.isSecureContext
          ? "This browser can't record audio."
          : 'Voice input needs a secure page: open Gemma Chat at http://localhost or over https.',
      );
      return;
    }
    this.state = 'starting';
    this.cancelled = false;
    this.sync();
    // The live path's worklet loads while the browser opens the microphone.
    const audio = this.live?.() ? prepareAudio() : null;
    audio?.catch(() => {});
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
      });
    } catch (e) {
      audio?.then((context) => context.close()).catch(() => {});
      this.state = 'idle';
      this.pttAt = 0;
      this.sync();
      this.onError?.(micError(e));
      return;
    }
    if (this.cancelled) {
      audio?.then((context) => context.close()).catch(() => {});
      stream.getTracks().forEach((t) => t.stop());
      this.state = 'idle';
      this.sync();
      return;
    }
    this.stream = stream;
    this.chunks = [];
    try {
      this.recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
    } catch (e) {
      this.release();
      this.state = 'idle';
      this.sync();
      this.onError?.(`Couldn't start recording: ${e.message}`);
      return;
    }
    this.recorder.addEventListener('dataavailable', (e) => {
      if (e.data?.size) this.chunks.push(e.data);
    });
    this.recorder.addEventListener('stop', () => this.finished());
    this.recorder.start(250);
    this.startedAt = performance.now();
    this.heard = 0; // when speech was last above SPEECH_LEVEL (0: not yet)
    this.finalText = null;
    this.transcript = null;
    if (audio) this.streamLive(stream, audio);
    this.state = 'recording';
    this.meterOn(stream);
    this.sync();
  }

  /** Stream for a live transcript; if that can't start, the recording is used as before. */
  streamLive(stream, audio) {
    const transcript = new LiveTranscript({
      onPartial: (text) => {
        if (this.transcript === transcript && this.state === 'recording') this.onPartial?.(text);
      },
    });
    this.transcript = transcript;
    transcript.start(stream, audio).catch(() => {
      if (this.transcript === transcript) this.transcript = null;
      transcript.cancel();
    });
  }

  stop() {
    if (this.state === 'starting') {
      this.cancel();
      return;
    }
    if (this.state !== 'recording') return;
    const transcript = this.transcript;
    this.transcript = null;
    // A transcript whose audio began late lacks the first words: the recording has them.
    const late = !transcript?.connectedAt || transcript.connectedAt - this.startedAt > LATE_MS;
    if (transcript && late) transcript.cancel();
    this.finalText = transcript && !late ? transcript.end() : null;
    this.state = 'busy';
    this.cancelled = false;
    this.recorder.stop(); // → finished()
    this.sync();
  }

  /** Esc or ×: drop the recording. Returns true when there was one to drop. */
  cancel() {
    if (!this.active) return false;
    this.cancelled = true;
    this.pttAt = 0;
    this.transcript?.cancel();
    this.transcript = null;
    if (this.state === 'recording') {
      this.state = 'busy';
      this.recorder.stop();
    } else {
      this.state = 'idle';
    }
    this.sync();
    return true;
  }

  async finished() {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const type = this.recorder?.mimeType || 'audio/webm';
    const blob = new Blob(this.chunks, { type: type.split(';')[0] });
    const live = this.finalText;
    this.finalText = null;
    this.release();
    this.chunks = [];
    if (this.cancelled || !blob.size) {
      this.state = 'idle';
      this.sync();
      if (!this.cancelled) this.onError?.('Nothing was recorded. Is the microphone muted?');
      return;
    }
    // Stay busy ("Transcribing…") while the app uses the recording.
    this.setBusyLabel('Processing…');
    try {
      await this.onRecorded?.(blob, { mime: type, seconds, live });
    } finally {
      this.state = 'idle';
      this.sync();
    }
  }

  setBusyLabel(text) {
    this.busyLabel = text;
    this.sync();
  }

  release() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.audio?.close().catch(() => {});
    this.audio = null;
    this.recorder = null;
  }

  meterOn(stream) {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.audio = new Ctx();
      const source = this.audio.createMediaStreamSource(stream);
      const analyser = this.audio.createAnalyser();
      analyser.fftSize = 1024;
      analyser.smoothingTimeConstant = 0.6;
      source.connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      const levels = new Array(BARS).fill(0);
      let last = 0;
      const tick = (now) => {
        if (this.state !== 'recording') return;
        this.frame = requestAnimationFrame(tick);
        this.time.textContent = clock((now - this.startedAt) / 1000);
        if (now - last < 60) return;
        last = now;
        analyser.getByteTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += ((v - 128) / 128) ** 2;
        const rms = Math.sqrt(sum / data.length);
        const level = Math.min(1, rms * 4.5);
        levels.shift();
        levels.push(level);
        this.bar.dataset.level = level.toFixed(2);
        this.pause(level, now);
        this.meter.forEach((bar, i) => {
          bar.style.transform = `scaleY(${Math.max(0.12, levels[i]).toFixed(3)})`;
        });
      };
      this.frame = requestAnimationFrame(tick);
    } catch {
      // No Web Audio: record without a meter; the clock still runs.
      const tick = () => {
        if (this.state !== 'recording') return;
        this.time.textContent = clock((performance.now() - this.startedAt) / 1000);
        this.frame = requestAnimationFrame(tick);
      };
      this.frame = requestAnimationFrame(tick);
    }
  }

  /** Hands-free pause detection: speech, then PAUSE_MS of quiet, ends the recording. */
  pause(level, now) {
    if (level >= SPEECH_LEVEL) {
      if (!this.heard) this.onSpeech?.();
      this.heard = now;
    } else if (this.autoStop && this.heard && now - this.heard > PAUSE_MS) {
      this.stop();
    }
  }

  sync() {
    const { state } = this;
    const recording = state === 'recording' || state === 'starting';
    this.button.setAttribute('aria-pressed', String(recording));
    this.button.classList.toggle('recording', recording);
    this.button.disabled = state === 'busy';
    this.button.setAttribute('aria-label', recording ? 'Stop recording' : 'Record a voice message');
    this.button.title = recording ? 'Stop recording' : this.buttonTitle || 'Voice input';
    this.bar.hidden = state === 'idle';
    this.bar.dataset.state = state;
    if (state === 'starting') this.label.textContent = 'Waiting for the microphone…';
    else if (state === 'recording') this.label.textContent = 'Recording';
    else if (state === 'busy') this.label.textContent = this.busyLabel || 'Finishing…';
    if (state === 'starting') this.time.textContent = '0:00';
    this.hint.textContent = this.pttAt && state === 'recording' ? 'Release to finish' : '';
    if (state !== 'busy') this.busyLabel = null;
    this.onState?.(state);
  }
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
