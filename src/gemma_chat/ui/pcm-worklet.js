// AudioWorklet (loaded as a module file, so the page's CSP allows it): turns the
// microphone's float samples at the context's rate into 16 kHz mono little-endian Int16,
// the format `WebSocket /api/transcribe/live` takes, posted in ~100 ms chunks with their
// loudness (RMS, 0–1) for the level meter and the pause detector.

const RATE = 16000;
const CHUNK = RATE / 10;

class PcmDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE; // input samples per output sample (≥ 1)
    this.phase = 0;
    this.acc = 0;
    this.count = 0;
    this.out = new Int16Array(CHUNK);
    this.n = 0;
    this.power = 0;
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      // Average the input samples that fall into one output sample: a box filter that
      // keeps most aliasing out without a real low-pass.
      this.acc += channel[i];
      this.count++;
      this.phase += 1;
      if (this.phase < this.step) continue;
      this.phase -= this.step;
      const v = Math.max(-1, Math.min(1, this.acc / this.count));
      this.acc = 0;
      this.count = 0;
      this.power += v * v;
      this.out[this.n++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.n === CHUNK) this.flush();
    }
    return true;
  }

  flush() {
    const pcm = this.out.buffer;
    const level = Math.sqrt(this.power / this.n);
    this.port.postMessage({ pcm, level }, [pcm]);
    this.out = new Int16Array(CHUNK);
    this.n = 0;
    this.power = 0;
  }
}

registerProcessor('pcm-downsampler', PcmDownsampler);
