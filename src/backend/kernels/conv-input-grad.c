// The input gradient of a stride-1 convolution, NHWC, dilation 1:
//   dx[b, y, x, :] (ci) = Σ_{i, j} w[i, j, :, :] (ci × co) · dy[b, y + padTop − i, x + padLeft − j, :] (co)
// with dy zero outside its map. The wrapper (simd-filter-grads.ts) hands two scratch buffers: dy copied into a map
// padded with zeros so that every tap of every pixel reads inside it (dyp[r, c] = dy[r − (kh−1−padTop),
// c − (kw−1−padLeft)]), and the filter transposed per tap to [kh, kw, co, ci]. Then dx[y, x] = Σ_{i,j}
// wt[i, j]ᵀ·dyp[y + kh−1−i, x + kw−1−j]: register tiles of 4 pixels × 8 input channels that sum every tap and
// output channel before they store, no edge cases in the loop. TF.js's composed one (conv-grads.ts: a padded dy,
// a flipped filter and XNNPACK's convolution) ran the XXS's 3×3s at 9-27 GF/s, slowest on the 8×8 maps.
// Input channels in 4s (the wrapper leaves the rest to the composed one).
#include <wasm_simd128.h>

typedef unsigned int u32;

void transpose(const float* src, float* dst, u32 rows, u32 cols); // batch-matmul.c

// What every tile reads: the padded dy (pw pixels a row) and the transposed filter.
struct source { const float* dyp; const float* wt; u32 pw, co, ci, kh, kw; };

// np pixels (4 or 1) × nv vectors of input channels (2 or 1), constants where inlined. dyp points at the tile's
// first pixel for tap (0, 0) read as (kh−1, kw−1): tap (i, j) is rows i and columns j before it.
static inline __attribute__((always_inline))
void tile(struct source s, const float* dyp, u32 c, float* dx, u32 np, u32 nv) {
  v128_t acc[4][2];
  for (u32 p = 0; p < np; p++) for (u32 v = 0; v < nv; v++) acc[p][v] = wasm_f32x4_splat(0);
  for (u32 i = 0; i < s.kh; i++) {
    for (u32 j = 0; j < s.kw; j++) {
      const float* g = dyp - (i * s.pw + j) * s.co;
      const float* wp = s.wt + (i * s.kw + j) * s.co * s.ci + c;
      for (u32 o = 0; o < s.co; o++, wp += s.ci) {
        v128_t b[2];
        for (u32 v = 0; v < nv; v++) b[v] = wasm_v128_load(wp + 4 * v);
        for (u32 p = 0; p < np; p++) {
          v128_t a = wasm_v128_load32_splat(g + p * s.co + o);
          for (u32 v = 0; v < nv; v++) acc[p][v] = wasm_f32x4_add(acc[p][v], wasm_f32x4_mul(a, b[v]));
        }
      }
    }
  }
  for (u32 p = 0; p < np; p++) for (u32 v = 0; v < nv; v++) wasm_v128_store(dx + p * s.ci + c + 4 * v, acc[p][v]);
}

// One output row of dx: pixels in 4s then one by one, input channels in 8s then a 4.
static void row(struct source s, const float* dyp, float* dx, u32 w) {
  u32 c8 = s.ci & ~7u;
  u32 x = 0;
  for (; x + 4 <= w; x += 4) {
    const float* g = dyp + x * s.co;
    float* d = dx + x * s.ci;
    for (u32 c = 0; c < c8; c += 8) tile(s, g, c, d, 4, 2);
    if (c8 < s.ci) tile(s, g, c8, d, 4, 1);
  }
  for (; x < w; x++) {
    const float* g = dyp + x * s.co;
    float* d = dx + x * s.ci;
    for (u32 c = 0; c < c8; c += 8) tile(s, g, c, d, 1, 2);
    if (c8 < s.ci) tile(s, g, c8, d, 1, 1);
  }
}

__attribute__((export_name("conv_input_grad")))
void conv_input_grad(const float* dy, const float* w, float* dx, u32 batch, u32 h, u32 wd, u32 ci, u32 oh, u32 ow, u32 co,
                     u32 kh, u32 kw, u32 padTop, u32 padLeft, float* dyp, float* wt) {
  // The filter per tap, transposed: wt[i, j, o, c] = w[i, j, c, o].
  for (u32 t = 0; t < kh * kw; t++) transpose(w + t * ci * co, wt + t * co * ci, ci, co);
  // dy in a zero border: row r, column q of dyp hold dy[r − top, q − left] (top, left may be negative: padding
  // past the filter's reach leaves dy rows that no pixel reads).
  u32 ph = h + kh - 1, pw = wd + kw - 1;
  int top = (int)kh - 1 - (int)padTop, left = (int)kw - 1 - (int)padLeft;
  for (u32 b = 0; b < batch; b++) {
    for (u32 r = 0; r < ph; r++) {
      float* out = dyp + (b * ph + r) * pw * co;
      int y = (int)r - top;
      for (u32 q = 0; q < pw; q++, out += co) {
        int x = (int)q - left;
        if (y < 0 || y >= (int)oh || x < 0 || x >= (int)ow) {
          for (u32 o = 0; o < co; o++) out[o] = 0;
        } else {
          const float* src = dy + ((b * oh + (u32)y) * ow + (u32)x) * co;
          for (u32 o = 0; o < co; o++) out[o] = src[o];
        }
      }
    }
  }
  struct source s = { dyp, wt, pw, co, ci, kh, kw };
  for (u32 b = 0; b < batch; b++)
    for (u32 y = 0; y < h; y++)
      row(s, dyp + ((b * ph + y + kh - 1) * pw + kw - 1) * co, dx + (b * h + y) * wd * ci, wd);
}
