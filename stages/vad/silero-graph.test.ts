// The Silero graph rewrite (convolutions as matrix products): the model is edited without losing a
// byte of what it does not touch, and the rewritten model decides real speech exactly as the
// shipped one does, stream by stream, with the recurrent state carried across frames, at both rates.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildUtteranceTrack } from '../../test/support/speech.ts';
import { pcm16ToFloat32, resamplePcm16 } from '../../lib/audio/index.ts';
import { bytesField, decodeMessage, encodeMessage, messageField, varintField } from './protobuf-wire.ts';
import { rewriteConvsAsMatMul } from './silero-graph.ts';
import { createSileroEngine, resolveSileroModel, SILERO_RATES, type VadEngine } from './silero-engine.ts';

describe('Silero graph rewrite', () => {
  let shipped: Uint8Array;
  before(async () => {
    shipped = await readFile(resolveSileroModel(undefined));
  });

  it('reads and writes the model back byte for byte', () => {
    assert.deepEqual(Buffer.from(encodeMessage(decodeMessage(shipped))), Buffer.from(shipped));
  });

  it('rewrites every convolution of both rate branches and nothing else', () => {
    const { model, rewritten } = rewriteConvsAsMatMul(shipped);
    // Per branch: the STFT, four encoder layers and the decoder's output layer.
    assert.equal(rewritten, 12);
    const text = Buffer.from(model).toString('latin1');
    assert.equal(text.match(/\x04Conv/g), null, 'no Conv node left');
    assert.equal(text.match(/LSTM/g)?.length, Buffer.from(shipped).toString('latin1').match(/LSTM/g)?.length, 'the recurrent layers are untouched');
  });

  it('leaves a model alone when it cannot rewrite it safely', () => {
    type Field = ReturnType<typeof messageField>;
    // A Constant weight [4, 1, 3] and a Conv reading it.
    const weight = messageField(1, [
      bytesField(2, 'w'),
      bytesField(4, 'Constant'),
      messageField(5, [bytesField(1, 'value'), messageField(5, [varintField(1, 4), varintField(1, 1), varintField(1, 3), varintField(2, 1)]), varintField(20, 4)]),
    ]);
    const conv = (weightInput: string, attrs: Field[]) => messageField(1, [bytesField(1, 'x'), bytesField(1, weightInput), bytesField(2, 'y'), bytesField(4, 'Conv'), ...attrs]);
    const model = (opset: number, ...nodes: Field[]) => encodeMessage([varintField(1, 8), messageField(8, [varintField(2, opset)]), messageField(7, nodes)]);
    const group2 = messageField(5, [bytesField(1, 'group'), varintField(3, 2), varintField(20, 2)]);
    assert.equal(rewriteConvsAsMatMul(model(16, weight, conv('w', []))).rewritten, 1, 'the plain case is rewritten');
    // A grouped convolution, an old opset, a weight of unknown shape.
    for (const m of [model(16, weight, conv('w', [group2])), model(11, weight, conv('w', [])), model(16, weight, conv('other', []))]) {
      const out = rewriteConvsAsMatMul(m);
      assert.equal(out.rewritten, 0);
      assert.equal(out.model, m);
    }
  });

  for (const sampleRate of SILERO_RATES) {
    it(`gives the shipped model's speech probabilities on real speech at ${sampleRate} Hz`, async () => {
      const [rewritten, original] = await Promise.all([createSileroEngine({ maxBatch: 8, sampleRate }), createSileroEngine({ maxBatch: 8, sampleRate, rewriteGraph: false })]);
      try {
        assert.equal(rewritten.graph, 'matmul');
        assert.equal(rewritten.graphNote, undefined);
        assert.equal(original.graph, 'original');
        const track = await buildUtteranceTrack([{ silenceMs: 300 }, { text: 'Could you read that number back to me, please?' }, { silenceMs: 400 }]);
        const signal = pcm16ToFloat32(resamplePcm16(track.pcm16, 24_000, sampleRate));
        const frames = Math.floor(signal.length / rewritten.frameSamples);
        // Five streams at different places of the speech, run as one batch, state carried along.
        const streams = 5;
        const run = async (engine: VadEngine) => {
          const states = Array.from({ length: streams }, () => engine.newState());
          const probs: number[][] = [];
          for (let f = 0; f < frames; f++) {
            const items = states.map((state, i) => {
              const at = ((f + i * 17) % frames) * engine.frameSamples;
              return { state, frame: signal.subarray(at, at + engine.frameSamples) };
            });
            probs.push([...(await engine.inferBatch(items))]);
          }
          return probs;
        };
        const [a, b] = [await run(rewritten), await run(original)];
        const worst = Math.max(...a.flatMap((row, f) => row.map((p, i) => Math.abs(p - b[f]![i]!))));
        assert.ok(worst < 1e-4, `largest difference ${worst}`);
        assert.ok(Math.max(...b.flat()) > 0.9 && Math.min(...b.flat()) < 0.1, 'the track holds speech and silence');
      } finally {
        await Promise.all([rewritten.close(), original.close()]);
      }
    });
  }
});
