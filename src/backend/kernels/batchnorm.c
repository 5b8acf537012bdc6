// Training-mode BatchNorm with its activation, over every axis but the last (channels-last), in as few
// passes over the activations as the maths allows. Composed from TF.js's wasm kernels, the forward takes
// five passes (moments, normalise, sigmoid, multiply) and the backward about twelve, each writing a full
// tensor; here the forward takes three reads and one write, the backward two reads of x, one of dy, and dx
// written twice (first the activation's part d, then the result).
//   y  = act(x̂·γ + β),  x̂ = (x − mean)·invstd,  invstd = 1/√(var + eps),  var biased
//   d  = dy·act'(x̂·γ + β)
//   dγ = Σ d·x̂,  dβ = Σ d,  dx = γ·invstd·(d − dβ/n − x̂·dγ/n)
// act: 0 none, 1 relu6 (derivative 1 on 0 < z < 6, as the model's composed version), 2 silu z·σ(z),
// 3 relu (derivative 1 on z > 0; DeepLabv3's ASPP).
#include <wasm_simd128.h>
#include "simd-exp.h"

typedef unsigned int u32;

enum { ACT_NONE = 0, ACT_RELU6 = 1, ACT_SILU = 2, ACT_RELU = 3 };

static v128_t sigmoid4(v128_t z) {
  v128_t one = wasm_f32x4_splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_neg(z))));
}

static v128_t act4(v128_t z, u32 act) {
  if (act == ACT_RELU6) return wasm_f32x4_min(wasm_f32x4_max(z, wasm_f32x4_splat(0)), wasm_f32x4_splat(6.0f));
  if (act == ACT_SILU) return wasm_f32x4_mul(z, sigmoid4(z));
  if (act == ACT_RELU) return wasm_f32x4_max(z, wasm_f32x4_splat(0));
  return z;
}

// act'(z)·g
static v128_t act_grad4(v128_t z, v128_t g, u32 act) {
  if (act == ACT_RELU6) {
    v128_t inside = wasm_v128_and(wasm_f32x4_gt(z, wasm_f32x4_splat(0)), wasm_f32x4_lt(z, wasm_f32x4_splat(6.0f)));
    return wasm_v128_and(g, inside);
  }
  if (act == ACT_SILU) {
    v128_t s = sigmoid4(z);
    v128_t one = wasm_f32x4_splat(1.0f);
    return wasm_f32x4_mul(g, wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(z, wasm_f32x4_sub(one, s)))));
  }
  if (act == ACT_RELU) return wasm_v128_and(g, wasm_f32x4_gt(z, wasm_f32x4_splat(0)));
  return g;
}

// Rows in blocks: each block's sums start from zero and are added to the total, so float error grows with
// the block, not with every row of a batch.
#define ROW_BLOCK 256

// mean and biased variance per channel (two passes: the variance of centred values). cols % 4 == 0.
__attribute__((export_name("bn_moments")))
void bn_moments(const float* x, float* mean, float* var, u32 rows, u32 cols) {
  for (u32 c = 0; c < cols; c++) { mean[c] = 0; var[c] = 0; }
  for (u32 r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
    u32 r1 = r0 + ROW_BLOCK < rows ? r0 + ROW_BLOCK : rows;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t s = wasm_f32x4_splat(0);
      for (u32 r = r0; r < r1; r++) s = wasm_f32x4_add(s, wasm_v128_load(x + r * cols + c));
      wasm_v128_store(mean + c, wasm_f32x4_add(wasm_v128_load(mean + c), s));
    }
  }
  v128_t inv = wasm_f32x4_splat(1.0f / (float)rows);
  for (u32 c = 0; c < cols; c += 4) wasm_v128_store(mean + c, wasm_f32x4_mul(wasm_v128_load(mean + c), inv));
  for (u32 r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
    u32 r1 = r0 + ROW_BLOCK < rows ? r0 + ROW_BLOCK : rows;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t m = wasm_v128_load(mean + c), s = wasm_f32x4_splat(0);
      for (u32 r = r0; r < r1; r++) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(x + r * cols + c), m);
        s = wasm_f32x4_add(s, wasm_f32x4_mul(d, d));
      }
      wasm_v128_store(var + c, wasm_f32x4_add(wasm_v128_load(var + c), s));
    }
  }
  for (u32 c = 0; c < cols; c += 4) wasm_v128_store(var + c, wasm_f32x4_mul(wasm_v128_load(var + c), inv));
}

