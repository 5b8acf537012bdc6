// The bias and activation of a fused 1×1 convolution, after its product (simd-pointwise-conv.ts):
//   y[r, c] = act(y[r, c] + bias[c]) in place, rows×cols row-major; hasBias 0: act(y) (bias is not read).
// One SIMD pass over y in place, where TF.js's composed ops would make two new tensors (add, then activation).
#include <wasm_simd128.h>
#include "simd-act.h"

typedef unsigned int u32;

// The loop compiled once per activation (a constant act: no test per vector).
static inline __attribute__((always_inline)) void rows_with(float* y, const float* bias, u32 rows, u32 cols, u32 hasBias, u32 act) {
  for (u32 r = 0; r < rows; r++, y += cols) {
    u32 c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t v = wasm_v128_load(y + c);
      if (hasBias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
      wasm_v128_store(y + c, activate(v, act));
    }
    for (; c < cols; c++) y[c] = wasm_f32x4_extract_lane(activate(wasm_f32x4_splat(hasBias ? y[c] + bias[c] : y[c]), act), 0);
  }
}

// act: 0 linear, 1 relu, 2 relu6 (simd-act.h).
__attribute__((export_name("bias_act")))
void bias_act(float* y, const float* bias, u32 rows, u32 cols, u32 hasBias, u32 act) {
  if (act == ACT_RELU) rows_with(y, bias, rows, cols, hasBias, ACT_RELU);
  else if (act == ACT_RELU6) rows_with(y, bias, rows, cols, hasBias, ACT_RELU6);
  else rows_with(y, bias, rows, cols, hasBias, ACT_LINEAR);
}
