// Depthwise convolution (channel multiplier 1, NHWC) and its input gradient, both as a gather per output pixel:
//   forward  y[b, oy, ox, c]  = act(Σ_{i,j} x[b, oy·s + i − padTop, ox·s + j − padLeft, c] · w[i, j, c] + bias[c])
//   backward dx[b, r, q, c]   = Σ_{i,j} dy[b, (r + padTop − i)/s, (q + padLeft − j)/s, c] · w[i, j, c]
// where the backward sums only taps whose division is exact and lands inside dy (taps in the zero padding add
// nothing either way). TF.js's wasm forward is XNNPACK's, but the training path's input gradient is composed
// (a stride-dilated, padded copy of dy, then a convolution with the flipped filter). Here each output pixel's
// taps are found once and its channels summed sixteen (then four) at a time in registers, taps in the order
// i, j from a zero sum, as TF.js's cpu backend adds them; a 3×3 filter's interior pixels go a row at a time.
// Channels must be a multiple of 4 (the caller checks).
#include <wasm_simd128.h>
#include "simd-act.h"

typedef unsigned int u32;
typedef int i32;

// One output pixel: the taps form a grid of rows × cols, the first tap's input at `in` and weights at `w`;
// moving one tap row (col) moves the input by inRow (inCol) floats and the weights by wRow (wCol).
static inline __attribute__((always_inline)) void taps(float* out, const float* in, const float* w, u32 c, u32 rows, u32 cols,
                  i32 inRow, i32 inCol, i32 wRow, i32 wCol, const float* bias, u32 act) {
  u32 k = 0;
  for (; k + 16 <= c; k += 16) {
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (u32 i = 0; i < rows; i++) {
      for (u32 j = 0; j < cols; j++) {
        const float* xp = in + (i32)i * inRow + (i32)j * inCol + k;
        const float* wp = w + (i32)i * wRow + (i32)j * wCol + k;
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(wp)));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(wp + 4)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xp + 8), wasm_v128_load(wp + 8)));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(xp + 12), wasm_v128_load(wp + 12)));
      }
    }
    if (bias) {
      a0 = wasm_f32x4_add(a0, wasm_v128_load(bias + k));
      a1 = wasm_f32x4_add(a1, wasm_v128_load(bias + k + 4));
      a2 = wasm_f32x4_add(a2, wasm_v128_load(bias + k + 8));
      a3 = wasm_f32x4_add(a3, wasm_v128_load(bias + k + 12));
    }
    wasm_v128_store(out + k, activate(a0, act));
    wasm_v128_store(out + k + 4, activate(a1, act));
    wasm_v128_store(out + k + 8, activate(a2, act));
    wasm_v128_store(out + k + 12, activate(a3, act));
  }
  for (; k < c; k += 4) {
    v128_t a = wasm_f32x4_splat(0);
    for (u32 i = 0; i < rows; i++) {
      for (u32 j = 0; j < cols; j++) {
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(in + (i32)i * inRow + (i32)j * inCol + k),
                                             wasm_v128_load(w + (i32)i * wRow + (i32)j * wCol + k)));
      }
    }
    if (bias) a = wasm_f32x4_add(a, wasm_v128_load(bias + k));
    wasm_v128_store(out + k, activate(a, act));
  }
}

// taps() with a 3×3 filter's full grid unrolled, and for any other grid.
static void pixel(float* out, const float* in, const float* w, u32 c, u32 rows, u32 cols,
                  i32 inRow, i32 inCol, i32 wRow, i32 wCol, const float* bias, u32 act) {
  if (rows == 3 && cols == 3) taps(out, in, w, c, 3, 3, inRow, inCol, wRow, wCol, bias, act);
  else taps(out, in, w, c, rows, cols, inRow, inCol, wRow, wCol, bias, act);
}

