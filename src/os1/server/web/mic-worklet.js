// AudioWorkletProcessor: microphone -> 16 kHz mono PCM16 frames of 320 samples (20 ms).
//
// The context runs at its own rate (often 44100 or 48000 Hz). We low-pass the input
// with a windowed-sinc FIR (cut-off a little under the new Nyquist frequency) and read
// it at a fractional step of inputRate / 16000, interpolating linearly between two
// filtered samples. Each posted message is {frame: ArrayBuffer (Int16, 320 samples),
// level: RMS of the frame, 0..1}.

const OUT_RATE = 16000;
const FRAME = 320;

function designLowPass(inRate) {
  const ratio = inRate / OUT_RATE;
  // Enough taps for a transition band of roughly 1.5 kHz at any common rate.
  let taps = Math.max(15, Math.round(ratio * 24)) | 1;
  const cutoff = Math.min(7000, 0.45 * inRate) / inRate; // cycles per input sample
  const mid = (taps - 1) / 2;
  const h = new Float32Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    // Blackman window.
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1))
      + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < taps; i++) h[i] /= sum; // unity gain at DC
  return h;
}

class MicProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE;
    this.passthrough = Math.abs(this.step - 1) < 1e-9;
    this.h = designLowPass(sampleRate);
    this.half = (this.h.length - 1) / 2;
    // Input history: starts with `half` zeros so the first output has its look-back.
    this.buf = new Float32Array(8192);
    this.len = this.half;
    this.pos = this.half; // position (in input samples, within buf) of the next output
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
    this.sumSquares = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data && event.data.type === "stop") this.running = false;
    };
  }

  filteredAt(index) {
    const h = this.h;
    const buf = this.buf;
    const start = index - this.half;
    let acc = 0;
    for (let k = 0; k < h.length; k++) acc += h[k] * buf[start + k];
    return acc;
  }

  push(sample) {
    const s = sample > 1 ? 1 : sample < -1 ? -1 : sample;
    this.frame[this.fill++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
    this.sumSquares += s * s;
    if (this.fill === FRAME) {
      const level = Math.sqrt(this.sumSquares / FRAME);
      const out = this.frame.buffer;
      this.port.postMessage({ frame: out, level }, [out]);
      this.frame = new Int16Array(FRAME);
      this.fill = 0;
      this.sumSquares = 0;
    }
  }

  append(input) {
    if (this.len + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const channel = input[0]; // getUserMedia asked for mono; take the first channel

    if (this.passthrough) {
      for (let i = 0; i < channel.length; i++) this.push(channel[i]);
      return true;
    }

    this.append(channel);
    const half = this.half;
    // Produce every output sample whose filter window is fully inside the buffer.
    while (Math.floor(this.pos) + 1 + half < this.len) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = this.filteredAt(i);
      const value = frac > 0 ? a + (this.filteredAt(i + 1) - a) * frac : a;
      this.push(value);
      this.pos += this.step;
    }
    // Drop what no future output needs.
    const drop = Math.floor(this.pos) - half;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.pos -= drop;
    }
    return true;
  }
}

registerProcessor("os1-mic", MicProcessor);
