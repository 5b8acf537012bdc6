// Softmax over rows (attention's weights: rows of 16, 64 or 256 tokens at XXS, B·P·heads·N of them) and its
// gradient, each in one kernel. TF.js's wasm Softmax and the composed gradient (a product for Σ dy·y, a subtract
// and a multiply) pass over the N×N weights several times; here each row is read once or twice while in cache.
//   forward:  m = max_j x_j,  y_j = e^(x_j − m) / Σ_k e^(x_k − m)
//   backward: dx_j = y_j·(dy_j − Σ_k dy_k·y_k)
#include <wasm_simd128.h>
#include "simd-exp.h"

typedef unsigned int u32;

static float lanes_sum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static float row_max(const float* x, u32 cols, u32 body) {
  float m = x[0];
  u32 j = 0;
  if (body) {
    v128_t vm = wasm_v128_load(x), vm1 = vm;
    for (j = 4; j + 8 <= body; j += 8) {
      vm = wasm_f32x4_pmax(vm, wasm_v128_load(x + j));
      vm1 = wasm_f32x4_pmax(vm1, wasm_v128_load(x + j + 4));
    }
    for (; j < body; j += 4) vm = wasm_f32x4_pmax(vm, wasm_v128_load(x + j));
    vm = wasm_f32x4_pmax(vm, vm1);
    float a = wasm_f32x4_extract_lane(vm, 0), b = wasm_f32x4_extract_lane(vm, 1);
    float c = wasm_f32x4_extract_lane(vm, 2), d = wasm_f32x4_extract_lane(vm, 3);
    a = a > b ? a : b;
    c = c > d ? c : d;
    m = a > c ? a : c;
  }
  for (; j < cols; j++) m = x[j] > m ? x[j] : m;
  return m;
}

// x, y: rows·cols floats (y may not alias x). e^(x − m) waits in y's row for the normalisation.
__attribute__((export_name("softmax_rows")))
void softmax_rows(const float* x, float* y, u32 rows, u32 cols) {
  u32 body = cols & ~3u;
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = row_max(xr, cols, body);
    // Four vectors a round (V8 does not unroll), each with its own sum.
    v128_t vm = wasm_f32x4_splat(m), acc0 = wasm_f32x4_splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    u32 j = 0;
    for (; j + 16 <= body; j += 16) {
      v128_t e0 = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j), vm));
      v128_t e1 = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j + 4), vm));
      v128_t e2 = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j + 8), vm));
      v128_t e3 = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j + 12), vm));
      wasm_v128_store(yr + j, e0);
      wasm_v128_store(yr + j + 4, e1);
      wasm_v128_store(yr + j + 8, e2);
      wasm_v128_store(yr + j + 12, e3);
      acc0 = wasm_f32x4_add(acc0, e0);
      acc1 = wasm_f32x4_add(acc1, e1);
      acc2 = wasm_f32x4_add(acc2, e2);
      acc3 = wasm_f32x4_add(acc3, e3);
    }
    for (; j < body; j += 4) {
      v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j), vm));
      wasm_v128_store(yr + j, e);
      acc0 = wasm_f32x4_add(acc0, e);
    }
    float s = lanes_sum(wasm_f32x4_add(wasm_f32x4_add(acc0, acc1), wasm_f32x4_add(acc2, acc3)));
    for (; j < cols; j++) s += yr[j] = exp1(xr[j] - m);
    // s ≥ 1: the maximum's own term is e^0.
    float k = 1.0f / s;
    v128_t vk = wasm_f32x4_splat(k);
    for (j = 0; j < body; j += 4) wasm_v128_store(yr + j, wasm_f32x4_mul(wasm_v128_load(yr + j), vk));
    for (; j < cols; j++) yr[j] *= k;
  }
}

// y, dy, dx: rows·cols floats (dx may alias dy: each element is read before it is written).
__attribute__((export_name("softmax_rows_grad")))
void softmax_rows_grad(const float* y, const float* dy, float* dx, u32 rows, u32 cols) {
  u32 body = cols & ~3u;
  for (u32 r = 0; r < rows; r++) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    v128_t acc0 = wasm_f32x4_splat(0), acc1 = acc0;
    u32 j = 0;
    for (; j + 8 <= body; j += 8) {
      acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(yr + j)));
      acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(dyr + j + 4), wasm_v128_load(yr + j + 4)));
    }
    for (; j < body; j += 4) acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(yr + j)));
    float dot = lanes_sum(wasm_f32x4_add(acc0, acc1));
    for (; j < cols; j++) dot += dyr[j] * yr[j];
    v128_t vd = wasm_f32x4_splat(dot);
    for (j = 0; j < body; j += 4) {
      wasm_v128_store(dxr + j, wasm_f32x4_mul(wasm_v128_load(yr + j), wasm_f32x4_sub(wasm_v128_load(dyr + j), vd)));
    }
    for (; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}