// n pixels along an output row whose 3×3 taps all fall inside the map (the first one's top-left tap at `in`,
// the next pixel `step` floats on): four channels at a time, their nine weight vectors held in registers across
// the row, so each multiply-add loads only its input. Same order of sums as taps().
static inline __attribute__((always_inline)) void row_3x3_with(float* out, const float* in, const float* w, u32 c, u32 n,
                                                              i32 step, i32 inRow, const float* bias, u32 act) {
  for (u32 k = 0; k < c; k += 4) {
    const float* wk = w + k;
    v128_t w0 = wasm_v128_load(wk), w1 = wasm_v128_load(wk + c), w2 = wasm_v128_load(wk + 2 * c);
    v128_t w3 = wasm_v128_load(wk + 3 * c), w4 = wasm_v128_load(wk + 4 * c), w5 = wasm_v128_load(wk + 5 * c);
    v128_t w6 = wasm_v128_load(wk + 6 * c), w7 = wasm_v128_load(wk + 7 * c), w8 = wasm_v128_load(wk + 8 * c);
    v128_t bk = bias ? wasm_v128_load(bias + k) : wasm_f32x4_splat(0);
    const float* r0 = in + k;
    for (u32 p = 0; p < n; p++, r0 += step) {
      const float* r1 = r0 + inRow;
      const float* r2 = r1 + inRow;
      v128_t a = wasm_f32x4_splat(0);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r0), w0));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r0 + c), w1));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r0 + 2 * c), w2));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r1), w3));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r1 + c), w4));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r1 + 2 * c), w5));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2), w6));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2 + c), w7));
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2 + 2 * c), w8));
      if (bias) a = wasm_f32x4_add(a, bk);
      wasm_v128_store(out + p * c + k, activate(a, act));
    }
  }
}

// The row with the bias and activation fixed at compile time (tested once per row, not per pixel).
static void row_3x3(float* out, const float* in, const float* w, u32 c, u32 n, i32 step, i32 inRow, const float* bias, u32 act) {
  if (!bias && act == ACT_LINEAR) row_3x3_with(out, in, w, c, n, step, inRow, 0, ACT_LINEAR);
  else if (act == ACT_RELU6) row_3x3_with(out, in, w, c, n, step, inRow, bias, ACT_RELU6);
  else if (act == ACT_RELU) row_3x3_with(out, in, w, c, n, step, inRow, bias, ACT_RELU);
  else row_3x3_with(out, in, w, c, n, step, inRow, bias, ACT_LINEAR);
}

static u32 min_u(i32 a, i32 b) { return (u32)(a < b ? a : b); }
static u32 max0(i32 a) { return (u32)(a > 0 ? a : 0); }

// The border pixel at ox (a tap outside the map on some side).
static void border_pixel(const float* x, const float* w, const float* bias, float* y, u32 b, u32 oy, u32 ox, u32 h, u32 wd,
                         u32 c, u32 oh, u32 ow, u32 kh, u32 kw, u32 strideW, i32 top, u32 i0, u32 i1, u32 padLeft, u32 act) {
  i32 left = (i32)(ox * strideW) - (i32)padLeft;
  u32 j0 = max0(-left), j1 = min_u((i32)kw, (i32)wd - left);
  pixel(y + ((b * oh + oy) * ow + ox) * c, x + (((i32)(b * h) + top + (i32)i0) * (i32)wd + left + (i32)j0) * (i32)c,
        w + (i0 * kw + j0) * c, c, i1 > i0 ? i1 - i0 : 0, j1 > j0 ? j1 - j0 : 0, (i32)(wd * c), (i32)c, (i32)(kw * c), (i32)c, bias, act);
}

