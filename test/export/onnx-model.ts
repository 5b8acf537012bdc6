// Reads an exported ONNX file back for the export tests: its graph (nodes, outputs) and metadata.
import onnxProto from 'onnx-proto';

/** Parses a serialised model. */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnxProto.onnx.ModelProto.decode(bytes);
}
