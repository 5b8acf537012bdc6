// The activations the fused convolutions apply to their sums (TF.js's FusedConv2D / FusedDepthwiseConv2D codes
// as the callers pass them), shared by depthwise-conv.c and bias-act.c.
#pragma once
#include <wasm_simd128.h>

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2 };

// pmin/pmax (one instruction each on x86, where min/max's NaN and −0 rules take several); a NaN stays NaN.
static inline v128_t activate(v128_t v, unsigned int act) {
  if (act == ACT_RELU) return wasm_f32x4_pmax(v, wasm_f32x4_splat(0));
  if (act == ACT_RELU6) return wasm_f32x4_pmin(wasm_f32x4_pmax(v, wasm_f32x4_splat(0)), wasm_f32x4_splat(6.0f));
  return v;
}
