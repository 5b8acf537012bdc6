// Training-mode BatchNorm with its activation, over every axis but the last (channels-last), in as few
// passes over the activations as the maths allows. Composed from TF.js's wasm kernels, the forward takes
// five passes (moments, normalise, sigmoid, multiply) and the backward about twelve, each writing a full
// tensor; here the statistics read x once, the forward reads x and writes y, and the backward reads x and
// dy twice and writes dx once (SiLU instead writes its d into dx and reads it back: its derivative, an exp
// and a division, costs more than that traffic).
//   y  = act(z),  z = x̂·γ + β = (x − mean)·γ·invstd + β,  x̂ = (x − mean)·invstd,  invstd = 1/√(var + eps),  var biased
//   d  = dy·act'(z)
//   dγ = Σ d·x̂,  dβ = Σ d,  dx = γ·invstd·(d − dβ/n − x̂·dγ/n)
// act: simd-act.h's codes (relu6: derivative 1 on 0 < z < 6, as the model's composed version; relu: derivative
// 1 on z > 0, DeepLabv3's ASPP) and ACT_SILU, z·σ(z).
// Each kernel's loop is written once (an always-inlined body) and compiled per activation through a switch
// on constants, so no activation test runs per vector. pmin/pmax (a < b ? b : a) are one instruction where
// min/max are several; with z as the first operand a NaN z still comes out NaN.
#include <wasm_simd128.h>
#include "simd-act.h"
#include "simd-exp.h"

typedef unsigned int u32;

enum { ACT_SILU = 3 }; // past simd-act.h's codes (simd-kernel-types.ts BATCH_NORM_ACT_CODES)

#define INLINE static inline __attribute__((always_inline))

INLINE v128_t one_plus_exp_neg(v128_t z) {
  return wasm_f32x4_add(wasm_f32x4_splat(1.0f), exp4_coarse(wasm_f32x4_neg(z)));
}

INLINE v128_t act4(v128_t z, u32 act) {
  // z·σ(z) = z / (1 + e^−z): one division.
  if (act == ACT_SILU) return wasm_f32x4_div(z, one_plus_exp_neg(z));
  return activate(z, act);
}

// act'(z)·g
INLINE v128_t act_grad4(v128_t z, v128_t g, u32 act) {
  if (act == ACT_RELU6) {
    v128_t inside = wasm_v128_and(wasm_f32x4_gt(z, wasm_f32x4_splat(0)), wasm_f32x4_lt(z, wasm_f32x4_splat(6.0f)));
    return wasm_v128_and(g, inside);
  }
  if (act == ACT_SILU) {
    v128_t one = wasm_f32x4_splat(1.0f);
    v128_t s = wasm_f32x4_div(one, one_plus_exp_neg(z));
    return wasm_f32x4_mul(g, wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(z, wasm_f32x4_sub(one, s)))));
  }
  if (act == ACT_RELU) return wasm_v128_and(g, wasm_f32x4_gt(z, wasm_f32x4_splat(0)));
  return g;
}

// The per-channel sums walk a block of rows once per four channels: blocks of at most 16 KiB per tensor stay
// in the 32 KiB L1 cache between those walks, so each byte comes from memory once. Each block's sums start
// from zero and are added to the total, so float error grows with the block, not with every row of a batch.
static u32 block_rows(u32 cols) {
  u32 rows = 4096 / cols;
  return rows ? rows : 1;
}

static u32 min_u32(u32 a, u32 b) { return a < b ? a : b; }

// x, or (x − m)² where `squared` (a constant at each call, so each is its own loop), four channels.
INLINE v128_t term(const float* p, v128_t m, u32 squared) {
  if (!squared) return wasm_v128_load(p);
  v128_t d = wasm_f32x4_sub(wasm_v128_load(p), m);
  return wasm_f32x4_mul(d, d);
}

// Σ x or Σ (x − m)² over rows [r0, r1) of channels c..c+3, four rows a step into four sums: one sum's chain
// of additions would wait out each add's latency.
INLINE v128_t column_sum(const float* x, v128_t m, u32 r0, u32 r1, u32 cols, u32 c, u32 squared) {
  v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
  u32 r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* p = x + r * cols + c;
    s0 = wasm_f32x4_add(s0, term(p, m, squared));
    s1 = wasm_f32x4_add(s1, term(p + cols, m, squared));
    s2 = wasm_f32x4_add(s2, term(p + 2 * cols, m, squared));
    s3 = wasm_f32x4_add(s3, term(p + 3 * cols, m, squared));
  }
  for (; r < r1; r++) s0 = wasm_f32x4_add(s0, term(x + r * cols + c, m, squared));
  return wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
}

