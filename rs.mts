import { Resampler } from './lib/audio/index.ts';
const r = new Resampler(24000, 16000, { quality: 'analysis' });
const pcm = new Uint8Array(1920); for (let i = 0; i < 960; i++) { const v = Math.round(Math.sin(i/10)*8000); pcm[2*i] = v & 255; pcm[2*i+1] = (v>>8)&255; }
const out = new Float32Array(4096);
for (let rep = 0; rep < 5; rep++) {
  const t = performance.now(); let n = 0;
  for (let i = 0; i < 50000; i++) n += r.pushFloat32Into(pcm, out, 0);
  const ms = performance.now() - t; console.log(`${(ms*1e6/n).toFixed(1)} ns/output sample, ${(ms*1000/50000).toFixed(1)} us per 40ms chunk`);
}
