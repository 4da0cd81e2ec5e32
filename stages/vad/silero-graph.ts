// Silero's 1-D convolutions, rewritten as one matrix product per layer. onnxruntime's CPU Conv
// runs a batch image by image: for a 32 ms frame that is a GEMM with 4 output columns per stream,
// and the convolutions took ~80% of a batched inference. Cutting the frames into windows
// (im2col across the whole batch) and multiplying once by the reshaped weights does the same
// arithmetic as one large GEMM: ~2.7x less CPU per frame in batches of 32-128 on this machine
// (loadtest/bench-vad.ts prints both), same probabilities to ~1e-6. Only the graph changes; the
// weights are the package's, reshaped by the graph itself (constant-folded when the session loads).
// The engine checks the rewritten model against the original when it loads and keeps the original
// if they disagree, so a future model this does not fit costs speed, never correctness.
import { bytesField, decodeMessage, encodeMessage, int64s, messageField, text, varintField, type WireField } from './protobuf-wire.ts';

// ONNX protobuf field numbers (onnx/onnx.proto).
const MODEL = { graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, initializer: 5 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, i: 3, t: 5, g: 6, ints: 8, graphs: 11, type: 20 } as const;
const ATTR_TYPE = { int: 2, tensor: 4, ints: 7 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const INT64 = 7;
/** Slice/Unsqueeze/Pad take their parameters as inputs from opset 13 on. */
const MIN_OPSET = 13;
const TO_END = 1n << 62n;

type Attr = { readonly name: string; readonly fields: WireField[] };
/** Convolutions rewritten so far, and a counter for fresh value names. */
type RewriteState = { rewritten: number; names: number };

const attrsOf = (node: WireField[]): Attr[] =>
  node.filter((f) => f.no === NODE.attribute).map((f) => {
    const fields = decodeMessage(f.payload);
    return { name: text(fields.find((a) => a.no === ATTR.name)) ?? '', fields };
  });
const intsOf = (attrs: Attr[], name: string): bigint[] | undefined => {
  const a = attrs.find((x) => x.name === name);
  return a && int64s(a.fields, ATTR.ints);
};
const strings = (fields: WireField[], no: number): string[] => fields.filter((f) => f.no === no).map((f) => text(f)!);

/** Rewrites every plain 1-D Conv of the model (all subgraphs included); returns the new model and how many. */
export function rewriteConvsAsMatMul(model: Uint8Array): { model: Uint8Array; rewritten: number } {
  const top = decodeMessage(model);
  const opset = top.filter((f) => f.no === MODEL.opsetImport).map((f) => decodeMessage(f.payload)).find((o) => !text(o.find((x) => x.no === OPSET.domain)));
  const version = Number(opset?.find((x) => x.no === OPSET.version)?.value ?? 0);
  if (version < MIN_OPSET) return { model, rewritten: 0 };
  const state = { rewritten: 0, names: 0 };
  const out = top.map((f) => (f.no === MODEL.graph ? messageField(f.no, rewriteGraph(decodeMessage(f.payload), new Map(), state)) : f));
  return { model: state.rewritten ? encodeMessage(out) : model, rewritten: state.rewritten };
}

function rewriteGraph(graph: WireField[], outerShapes: ReadonlyMap<string, bigint[]>, state: RewriteState): WireField[] {
  // Weight shapes by value name: from initializers and Constant nodes here and in enclosing graphs.
  const shapes = new Map(outerShapes);
  for (const f of graph) {
    if (f.no === GRAPH.initializer) tensorShape(decodeMessage(f.payload), shapes);
    if (f.no !== GRAPH.node) continue;
    const node = decodeMessage(f.payload);
    if (text(node.find((x) => x.no === NODE.opType)) !== 'Constant') continue;
    const value = attrsOf(node).find((a) => a.name === 'value')?.fields.find((x) => x.no === ATTR.t);
    const out = strings(node, NODE.output)[0];
    if (value && out) shapes.set(out, int64s(decodeMessage(value.payload), TENSOR.dims));
  }
  const result: WireField[] = [];
  for (const f of graph) {
    if (f.no !== GRAPH.node) {
      result.push(f);
      continue;
    }
    const node = decodeMessage(f.payload);
    const replaced = convAsMatMul(node, shapes, state);
    if (replaced) {
      state.rewritten++;
      result.push(...replaced.map((n) => messageField(GRAPH.node, n)));
    } else {
      result.push(hasSubgraph(node) ? messageField(GRAPH.node, rewriteSubgraphs(node, shapes, state)) : f);
    }
  }
  return result;
}

function tensorShape(tensor: WireField[], shapes: Map<string, bigint[]>): void {
  const name = text(tensor.find((x) => x.no === TENSOR.name));
  if (name) shapes.set(name, int64s(tensor, TENSOR.dims));
}

const hasSubgraph = (node: WireField[]): boolean => attrsOf(node).some((a) => a.fields.some((x) => x.no === ATTR.g || x.no === ATTR.graphs));

function rewriteSubgraphs(node: WireField[], shapes: ReadonlyMap<string, bigint[]>, state: RewriteState): WireField[] {
  return node.map((f) => {
    if (f.no !== NODE.attribute) return f;
    const attr = decodeMessage(f.payload).map((x) => (x.no === ATTR.g || x.no === ATTR.graphs ? messageField(x.no, rewriteGraph(decodeMessage(x.payload), shapes, state)) : x));
    return messageField(NODE.attribute, attr);
  });
}

/**
 * Conv(x [B, C, T], W [O, C, K], bias) with group 1, dilation 1, explicit pads, as
 * Transpose(MatMul(windows [B, T', C*K], W reshaped [O, C*K] transposed) + bias) -> [B, O, T'].
 * Undefined when the node is anything else.
 */
function convAsMatMul(node: WireField[], shapes: ReadonlyMap<string, bigint[]>, state: RewriteState): WireField[][] | undefined {
  if (text(node.find((x) => x.no === NODE.opType)) !== 'Conv' || text(node.find((x) => x.no === NODE.domain))) return undefined;
  const [x, w, bias] = strings(node, NODE.input);
  const [y] = strings(node, NODE.output);
  const attrs = attrsOf(node);
  const known = new Set(['kernel_shape', 'strides', 'pads', 'dilations', 'group']);
  const wShape = w ? shapes.get(w) : undefined;
  if (!x || !w || !y || !wShape || wShape.length !== 3 || attrs.some((a) => !known.has(a.name))) return undefined;
  const [o, c, k] = wShape.map(Number) as [number, number, number];
  const s = Number(intsOf(attrs, 'strides')?.[0] ?? 1n);
  const pads = intsOf(attrs, 'pads') ?? [0n, 0n];
  const group = attrs.find((a) => a.name === 'group')?.fields.find((f) => f.no === ATTR.i)?.value ?? 1n;
  if (group !== 1n || (intsOf(attrs, 'dilations') ?? [1n]).some((d) => d !== 1n) || pads.length !== 2) return undefined;

  const nodes: WireField[][] = [];
  const fresh = (what: string) => `parley_conv_mm_${state.names++}_${what}`;
  const op = (type: string, inputs: string[], extra: WireField[] = [], output = fresh(type)): string => {
    nodes.push([...inputs.map((i) => bytesField(NODE.input, i)), bytesField(NODE.output, output), bytesField(NODE.opType, type), ...extra]);
    return output;
  };
  const ints = (...values: Array<number | bigint>) => op('Constant', [], [tensorAttr('value', values.map(BigInt))]);

  let padded = x;
  if (pads[0] || pads[1]) padded = op('Pad', [x, ints(0, 0, pads[0]!, 0, 0, pads[1]!)]);
  let windows: string;
  if (c === 1 && k % s === 0) {
    // The STFT front end (one channel, windows of whole hops): the signal as rows of one hop
    // each; a window is k/s consecutive rows side by side.
    const hops = k / s;
    const rows = op('Reshape', [padded, ints(0, -1, s)]);
    const parts = Array.from({ length: hops }, (_, j) => op('Slice', [rows, ints(j), ints(j < hops - 1 ? -(hops - 1 - j) : TO_END), ints(1)]));
    windows = op('Concat', parts, [intAttr('axis', 2)]);
  } else {
    // k taps, each a strided slice [B, C, T']; stacked to [B, C, k, T'], then [B, T', C*k].
    const taps = Array.from({ length: k }, (_, j) => op('Unsqueeze', [op('Slice', [padded, ints(j), ints(j < k - 1 ? -(k - 1 - j) : TO_END), ints(2), ints(s)]), ints(2)]));
    const stacked = op('Transpose', [op('Concat', taps, [intAttr('axis', 2)])], [intsAttr('perm', [0, 3, 1, 2])]);
    windows = op('Reshape', [stacked, ints(0, 0, c * k)]);
  }
  const weights = op('Transpose', [op('Reshape', [w, ints(o, c * k)])], [intsAttr('perm', [1, 0])]);
  let product = op('MatMul', [windows, weights]);
  if (bias) product = op('Add', [product, bias]);
  op('Transpose', [product], [intsAttr('perm', [0, 2, 1])], y);
  return nodes;
}

const intAttr = (name: string, value: number): WireField =>
  messageField(NODE.attribute, [bytesField(ATTR.name, name), varintField(ATTR.i, value), varintField(ATTR.type, ATTR_TYPE.int)]);

const intsAttr = (name: string, values: number[]): WireField =>
  messageField(NODE.attribute, [bytesField(ATTR.name, name), ...values.map((v) => varintField(ATTR.ints, v)), varintField(ATTR.type, ATTR_TYPE.ints)]);

function tensorAttr(name: string, values: bigint[]): WireField {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  const tensor = [varintField(TENSOR.dims, values.length), varintField(TENSOR.dataType, INT64), bytesField(TENSOR.rawData, raw)];
  return messageField(NODE.attribute, [bytesField(ATTR.name, name), messageField(ATTR.t, tensor), varintField(ATTR.type, ATTR_TYPE.tensor)]);
}