// mean and biased variance per channel, in one read of x: each block's mean and squared deviations about it
// (the block read twice while in cache) are merged into the running ones by the pairwise update
//   mean += δ·n_b/n,  M2 += M2_b + δ²·n_a·n_b/n   (δ = block mean − running mean),
// as exact as the two-pass variance of centred values. var holds M2 until the end. cols % 4 == 0.
__attribute__((export_name("bn_moments")))
void bn_moments(const float* x, float* mean, float* var, u32 rows, u32 cols) {
  for (u32 c = 0; c < cols; c++) { mean[c] = 0; var[c] = 0; }
  u32 block = block_rows(cols);
  for (u32 r0 = 0; r0 < rows; r0 += block) {
    u32 r1 = min_u32(r0 + block, rows);
    v128_t inv_nb = wasm_f32x4_splat(1.0f / (float)(r1 - r0));
    v128_t wb = wasm_f32x4_splat((float)(r1 - r0) / (float)r1);
    v128_t wab = wasm_f32x4_splat((float)r0 * (float)(r1 - r0) / (float)r1);
    for (u32 c = 0; c < cols; c += 4) {
      v128_t mb = wasm_f32x4_mul(column_sum(x, wasm_f32x4_splat(0), r0, r1, cols, c, 0), inv_nb);
      v128_t m2 = column_sum(x, mb, r0, r1, cols, c, 1);
      v128_t ma = wasm_v128_load(mean + c), delta = wasm_f32x4_sub(mb, ma);
      wasm_v128_store(mean + c, wasm_f32x4_add(ma, wasm_f32x4_mul(delta, wb)));
      v128_t add = wasm_f32x4_add(m2, wasm_f32x4_mul(wasm_f32x4_mul(delta, delta), wab));
      wasm_v128_store(var + c, wasm_f32x4_add(wasm_v128_load(var + c), add));
    }
  }
  v128_t inv = wasm_f32x4_splat(1.0f / (float)rows);
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

// z = (x − mean)·(γ·invstd) + β: centred first, so a mean far from zero cancels exactly.
INLINE v128_t pre_activation(v128_t centred, v128_t scale, v128_t beta) {
  return wasm_f32x4_add(wasm_f32x4_mul(centred, scale), beta);
}

INLINE void forward_rows(const float* x, const float* mean, const float* scale, const float* beta, float* y,
                         u32 rows, u32 cols, u32 act) {
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t centred = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c));
      wasm_v128_store(yr + c, act4(pre_activation(centred, wasm_v128_load(scale + c), wasm_v128_load(beta + c)), act));
    }
  }
}

// y = act(x̂·γ + β). scratch: 2·cols floats. cols % 4 == 0.
__attribute__((export_name("bn_act_forward")))
void bn_act_forward(const float* x, const float* mean, const float* var, const float* gamma, const float* beta, float* y,
                    u32 rows, u32 cols, float eps, u32 act, float* scratch) {
  channel_factors(var, gamma, scratch, cols, eps);
  const float* scale = scratch + cols;
  switch (act) {
    case ACT_RELU6: forward_rows(x, mean, scale, beta, y, rows, cols, ACT_RELU6); break;
    case ACT_SILU: forward_rows(x, mean, scale, beta, y, rows, cols, ACT_SILU); break;
    case ACT_RELU: forward_rows(x, mean, scale, beta, y, rows, cols, ACT_RELU); break;
    default: forward_rows(x, mean, scale, beta, y, rows, cols, ACT_LINEAR);
  }
}

// Channel vectors the backward's first pass holds in registers.
typedef struct { v128_t mean, scale, beta; } Channels;

// One row's part of the backward's sums: d = dy·act'(z) into Σd and Σd·(x − mean); SiLU's d kept in dx.
INLINE void accumulate_row(const float* x, const float* dy, float* dx, Channels ch, v128_t* sd, v128_t* sdc, u32 act) {
  v128_t centred = wasm_f32x4_sub(wasm_v128_load(x), ch.mean);
  v128_t d = act_grad4(pre_activation(centred, ch.scale, ch.beta), wasm_v128_load(dy), act);
  if (act == ACT_SILU) wasm_v128_store(dx, d);
  *sd = wasm_f32x4_add(*sd, d);
  *sdc = wasm_f32x4_add(*sdc, wasm_f32x4_mul(d, centred));
}

