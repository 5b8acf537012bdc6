// What `export` offers, apart from the code that writes it: the command's flags list these without loading
// TF.js or the ONNX builder.
export const EXPORT_FORMATS = ['onnx', 'safetensors', 'timm-recipe'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const DEFAULT_OPSET = 17;
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;