// invstd into scratch[0..cols), γ·invstd into scratch[cols..2·cols).
static void channel_factors(const float* var, const float* gamma, float* scratch, u32 cols, float eps) {
  for (u32 c = 0; c < cols; c += 4) {
    v128_t invstd = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_sqrt(wasm_f32x4_add(wasm_v128_load(var + c), wasm_f32x4_splat(eps))));
    wasm_v128_store(scratch + c, invstd);
    wasm_v128_store(scratch + cols + c, wasm_f32x4_mul(invstd, wasm_v128_load(gamma + c)));
  }
}

// y = act(x̂·γ + β). scratch: 2·cols floats. cols % 4 == 0.
__attribute__((export_name("bn_act_forward")))
void bn_act_forward(const float* x, const float* mean, const float* var, const float* gamma, const float* beta, float* y,
                    u32 rows, u32 cols, float eps, u32 act, float* scratch) {
  channel_factors(var, gamma, scratch, cols, eps);
  const float* invstd = scratch;
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c)), wasm_v128_load(invstd + c));
      v128_t z = wasm_f32x4_add(wasm_f32x4_mul(xh, wasm_v128_load(gamma + c)), wasm_v128_load(beta + c));
      wasm_v128_store(yr + c, act4(z, act));
    }
  }
}

// dx, dγ, dβ of y = act(x̂·γ + β) given dy. scratch: 2·cols floats. cols % 4 == 0.
__attribute__((export_name("bn_act_backward")))
void bn_act_backward(const float* x, const float* dy, const float* mean, const float* var, const float* gamma, const float* beta,
                     float* dx, float* dgamma, float* dbeta, u32 rows, u32 cols, float eps, u32 act, float* scratch) {
  channel_factors(var, gamma, scratch, cols, eps);
  const float* invstd = scratch;
  const float* scale = scratch + cols;
  for (u32 c = 0; c < cols; c++) { dgamma[c] = 0; dbeta[c] = 0; }
  for (u32 r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
    u32 r1 = r0 + ROW_BLOCK < rows ? r0 + ROW_BLOCK : rows;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t m = wasm_v128_load(mean + c), is = wasm_v128_load(invstd + c), g = wasm_v128_load(gamma + c), b = wasm_v128_load(beta + c);
      v128_t sd = wasm_f32x4_splat(0), sdx = sd;
      for (u32 r = r0; r < r1; r++) {
        v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + r * cols + c), m), is);
        v128_t d = act_grad4(wasm_f32x4_add(wasm_f32x4_mul(xh, g), b), wasm_v128_load(dy + r * cols + c), act);
        // d waits in dx for the second pass (the activation's derivative, an exp and a division for SiLU, once).
        wasm_v128_store(dx + r * cols + c, d);
        sd = wasm_f32x4_add(sd, d);
        sdx = wasm_f32x4_add(sdx, wasm_f32x4_mul(d, xh));
      }
      wasm_v128_store(dbeta + c, wasm_f32x4_add(wasm_v128_load(dbeta + c), sd));
      wasm_v128_store(dgamma + c, wasm_f32x4_add(wasm_v128_load(dgamma + c), sdx));
    }
  }
  v128_t inv = wasm_f32x4_splat(1.0f / (float)rows);
  for (u32 r = 0; r < rows; r++) {
    for (u32 c = 0; c < cols; c += 4) {
      v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + r * cols + c), wasm_v128_load(mean + c)), wasm_v128_load(invstd + c));
      v128_t d = wasm_v128_load(dx + r * cols + c);
      v128_t k1 = wasm_f32x4_mul(wasm_v128_load(dbeta + c), inv), k2 = wasm_f32x4_mul(wasm_v128_load(dgamma + c), inv);
      v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(d, k1), wasm_f32x4_mul(xh, k2));
      wasm_v128_store(dx + r * cols + c, wasm_f32x4_mul(wasm_v128_load(scale + c), t));
    }
  }
}
