const dec = new TextDecoder();
const pcm = Buffer.alloc(960); for (let i = 0; i < pcm.length; i++) pcm[i] = (i * 37) & 255;
const msg = new TextEncoder().encode(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64') }));
const ab = msg.buffer.slice(0);
const target = Buffer.alloc(960);
const PREFIX = Buffer.from('{"type":"input_audio_buffer.append","audio":"');
function oldPath() { const raw = JSON.parse(dec.decode(ab)); const a = raw.audio as string; if (a.length % 4) throw 0; return target.write(a, 'base64') === 960; }
function scanPath() {
  const b = Buffer.from(ab);
  if (b.length < PREFIX.length + 2 || b.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return false;
  const end = b.indexOf(0x22, PREFIX.length);
  if (end !== b.length - 2 || b[end + 1] !== 0x7d) return false;
  if (b.indexOf(0x5c, PREFIX.length) !== -1) return false;
  const s = b.latin1Slice(PREFIX.length, end);
  return target.write(s, 'base64') === 960;
}
function time(f: () => boolean, n: number) { const t = performance.now(); for (let i = 0; i < n; i++) if (!f()) throw 1; return ((performance.now() - t) * 1000) / n; }
const r1: number[] = [], r2: number[] = [];
for (let k = 0; k < 15; k++) { r1.push(time(oldPath, 100_000)); r2.push(time(scanPath, 100_000)); }
console.log('old', Math.min(...r1).toFixed(3), 'scan+latin1+base64Write', Math.min(...r2).toFixed(3));
