// A small ONNX graph builder on top of onnx-proto (protobufjs with ONNX's own schema): nodes,
// initializers and attributes are proto messages; nothing here encodes bytes by hand.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export type AttrValue = number | number[] | string | { float: number };

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.INT, i: v };
}

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian whatever the host). */
function leBytes(a: Float32Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(a.length * a.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  if (a instanceof Float32Array) for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setBigInt64(i * 8, a[i], true);
  return out;
}

/** Collects nodes and initializers; every value gets a unique name derived from the node that makes it. */
export class OnnxGraph {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly int64Cache = new Map<string, string>();

  constructor(readonly opset: number) {}

  private unique(name: string): string {
    let n = name;
    for (let i = 1; this.used.has(n); i++) n = `${name}_${i}`;
    this.used.add(n);
    return n;
  }

  /** A float32 initializer. */
  weight(name: string, dims: number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims}]`);
    const n = this.unique(name);
    this.initializers.push({ name: n, dims, dataType: FLOAT, rawData: leBytes(data) });
    return n;
  }

  /** A scalar float32 constant (shared by name). */
  scalar(name: string, value: number): string {
    return this.weight(name, [], new Float32Array([value]));
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds); identical values share one initializer. */
  int64(values: number[]): string {
    const key = values.join(',');
    const cached = this.int64Cache.get(key);
    if (cached) return cached;
    const n = this.unique(`const_i64_${values.map((v) => (v < 0 ? `m${-v}` : String(v))).join('_') || 'empty'}`);
    this.initializers.push({ name: n, dims: [values.length], dataType: INT64, rawData: leBytes(BigInt64Array.from(values.map(BigInt))) });
    this.int64Cache.set(key, n);
    return n;
  }

  /** Adds one node named `name` (the timm module path, '/'-separated, then the op); returns its outputs. */
  node(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const n = this.unique(name);
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? `${n}:out` : `${n}:out${i}`));
    this.nodes.push({
      name: n, opType: op, input: inputs, output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** node() for the common one-output case. */
  op(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, name, attrs)[0];
  }
}

export interface ModelIO {
  input: { name: string; dims: (number | string)[] };
  output: { name: string; dims: (number | string)[] };
}

/** A graph output: the value that becomes it, its name and shape, and its element type (float32 unless int64). */
export interface GraphOutput {
  name: string;
  dims: (number | string)[];
  value: string;
  int64?: boolean;
}

function valueInfo(name: string, dims: (number | string)[], elemType = FLOAT): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/**
 * Serialises the graph as a ModelProto with one output. The graph's last node output is renamed to the output's
 * name and `io.input.name` must be what the first nodes read.
 */
export function encodeModel(g: OnnxGraph, io: ModelIO, finalValue: string, meta: Record<string, string>, graphName: string): Uint8Array {
  return encodeGraph(g, io.input, [{ ...io.output, value: finalValue }], meta, graphName);
}

/** Serialises the graph with several outputs, each node output that makes one renamed to the output's name. */
export function encodeGraph(g: OnnxGraph, input: ModelIO['input'], outputs: GraphOutput[], meta: Record<string, string>, graphName: string): Uint8Array {
  // Route each value to its declared output name with an Identity-free rename.
  const names = new Map(outputs.map((o) => [o.value, o.name]));
  if (names.size !== outputs.length) throw new Error('ONNX export: two outputs of one value');
  for (const node of g.nodes) {
    node.output = node.output!.map((o) => names.get(o) ?? o);
    node.input = node.input!.map((i) => names.get(i) ?? i);
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: g.opset }],
    producerName: 'mobilevit-studio',
    producerVersion: '0.1.0',
    graph: {
      name: graphName,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(input.name, input.dims)],
      output: outputs.map((o) => valueInfo(o.name, o.dims, o.int64 ? INT64 : FLOAT)),
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}
