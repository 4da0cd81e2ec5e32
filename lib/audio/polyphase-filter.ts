// Polyphase filter design for the rational resampler: a Kaiser-windowed sinc
// low-pass, split into one sub-filter per output phase, cached per
// (fromRate, toRate, quality) so building a Resampler on the hot path costs a
// Map lookup instead of thousands of Bessel evaluations.

export type ResampleQuality = 'analysis' | 'fast' | 'good';

/** A precomputed polyphase table for resampling by `up / down` (already reduced). */
export interface PolyphaseFilter {
  readonly up: number; // L: output samples per `down` input samples
  readonly down: number; // M
  /** Taps per phase (always even: the window is centred between samples). */
  readonly taps: number;
  /** Input samples of look-ahead each output needs beyond its own position. */
  readonly halfWidth: number;
  /** `up * taps` coefficients; phase p occupies [p*taps, (p+1)*taps). */
  readonly coeffs: Float64Array;
}

interface QualitySpec {
  /** Passband edge and stopband edge as fractions of the lower Nyquist frequency. */
  passEdge: number;
  stopEdge: number;
  /** Stopband attenuation target in dB (drives Kaiser beta and length). */
  attenuationDb: number;
}

// 'good' keeps the whole telephony band (3.4 kHz of 4 kHz = 0.85) and puts the
// stopband right at the output Nyquist so nothing aliases at all. 'fast' halves
// the taps by starting the roll-off earlier and accepting a shallower stopband.
// 'analysis' is for detectors (VAD) that only look at the speech band: a short filter with a
// 40 dB stopband whose roll-off may fold a little of the top octave back, at a fraction of the cost.
const QUALITY: Record<ResampleQuality, QualitySpec> = {
  good: { passEdge: 0.85, stopEdge: 1.0, attenuationDb: 80 },
  fast: { passEdge: 0.75, stopEdge: 1.0, attenuationDb: 60 },
  analysis: { passEdge: 0.6, stopEdge: 1.1, attenuationDb: 40 },
};

const cache = new Map<string, PolyphaseFilter>();

export function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Returns the cached polyphase table for `fromRate -> toRate`, designing it on first use. */
export function polyphaseFilterFor(fromRate: number, toRate: number, quality: ResampleQuality): PolyphaseFilter {
  const key = `${fromRate}:${toRate}:${quality}`;
  let filter = cache.get(key);
  if (!filter) {
    filter = designPolyphaseFilter(fromRate, toRate, QUALITY[quality]);
    cache.set(key, filter);
  }
  return filter;
}

function designPolyphaseFilter(fromRate: number, toRate: number, spec: QualitySpec): PolyphaseFilter {
  const g = greatestCommonDivisor(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;

  // Everything below is in units of input samples. The lower of the two
  // Nyquist rates, expressed in cycles per input sample, bounds the band.
  const nyquist = 0.5 * Math.min(1, up / down);
  const cutoff = (nyquist * (spec.passEdge + spec.stopEdge)) / 2;
  const transition = nyquist * (spec.stopEdge - spec.passEdge);

  // Kaiser's empirical formulas (Oppenheim & Schafer 7.62/7.63).
  const a = spec.attenuationDb;
  const beta = a > 50 ? 0.1102 * (a - 8.7) : a >= 21 ? 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21) : 0;
  const length = (a - 7.95) / (2.285 * 2 * Math.PI * transition) + 1;
  const halfWidth = Math.max(2, Math.ceil(length / 2));
  const taps = 2 * halfWidth;
  const i0Beta = besselI0(beta);

  const coeffs = new Float64Array(up * taps);
  for (let p = 0; p < up; p++) {
    // Output phase p sits `frac` input samples after input sample i. Tap k
    // multiplies x[i - (halfWidth - 1) + k], which is `t` samples from the output.
    const frac = p / up;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const t = frac + halfWidth - 1 - k;
      const x = t / halfWidth;
      const window = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / i0Beta;
      const c = 2 * cutoff * sinc(2 * cutoff * t) * window;
      coeffs[p * taps + k] = c;
      sum += c;
    }
    // Normalise each phase to unity DC gain; otherwise the phases differ by a
    // tiny gain and a constant input would come out with a periodic ripple.
    for (let k = 0; k < taps; k++) coeffs[p * taps + k] = (coeffs[p * taps + k] as number) / sum;
  }
  return { up, down, taps, halfWidth, coeffs };
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for beta < 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}
