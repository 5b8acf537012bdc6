// The filter gradient of a convolution, NHWC, dilation 1:
//   dw[i, j, :, :] (ci × co) = Σ_{b, oh, ow} x[b, oh·s + i − padTop, ow·s + j − padLeft, :]ᵀ ⊗ dy[b, oh, ow, :]
// For each tap (i, j), the input pixels one output row reads are one run of a row of x, stride·ci floats apart,
// and its output pixels one run of dy: a sum of outer products into the tap's ci × co block. Composed from TF.js's
// kernels this needed transposes of x and dy and a convolution with an image-sized filter.
// The block is walked in register tiles (4 ci × 8 co) that each sum a group of output rows of about 128 pixels
// before they are stored: the group's x and dy stay in L1/L2 while every tile passes over them. Summing all rows of
// a tap in one tile was slower at 32×32 maps (the tap's x and dy leave the cache between tiles); one row per tile
// pass was as fast at 32×32 and 16×16, 10-20 % slower at 8×8 (docs/measured.md, "Convolution gradients"). Input
// channels left over from the 4s (the stem's 3) take a 1-3 × 8 tile, not a scalar loop (2.3-2.7× on the stem).
// A pointwise stride-1 convolution reads every pixel once, in order: one product over all of them (gemm_tn_acc).
#include <wasm_simd128.h>

typedef unsigned int u32;
typedef int i32;

void gemm_tn_acc(const float* a, u32 lda, const float* b, u32 ldb, float* c, u32 m, u32 k, u32 n);

// Output pixels a tile pass sums before it stores (a group of whole rows, at least one).
#define GROUP_PIXELS 128

// A tap's row group: `rows` rows of n pixels; x's pixels xs floats apart and its rows xr apart, dy's pixels co
// floats apart (its rows gr apart). Every function adds the group's products to d (row stride co).
struct runs { const float* x; u32 xs, xr; const float* g; u32 co, gr, rows, n; };

// mr (1-4, a constant where it is inlined) input channels × 8 output channels: up to 8 accumulators, the x
// values broadcast from memory.
static inline __attribute__((always_inline)) void tile_mx8(struct runs r, u32 c, u32 j, float* d, u32 mr) {
  u32 co = r.co;
  v128_t lo[4], hi[4];
  for (u32 m = 0; m < mr; m++) { lo[m] = wasm_v128_load(d + (c + m) * co + j); hi[m] = wasm_v128_load(d + (c + m) * co + j + 4); }
  for (u32 q = 0; q < r.rows; q++) {
    const float* xp = r.x + q * r.xr + c;
    const float* gp = r.g + q * r.gr + j;
    for (u32 p = 0; p < r.n; p++, xp += r.xs, gp += co) {
      v128_t b0 = wasm_v128_load(gp), b1 = wasm_v128_load(gp + 4);
      for (u32 m = 0; m < mr; m++) {
        v128_t a = wasm_v128_load32_splat(xp + m);
        lo[m] = wasm_f32x4_add(lo[m], wasm_f32x4_mul(a, b0)); hi[m] = wasm_f32x4_add(hi[m], wasm_f32x4_mul(a, b1));
      }
    }
  }
  for (u32 m = 0; m < mr; m++) { wasm_v128_store(d + (c + m) * co + j, lo[m]); wasm_v128_store(d + (c + m) * co + j + 4, hi[m]); }
}

// Output channels past the last 8: one input channel × 4 at a time, then one by one.
static void columns_left(struct runs r, u32 j0, float* d, u32 ci) {
  u32 co = r.co;
  for (u32 c = 0; c < ci; c++) {
    u32 j = j0;
    for (; j + 4 <= co; j += 4) {
      v128_t acc = wasm_v128_load(d + c * co + j);
      for (u32 q = 0; q < r.rows; q++)
        for (u32 p = 0; p < r.n; p++)
          acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load32_splat(r.x + q * r.xr + p * r.xs + c), wasm_v128_load(r.g + q * r.gr + p * co + j)));
      wasm_v128_store(d + c * co + j, acc);
    }
    for (; j < co; j++) {
      float s = d[c * co + j];
      for (u32 q = 0; q < r.rows; q++)
        for (u32 p = 0; p < r.n; p++) s += r.x[q * r.xr + p * r.xs + c] * r.g[q * r.gr + p * co + j];
      d[c * co + j] = s;
    }
  }
}

// The whole ci × co block of one tap over one row group.
static void tap_block(struct runs r, float* d, u32 ci) {
  u32 co8 = r.co & ~7u, ci4 = ci & ~3u;
  for (u32 c = 0; c < ci4; c += 4)
    for (u32 j = 0; j < co8; j += 8) tile_mx8(r, c, j, d, 4);
  for (u32 j = 0; j < co8; j += 8) {
    switch (ci - ci4) {
      case 3: tile_mx8(r, ci4, j, d, 3); break;
      case 2: tile_mx8(r, ci4, j, d, 2); break;
      case 1: tile_mx8(r, ci4, j, d, 1); break;
    }
  }
  if (co8 < r.co) columns_left(r, co8, d, ci);
}

// First and one-past-last output index o whose input index o·stride + k − pad lies in [0, size), clamped to out.
static u32 first_in(u32 k, u32 pad, u32 stride) {
  return k >= pad ? 0 : (pad - k + stride - 1) / stride;
}
static u32 end_in(u32 k, u32 pad, u32 stride, u32 size, u32 out) {
  i32 last = (i32)size - 1 + (i32)pad - (i32)k;
  if (last < 0) return 0;
  u32 end = (u32)last / stride + 1;
  return end < out ? end : out;
}

__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float* x, const float* dy, float* dw, u32 batch, u32 h, u32 w, u32 ci, u32 oh, u32 ow, u32 co,
                      u32 kh, u32 kw, u32 strideH, u32 strideW, u32 padTop, u32 padLeft) {
  for (u32 t = 0; t < kh * kw * ci * co; t++) dw[t] = 0;
  if (kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && oh == h && ow == w) {
    gemm_tn_acc(x, ci, dy, co, dw, ci, batch * h * w, co);
    return;
  }
  u32 group = ow >= GROUP_PIXELS ? 1 : GROUP_PIXELS / ow;
  for (u32 i = 0; i < kh; i++) {
    u32 y0 = first_in(i, padTop, strideH), y1 = end_in(i, padTop, strideH, h, oh);
    for (u32 j = 0; j < kw; j++) {
      u32 lo = first_in(j, padLeft, strideW), hi = end_in(j, padLeft, strideW, w, ow);
      if (y0 >= y1 || lo >= hi) continue;
      float* d = dw + (i * kw + j) * ci * co;
      for (u32 b = 0; b < batch; b++) {
        for (u32 y = y0; y < y1; y += group) {
          struct runs r = {
            x + ((b * h + y * strideH + i - padTop) * w + lo * strideW + j - padLeft) * ci, strideW * ci, strideH * w * ci,
            dy + ((b * oh + y) * ow + lo) * co, co, ow * co, y1 - y < group ? y1 - y : group, hi - lo,
          };
          tap_block(r, d, ci);
        }
      }
    }
  }
}