// The backward's first pass: Σd into dbeta and Σd·(x − mean) into dgamma, two rows a step into two pairs of
// sums (the additions' latency bounds a loop this short).
INLINE void backward_sums(const float* x, const float* dy, const float* mean, const float* scale, const float* beta,
                          float* dx, float* dgamma, float* dbeta, u32 rows, u32 cols, u32 act) {
  for (u32 c = 0; c < cols; c++) { dgamma[c] = 0; dbeta[c] = 0; }
  u32 block = block_rows(cols);
  for (u32 r0 = 0; r0 < rows; r0 += block) {
    u32 r1 = min_u32(r0 + block, rows);
    for (u32 c = 0; c < cols; c += 4) {
      Channels ch = { wasm_v128_load(mean + c), wasm_v128_load(scale + c), wasm_v128_load(beta + c) };
      v128_t sd0 = wasm_f32x4_splat(0), sdc0 = sd0, sd1 = sd0, sdc1 = sd0;
      u32 r = r0;
      for (; r + 2 <= r1; r += 2) {
        u32 i = r * cols + c;
        accumulate_row(x + i, dy + i, dx + i, ch, &sd0, &sdc0, act);
        accumulate_row(x + i + cols, dy + i + cols, dx + i + cols, ch, &sd1, &sdc1, act);
      }
      if (r < r1) accumulate_row(x + r * cols + c, dy + r * cols + c, dx + r * cols + c, ch, &sd0, &sdc0, act);
      wasm_v128_store(dbeta + c, wasm_f32x4_add(wasm_v128_load(dbeta + c), wasm_f32x4_add(sd0, sd1)));
      wasm_v128_store(dgamma + c, wasm_f32x4_add(wasm_v128_load(dgamma + c), wasm_f32x4_add(sdc0, sdc1)));
    }
  }
}

// dx = d·a + (x − mean)·b + k per channel, a = γ·invstd, b = −a·invstd·dγ/n, k = −a·dβ/n.
INLINE void backward_dx(const float* x, const float* dy, const float* mean, const float* scale, const float* beta,
                        const float* b, const float* k, float* dx, u32 rows, u32 cols, u32 act) {
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    for (u32 c = 0; c < cols; c += 4) {
      v128_t centred = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c));
      v128_t d = act == ACT_SILU ? wasm_v128_load(dxr + c)
                                 : act_grad4(pre_activation(centred, wasm_v128_load(scale + c), wasm_v128_load(beta + c)), wasm_v128_load(dyr + c), act);
      v128_t t = wasm_f32x4_add(wasm_f32x4_mul(centred, wasm_v128_load(b + c)), wasm_v128_load(k + c));
      wasm_v128_store(dxr + c, wasm_f32x4_add(wasm_f32x4_mul(d, wasm_v128_load(scale + c)), t));
    }
  }
}

INLINE void backward(const float* x, const float* dy, const float* mean, const float* beta, float* dx, float* dgamma,
                     float* dbeta, u32 rows, u32 cols, u32 act, float* scratch) {
  float* invstd = scratch;
  const float* scale = scratch + cols;
  float* k = scratch + 2 * cols;
  backward_sums(x, dy, mean, scale, beta, dx, dgamma, dbeta, rows, cols, act);
  v128_t neg_inv = wasm_f32x4_splat(-1.0f / (float)rows);
  for (u32 c = 0; c < cols; c += 4) {
    v128_t is = wasm_v128_load(invstd + c), a = wasm_v128_load(scale + c);
    v128_t dg = wasm_f32x4_mul(wasm_v128_load(dgamma + c), is);
    wasm_v128_store(dgamma + c, dg);
    wasm_v128_store(k + c, wasm_f32x4_mul(a, wasm_f32x4_mul(wasm_v128_load(dbeta + c), neg_inv)));
    // b takes invstd's place: the last use of invstd.
    wasm_v128_store(invstd + c, wasm_f32x4_mul(wasm_f32x4_mul(a, is), wasm_f32x4_mul(dg, neg_inv)));
  }
  backward_dx(x, dy, mean, scale, beta, invstd, k, dx, rows, cols, act);
}

// dx, dγ, dβ of y = act(x̂·γ + β) given dy. scratch: 3·cols floats. cols % 4 == 0.
__attribute__((export_name("bn_act_backward")))
void bn_act_backward(const float* x, const float* dy, const float* mean, const float* var, const float* gamma, const float* beta,
                     float* dx, float* dgamma, float* dbeta, u32 rows, u32 cols, float eps, u32 act, float* scratch) {
  channel_factors(var, gamma, scratch, cols, eps);
  switch (act) {
    case ACT_RELU6: backward(x, dy, mean, beta, dx, dgamma, dbeta, rows, cols, ACT_RELU6, scratch); break;
    case ACT_SILU: backward(x, dy, mean, beta, dx, dgamma, dbeta, rows, cols, ACT_SILU, scratch); break;
    case ACT_RELU: backward(x, dy, mean, beta, dx, dgamma, dbeta, rows, cols, ACT_RELU, scratch); break;
    default: backward(x, dy, mean, beta, dx, dgamma, dbeta, rows, cols, ACT_LINEAR, scratch);
  }
}
