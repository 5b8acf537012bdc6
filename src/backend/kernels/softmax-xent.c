// Softmax cross-entropy of rows of logits against integer labels: the mean loss over the labelled rows and its
// gradient with respect to the logits, in one pass over the logits. Composed from TF.js's wasm kernels it takes
// about a dozen passes over [rows, cols] (max, subtract, exp, sum, log, one-hot, products, masks) in the forward
// and as many in the backward, two of them exps: for DeepLabv3's pixel loss at 256 px that is 11 M logits a step.
//   m = max_j x_j,  s = Σ_j e^(x_j − m),  loss_r = ln s − (x_l − m),  p_j = e^(x_j − m) / s
//   loss = Σ_{r labelled} loss_r / n,  grad_r = (p − onehot(l)) / n,  n = max(1, labelled rows)
// A row is labelled when its label is not `ignore`. A labelled row whose label lies outside [0, cols) has no
// one-hot (tf.oneHot gives zeros for it): it counts in n with loss 0 and gradient 0, as in the composed loss.
#include <wasm_simd128.h>
#include "simd-exp.h"

typedef unsigned int u32;

// ln s for a positive normal float: s = 2^e·m with m in [√½, √2), ln m = 2·atanh(z), z = (m − 1)/(m + 1),
// |z| < 0.172, by its series to z⁹ (truncation below 1e-9).
static float log_positive(float s) {
  union { float f; u32 u; } v = { s };
  int e = (int)(v.u >> 23) - 127;
  v.u = (v.u & 0x7fffffu) | 0x3f800000u;
  float m = v.f;
  if (m > 1.41421356f) { m *= 0.5f; e += 1; }
  float z = (m - 1.0f) / (m + 1.0f), z2 = z * z;
  float series = 1.0f + z2 * (1.0f / 3 + z2 * (1.0f / 5 + z2 * (1.0f / 7 + z2 * (1.0f / 9))));
  return (float)e * 0.693147180559945f + 2.0f * z * series;
}

static void zero_row(float* g, u32 cols) {
  for (u32 j = 0; j < cols; j++) g[j] = 0;
}

// loss: one float. grad: rows·cols floats, written whole (ignored rows are zeros).
__attribute__((export_name("softmax_xent")))
void softmax_xent(const float* x, const int* labels, float* grad, float* loss, u32 rows, u32 cols, int ignore) {
  u32 labelled = 0;
  for (u32 r = 0; r < rows; r++) labelled += labels[r] != ignore;
  float scale = 1.0f / (float)(labelled > 0 ? labelled : 1);
  u32 body = cols & ~3u;
  double total = 0;
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* gr = grad + r * cols;
    int label = labels[r];
    if (label == ignore || label < 0 || (u32)label >= cols) { zero_row(gr, cols); continue; }
    float m = xr[0];
    for (u32 j = 1; j < cols; j++) m = xr[j] > m ? xr[j] : m;
    // e^(x − m) waits in the gradient's row for the normalisation.
    v128_t vm = wasm_f32x4_splat(m), acc = wasm_f32x4_splat(0);
    u32 j = 0;
    for (; j < body; j += 4) {
      v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(xr + j), vm));
      wasm_v128_store(gr + j, e);
      acc = wasm_f32x4_add(acc, e);
    }
    float s = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) + (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
    for (; j < cols; j++) s += gr[j] = exp1(xr[j] - m);
    total += (double)(log_positive(s) - (xr[label] - m));
    float k = scale / s;
    v128_t vk = wasm_f32x4_splat(k);
    for (j = 0; j < body; j += 4) wasm_v128_store(gr + j, wasm_f32x4_mul(wasm_v128_load(gr + j), vk));
    for (; j < cols; j++) gr[j] *= k;
    gr[label] -= scale;
  }
  loss[0] = (float)(total / (double)(labelled > 0 ? labelled : 1));
}