// hasBias 0: no bias (bias is then not read). act: 0 linear, 1 relu, 2 relu6.
__attribute__((export_name("depthwise_conv")))
void depthwise_conv(const float* x, const float* w, const float* bias, float* y, u32 batch, u32 h, u32 wd, u32 c,
                    u32 oh, u32 ow, u32 kh, u32 kw, u32 strideH, u32 strideW, u32 padTop, u32 padLeft,
                    u32 hasBias, u32 act) {
  if (!hasBias) bias = 0;
  for (u32 b = 0; b < batch; b++) {
    for (u32 oy = 0; oy < oh; oy++) {
      // Taps i with 0 ≤ oy·s + i − padTop < h.
      i32 top = (i32)(oy * strideH) - (i32)padTop;
      u32 i0 = max0(-top), i1 = min_u((i32)kh, (i32)h - top);
      u32 ox = 0;
      if (kh == 3 && kw == 3 && i1 - i0 == 3) {
        // The pixels between the left and right borders: ox·s − padLeft ≥ 0 and ox·s − padLeft + 3 ≤ w.
        u32 from = (padLeft + strideW - 1) / strideW;
        u32 to = wd + padLeft >= 3 ? (wd + padLeft - 3) / strideW + 1 : 0;
        if (to > ow) to = ow;
        if (to > from) {
          // Border pixels on the left first, then the row.
          for (; ox < from; ox++) border_pixel(x, w, bias, y, b, oy, ox, h, wd, c, oh, ow, kh, kw, strideW, top, i0, i1, padLeft, act);
          row_3x3(y + ((b * oh + oy) * ow + from) * c, x + (((i32)(b * h) + top) * (i32)wd + (i32)(from * strideW) - (i32)padLeft) * (i32)c,
                  w, c, to - from, (i32)(strideW * c), (i32)(wd * c), bias, act);
          ox = to;
        }
      }
      for (; ox < ow; ox++) border_pixel(x, w, bias, y, b, oy, ox, h, wd, c, oh, ow, kh, kw, strideW, top, i0, i1, padLeft, act);
    }
  }
}

// The taps i of one input row r that reach dy: i ≡ r + pad (mod s), 0 ≤ (r + pad − i)/s < on, 0 ≤ i < k.
// Sets the first tap, the count, and the dy row it reads.
static u32 input_grad_taps(u32 r, u32 pad, u32 s, u32 on, u32 k, u32* first, u32* from) {
  u32 t = r + pad;
  u32 i = t % s;
  // Raise i (by s) until (t − i)/s < on.
  if (t / s >= on) i += (t / s - on + 1) * s;
  *first = i;
  if (i >= k || i > t) return 0;
  *from = (t - i) / s;
  u32 last = k - 1 < t ? k - 1 : t;
  return (last - i) / s + 1;
}

// At stride 1 the input gradient is the forward convolution of dy with the filter turned by 180° (into `flipped`,
// kh·kw·c floats of scratch) and padding k − 1 − pad: that takes the forward's row sweep. Other strides gather.
__attribute__((export_name("depthwise_input_grad")))
void depthwise_input_grad(const float* dy, const float* w, float* dx, u32 batch, u32 h, u32 wd, u32 c,
                          u32 oh, u32 ow, u32 kh, u32 kw, u32 strideH, u32 strideW, u32 padTop, u32 padLeft, float* flipped) {
  if (strideH == 1 && strideW == 1 && padTop < kh && padLeft < kw) {
    for (u32 t = 0; t < kh * kw; t++) {
      for (u32 k = 0; k < c; k++) flipped[t * c + k] = w[(kh * kw - 1 - t) * c + k];
    }
    depthwise_conv(dy, flipped, 0, dx, batch, oh, ow, c, h, wd, kh, kw, 1, 1, kh - 1 - padTop, kw - 1 - padLeft, 0, ACT_LINEAR);
    return;
  }
  for (u32 b = 0; b < batch; b++) {
    for (u32 r = 0; r < h; r++) {
      u32 i0 = 0, dyRow = 0;
      u32 rows = input_grad_taps(r, padTop, strideH, oh, kh, &i0, &dyRow);
      for (u32 q = 0; q < wd; q++) {
        u32 j0 = 0, dyCol = 0;
        u32 cols = input_grad_taps(q, padLeft, strideW, ow, kw, &j0, &dyCol);
        // The next tap (i + s) reads the dy row above.
        pixel(dx + ((b * h + r) * wd + q) * c, dy + ((b * oh + dyRow) * ow + dyCol) * c, w + (i0 * kw + j0) * c, c, rows, cols,
              -(i32)(ow * c), -(i32)c, (i32)(strideH * kw * c), (i32)(strideW * c), 0, ACT_LINEAR);
      }
    }
  }
}
