// Registers, for the wasm backend only, the convolution gradient kernels it does not ship, so that
// training (tf.grads through conv2d / depthwiseConv2d) runs on wasm, and replaces its slow
// Conv2DBackpropInput (see conv-grads.ts for the measurements). The kernels run ordinary tf ops:
// inside a kernelFunc the engine stops recording gradients (kernelDepth > 0), ops dispatch to wasm's own
// kernels, and a returned Tensor is passed through as the kernel's output.
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad, type ConvGradParams } from './conv-grads.ts';
import { sharedIdentity } from './wasm-identity.ts';

type Shape4 = [number, number, number, number];

function asTensor4D(t: tf.TensorInfo | undefined, kernel: string, name: string): tf.Tensor4D {
  // Ops hand kernels their input Tensors; a bare TensorInfo would mean another kernel called us directly.
  if (!(t instanceof tf.Tensor) || t.rank !== 4) {
    throw new Error(`${kernel}: input "${name}" must be a rank-4 tensor, got ${t instanceof tf.Tensor ? 'rank ' + t.rank : 'a TensorInfo'}`);
  }
  return t as tf.Tensor4D;
}

function requireNHWC(dataFormat: unknown, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got ${String(dataFormat)}`);
  }
}

function params(attrs: tf.NamedAttrMap): ConvGradParams {
  return {
    strides: attrs.strides as ConvGradParams['strides'],
    pad: attrs.pad as ConvGradParams['pad'],
    dimRoundingMode: attrs.dimRoundingMode as ConvGradParams['dimRoundingMode'],
    dilations: attrs.dilations as ConvGradParams['dilations'],
  };
}

const MISSING: Array<{ kernelName: string; kernelFunc: tf.KernelFunc }> = [
  {
    kernelName: 'Conv2DBackpropFilter',
    kernelFunc: ({ inputs, attrs = {} }) => {
      requireNHWC(attrs.dataFormat, 'Conv2DBackpropFilter');
      const x = asTensor4D(inputs.x, 'Conv2DBackpropFilter', 'x');
      const dy = asTensor4D(inputs.dy, 'Conv2DBackpropFilter', 'dy');
      return conv2dFilterGrad(x, dy, attrs.filterShape as Shape4, params(attrs));
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    kernelFunc: ({ inputs, attrs = {} }) => {
      const x = asTensor4D(inputs.x, 'DepthwiseConv2dNativeBackpropFilter', 'x');
      const dy = asTensor4D(inputs.dy, 'DepthwiseConv2dNativeBackpropFilter', 'dy');
      return depthwiseFilterGrad(x, dy, attrs.filterShape as Shape4, params(attrs));
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    kernelFunc: ({ inputs, attrs = {} }) => {
      const dy = asTensor4D(inputs.dy, 'DepthwiseConv2dNativeBackpropInput', 'dy');
      const filter = asTensor4D(inputs.filter, 'DepthwiseConv2dNativeBackpropInput', 'filter');
      return depthwiseInputGrad(attrs.inputShape as Shape4, dy, filter, params(attrs));
    },
  },
];

/** wasm's own Conv2DBackpropInput stays in charge of what ours does not do (NCHW). */
function fasterConv2DBackpropInput(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs = {} } = args;
    if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return builtin(args);
    const dy = asTensor4D(inputs.dy, 'Conv2DBackpropInput', 'dy');
    const filter = asTensor4D(inputs.filter, 'Conv2DBackpropInput', 'filter');
    return conv2dInputGrad(attrs.inputShape as Shape4, dy, filter, params(attrs));
  };
}

const ours = new WeakSet<tf.KernelFunc>([...MISSING.map((k) => k.kernelFunc), sharedIdentity]);

/**
 * Marks a kernel function that wraps ours (the studio's SIMD kernels, wasm-simd-kernels.ts), so that a later
 * registerWasmGradKernels() leaves it in place instead of wrapping it again.
 */
export function markStudioKernel(kernelFunc: tf.KernelFunc): void {
  ours.add(kernelFunc);
}

/**
 * Registers those of the three missing kernels that wasm does not already have (a later tfjs release
 * that ships its own keeps them), wraps its Conv2DBackpropInput and replaces its copying Identity
 * (wasm-identity.ts). Safe to call any number of times. Returns the names it registered now.
 */
export function registerWasmGradKernels(): string[] {
  const added: string[] = [];
  for (const k of MISSING) {
    if (tf.getKernel(k.kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName: 'wasm', kernelFunc: k.kernelFunc });
    added.push(k.kernelName);
  }
  const builtin = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (builtin && !ours.has(builtin.kernelFunc)) {
    const kernelFunc = fasterConv2DBackpropInput(builtin.kernelFunc);
    ours.add(kernelFunc);
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    // Keeps the builtin's setup (it binds the wasm function the NCHW fallback calls).
    tf.registerKernel({ ...builtin, kernelFunc });
    added.push('Conv2DBackpropInput');
  }
  const identity = tf.getKernel('Identity', 'wasm');
  if (identity && !ours.has(identity.kernelFunc)) {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ ...identity, kernelFunc: sharedIdentity });
    added.push('Identity');
  }
  return added;
}

/** The kernel names this module provides or replaces for wasm. */
export const WASM_GRAD_KERNELS = [...MISSING.map((k) => k.kernelName), 'Conv2DBackpropInput', 'Identity'];
