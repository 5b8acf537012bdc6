// Sums over every axis but the last (bias and BatchNorm gradients, BatchNorm's batch mean): out[c] = Σ_r x[r·cols + c].
// TF.js wasm reduces only its innermost axes, so for these it first transposes the whole tensor; this adds
// the rows as they lie in memory, four channels per SIMD lane group.
#include <wasm_simd128.h>

typedef unsigned int u32;

__attribute__((export_name("sum_rows")))
void sum_rows(const float* x, float* out, u32 rows, u32 cols, float scale) {
  u32 c = 0;
  // 16 columns at a time: four accumulators stay in registers over all rows.
  for (; c + 16 <= cols; c += 16) {
    v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (u32 r = 0; r < rows; r++) {
      const float* p = x + r * cols + c;
      s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(p + 4));
      s2 = wasm_f32x4_add(s2, wasm_v128_load(p + 8));
      s3 = wasm_f32x4_add(s3, wasm_v128_load(p + 12));
    }
    v128_t k = wasm_f32x4_splat(scale);
    wasm_v128_store(out + c, wasm_f32x4_mul(s0, k));
    wasm_v128_store(out + c + 4, wasm_f32x4_mul(s1, k));
    wasm_v128_store(out + c + 8, wasm_f32x4_mul(s2, k));
    wasm_v128_store(out + c + 12, wasm_f32x4_mul(s3, k));
  }
  for (; c + 4 <= cols; c += 4) {
    v128_t s = wasm_f32x4_splat(0);
    for (u32 r = 0; r < rows; r++) s = wasm_f32x4_add(s, wasm_v128_load(x + r * cols + c));
    wasm_v128_store(out + c, wasm_f32x4_mul(s, wasm_f32x4_splat(scale)));
  }
  for (; c < cols; c++) {
    float s = 0;
    for (u32 r = 0; r < rows; r++) s += x[r * cols + c];
    out[c] = s * scale;
  }
}
