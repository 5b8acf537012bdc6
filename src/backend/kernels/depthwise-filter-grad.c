// The filter gradient of a depthwise convolution (channel multiplier 1), NHWC:
//   dw[i, j, c] = Σ_{b, oh, ow} x[b, oh·s + i − padTop, ow·s + j − padLeft, c] · dy[b, oh, ow, c]
// (taps that fall in the zero padding add nothing). TF.js wasm has no kernel for it; composed from its
// depthwise convolution it becomes a convolution with a filter the size of the whole image, which XNNPACK
// runs slowly. Here each dy pixel is read once and multiplied into the kh·kw input pixels it saw, channels
// four to a SIMD vector; dw (kh·kw·c floats) stays in cache.
#include <wasm_simd128.h>

typedef unsigned int u32;
typedef int i32;

__attribute__((export_name("depthwise_filter_grad")))
void depthwise_filter_grad(const float* x, const float* dy, float* dw, u32 batch, u32 h, u32 w, u32 c,
                           u32 oh, u32 ow, u32 kh, u32 kw, u32 strideH, u32 strideW, u32 padTop, u32 padLeft) {
  for (u32 t = 0; t < kh * kw * c; t++) dw[t] = 0;
  for (u32 b = 0; b < batch; b++) {
    for (u32 y = 0; y < oh; y++) {
      for (u32 xo = 0; xo < ow; xo++) {
        const float* g = dy + ((b * oh + y) * ow + xo) * c;
        for (u32 i = 0; i < kh; i++) {
          i32 row = (i32)(y * strideH + i) - (i32)padTop;
          if (row < 0 || row >= (i32)h) continue;
          for (u32 j = 0; j < kw; j++) {
            i32 col = (i32)(xo * strideW + j) - (i32)padLeft;
            if (col < 0 || col >= (i32)w) continue;
            const float* xp = x + ((b * h + (u32)row) * w + (u32)col) * c;
            float* d = dw + (i * kw + j) * c;
            u32 k = 0;
            for (; k + 4 <= c; k += 4) {
              wasm_v128_store(d + k, wasm_f32x4_add(wasm_v128_load(d + k), wasm_f32x4_mul(wasm_v128_load(xp + k), wasm_v128_load(g + k))));
            }
            for (; k < c; k++) d[k] += xp[k] * g[k];
          }
        }
      }
    }
  }
}
