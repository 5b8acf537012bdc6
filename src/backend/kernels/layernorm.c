// LayerNorm over the last axis (the transformers' features, rows of `dim`), forward and backward each in one
// pass over the activations. Composed from TF.js's wasm kernels the pair takes about 18 passes, each writing a
// full tensor; here a row (at most a few KiB) is read from memory once and its further passes hit L1.
//   x̂ = (x − mean)·invstd,  invstd = 1/√(var + eps),  var biased (the mean of the squared deviations, two-pass
//   as tf.moments),  y = x̂·γ + β
// The statistics are taken of x − x₀ (x₀ the row's first value), which float32 holds exactly for values near x₀:
// a row at 1e4 with noise of 0.1 keeps its noise (summing the raw values loses 1 % of it, as tf.moments does), and
// a constant row comes out exactly x̂ = 0.
//   g = dy·γ,  dx = invstd·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy  (sums over rows)
// Any dim: four lanes a step and a scalar tail.
#include <wasm_simd128.h>

typedef unsigned int u32;

#define INLINE static inline __attribute__((always_inline))

INLINE float lane_sum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// Σ (x − x₀) over a row, two accumulators so the additions do not wait on each other's latency.
INLINE float row_shifted_sum(const float* x, float x0, u32 dim) {
  v128_t sv = wasm_f32x4_splat(x0), s0 = wasm_f32x4_splat(0), s1 = s0;
  u32 c = 0;
  for (; c + 8 <= dim; c += 8) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_sub(wasm_v128_load(x + c), sv));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_sub(wasm_v128_load(x + c + 4), sv));
  }
  if (c + 4 <= dim) { s0 = wasm_f32x4_add(s0, wasm_f32x4_sub(wasm_v128_load(x + c), sv)); c += 4; }
  float s = lane_sum(wasm_f32x4_add(s0, s1));
  for (; c < dim; c++) s += x[c] - x0;
  return s;
}

// (x − x₀) − k: x − mean, with k = mean − x₀.
INLINE v128_t centred4(const float* p, v128_t x0, v128_t k) {
  return wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(p), x0), k);
}

INLINE v128_t square_dev(const float* p, v128_t x0, v128_t k) {
  v128_t d = centred4(p, x0, k);
  return wasm_f32x4_mul(d, d);
}

// Σ (x − mean)² over a row.
INLINE float row_square_dev(const float* x, float x0, float k, u32 dim) {
  v128_t xv = wasm_f32x4_splat(x0), kv = wasm_f32x4_splat(k), s0 = wasm_f32x4_splat(0), s1 = s0;
  u32 c = 0;
  for (; c + 8 <= dim; c += 8) {
    s0 = wasm_f32x4_add(s0, square_dev(x + c, xv, kv));
    s1 = wasm_f32x4_add(s1, square_dev(x + c + 4, xv, kv));
  }
  if (c + 4 <= dim) { s0 = wasm_f32x4_add(s0, square_dev(x + c, xv, kv)); c += 4; }
  float s = lane_sum(wasm_f32x4_add(s0, s1));
  for (; c < dim; c++) s += ((x[c] - x0) - k) * ((x[c] - x0) - k);
  return s;
}

// y, x̂ [rows, dim] and invstd [rows] from x [rows, dim].
__attribute__((export_name("ln_forward")))
void ln_forward(const float* x, const float* gamma, const float* beta, float* y, float* xhat, float* invstd,
                u32 rows, u32 dim, float eps) {
  float n = (float)dim;
  for (u32 r = 0; r < rows; r++) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float* hr = xhat + r * dim;
    float x0 = xr[0];
    float k = row_shifted_sum(xr, x0, dim) / n;
    float is = 1.0f / __builtin_sqrtf(row_square_dev(xr, x0, k, dim) / n + eps);
    invstd[r] = is;
    v128_t xv = wasm_f32x4_splat(x0), kv = wasm_f32x4_splat(k), iv = wasm_f32x4_splat(is);
    u32 c = 0;
    for (; c + 4 <= dim; c += 4) {
      v128_t h = wasm_f32x4_mul(centred4(xr + c, xv, kv), iv);
      wasm_v128_store(hr + c, h);
      wasm_v128_store(yr + c, wasm_f32x4_add(wasm_f32x4_mul(h, wasm_v128_load(gamma + c)), wasm_v128_load(beta + c)));
    }
    for (; c < dim; c++) {
      float h = ((xr[c] - x0) - k) * is;
      hr[c] = h;
      yr[c] = h * gamma[c] + beta[c];
    }
  }
}

// Rows per block of the dγ, dβ sums: each block sums from zero into scratch and is then added to the totals,
// so float error grows with the block, not with every row of a batch.
enum { BLOCK_ROWS = 64 };

// dx [rows, dim], dγ and dβ [dim] from dy, x̂ [rows, dim], invstd [rows], γ [dim]. scratch: 2·dim floats.
__attribute__((export_name("ln_backward")))
void ln_backward(const float* dy, const float* xhat, const float* invstd, const float* gamma, float* dx,
                 float* dgamma, float* dbeta, u32 rows, u32 dim, float* scratch) {
  float n = (float)dim;
  float* bg = scratch;
  float* bb = scratch + dim;
  for (u32 c = 0; c < dim; c++) { dgamma[c] = 0; dbeta[c] = 0; }
  for (u32 r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    u32 r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    for (u32 c = 0; c < dim; c++) { bg[c] = 0; bb[c] = 0; }
    for (u32 r = r0; r < r1; r++) {
      const float* dr = dy + r * dim;
      const float* hr = xhat + r * dim;
      float* out = dx + r * dim;
      // Σ g and Σ g·x̂ over the row.
      v128_t sg = wasm_f32x4_splat(0), sgh = sg;
      u32 c = 0;
      for (; c + 4 <= dim; c += 4) {
        v128_t g = wasm_f32x4_mul(wasm_v128_load(dr + c), wasm_v128_load(gamma + c));
        sg = wasm_f32x4_add(sg, g);
        sgh = wasm_f32x4_add(sgh, wasm_f32x4_mul(g, wasm_v128_load(hr + c)));
      }
      float sum_g = lane_sum(sg), sum_gh = lane_sum(sgh);
      for (; c < dim; c++) {
        float g = dr[c] * gamma[c];
        sum_g += g;
        sum_gh += g * hr[c];
      }
      float is = invstd[r], mg = sum_g / n, mgh = sum_gh / n;
      v128_t isv = wasm_f32x4_splat(is), mgv = wasm_f32x4_splat(mg), mghv = wasm_f32x4_splat(mgh);
      for (c = 0; c + 4 <= dim; c += 4) {
        v128_t d = wasm_v128_load(dr + c), h = wasm_v128_load(hr + c);
        v128_t g = wasm_f32x4_mul(d, wasm_v128_load(gamma + c));
        v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(g, mgv), wasm_f32x4_mul(h, mghv));
        wasm_v128_store(out + c, wasm_f32x4_mul(t, isv));
        wasm_v128_store(bg + c, wasm_f32x4_add(wasm_v128_load(bg + c), wasm_f32x4_mul(d, h)));
        wasm_v128_store(bb + c, wasm_f32x4_add(wasm_v128_load(bb + c), d));
      }
      for (; c < dim; c++) {
        float d = dr[c], h = hr[c];
        out[c] = (d * gamma[c] - mg - h * mgh) * is;
        bg[c] += d * h;
        bb[c] += d;
      }
    }
    for (u32 c = 0; c < dim; c++) { dgamma[c] += bg[c]; dbeta[c] += bb[c]; }
  }
}
