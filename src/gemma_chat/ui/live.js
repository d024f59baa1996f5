// Live transcripts: the microphone's audio, downsampled to 16 kHz Int16 by an AudioWorklet
// (pcm-worklet.js), streamed over `WebSocket /api/transcribe/live`; the server answers
// `partial` texts while audio arrives and one `final` after `end` (docs/api.md).

const FINAL_TIMEOUT_MS = 20000;

/**
 * An AudioContext with the downsampling worklet loaded. Call it as the button is pressed,
 * alongside getUserMedia(): loading the worklet takes a fetch and a compile, and audio
 * that arrives before the worklet is connected never reaches the transcript.
 */
export function prepareAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  const audio = new Ctx();
  const ready = audio.audioWorklet
    .addModule(new URL('./pcm-worklet.js', import.meta.url))
    .then(() => audio);
  ready.catch(() => audio.close().catch(() => {}));
  return ready;
}

export class LiveTranscript {
  /** onPartial(text): the growing recording's latest transcript, provisional. */
  constructor({ onPartial } = {}) {
    this.onPartial = onPartial;
    this.queue = [];
    this.done = false;
    this.final = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.final.catch(() => {}); // a caller that cancels never awaits it
  }

  /** Open the socket and start streaming `stream`'s audio (through `audio`, from
   * prepareAudio(), when given). Throws when either fails. */
  async start(stream, audio = null) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/transcribe/live`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.addEventListener('open', () => {
      for (const item of this.queue) ws.send(item);
      this.queue = [];
    });
    ws.addEventListener('message', (e) => this.message(e.data));
    ws.addEventListener('close', () =>
      this.settle(null, new Error('The live transcription connection closed early.')),
    );
    const context = await (audio ?? prepareAudio());
    if (this.done) {
      context.close().catch(() => {});
      return;
    }
    this.audio = context;
    if (context.state === 'suspended') context.resume().catch(() => {});
    this.source = this.audio.createMediaStreamSource(stream);
    this.node = new AudioWorkletNode(this.audio, 'pcm-downsampler');
    this.node.port.onmessage = (e) => this.send(e.data.pcm);
    // Connected to a silent gain so the graph pulls the worklet; nothing is heard.
    const mute = this.audio.createGain();
    mute.gain.value = 0;
    this.source.connect(this.node).connect(mute).connect(this.audio.destination);
    this.connectedAt = performance.now(); // audio from before this moment was not sent
  }

  send(item) {
    if (this.stopped || !this.ws) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(item);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.queue.push(item);
  }

  message(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (event.type === 'partial' && !this.done && !this.stopped) this.onPartial?.(event.text ?? '');
    else if (event.type === 'final') this.settle(event.text ?? '', null);
    else if (event.type === 'error') {
      const error = new Error(event.message || 'Transcription failed.');
      error.fromServer = true; // a verdict on the audio (too long, no words), not a failed link
      this.settle(null, error);
    }
  }

  settle(text, error) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.stopAudio();
    if (error) this.reject(error);
    else this.resolve(text.trim());
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }

  stopAudio() {
    this.stopped = true;
    this.source?.disconnect();
    this.node?.port.close();
    this.audio?.close().catch(() => {});
    this.audio = null;
  }

  /** Released: no more audio; resolves with the final text (may be ''). */
  end() {
    if (!this.done) {
      this.stopAudio();
      this.stopped = false; // the end frame still goes out (queued if still connecting)
      this.send(JSON.stringify({ type: 'end' }));
      this.stopped = true;
      this.timer = setTimeout(
        () => this.settle(null, new Error('The live transcript took too long.')),
        FINAL_TIMEOUT_MS,
      );
    }
    return this.final;
  }

  /** Dropped: tell the server, close, never resolve with text. */
  cancel() {
    if (this.done) return;
    this.stopped = false;
    this.send(JSON.stringify({ type: 'cancel' }));
    this.settle(null, new Error('cancelled'));
  }
}
