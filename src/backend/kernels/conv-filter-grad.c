// The filter gradient of a convolution, NHWC, dilation 1:
//   dw[i, j, :, :] (ci × co) = Σ_{b, oh, ow} x[b, oh·s + i − padTop, ow·s + j − padLeft, :]ᵀ ⊗ dy[b, oh, ow, :]
// For each tap (i, j) and each output row, the input pixels it read are one run of a row of x, stride·ci
// floats apart, and the output pixels one run of dy: a product xᵀ·dy accumulated into the tap's ci × co block
// (gemm_tn_acc in batch-matmul.c). Composed from TF.js's kernels this needed transposes of x and dy and a
// convolution with an image-sized filter.
typedef unsigned int u32;
typedef int i32;

void gemm_tn_acc(const float* a, u32 lda, const float* b, u32 ldb, float* c, u32 m, u32 k, u32 n);

// First and one-past-last output column whose input column o·stride + j − pad lies in [0, w).
static u32 first_col(u32 j, u32 pad, u32 stride) {
  return j >= pad ? 0 : (pad - j + stride - 1) / stride;
}

__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float* x, const float* dy, float* dw, u32 batch, u32 h, u32 w, u32 ci, u32 oh, u32 ow, u32 co,
                      u32 kh, u32 kw, u32 strideH, u32 strideW, u32 padTop, u32 padLeft) {
  for (u32 t = 0; t < kh * kw * ci * co; t++) dw[t] = 0;
  if (kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0) {
    // A pointwise convolution reads every pixel once, in order: one product over all of them.
    gemm_tn_acc(x, ci, dy, co, dw, ci, batch * h * w, co);
    return;
  }
  for (u32 i = 0; i < kh; i++) {
    for (u32 j = 0; j < kw; j++) {
      float* d = dw + (i * kw + j) * ci * co;
      u32 lo = first_col(j, padLeft, strideW);
      // last column with o·stride + j − pad ≤ w − 1
      i32 hiCol = ((i32)w - 1 + (i32)padLeft - (i32)j);
      if (hiCol < 0) continue;
      u32 hi = (u32)hiCol / strideW + 1;
      if (hi > ow) hi = ow;
      if (lo >= hi) continue;
      for (u32 b = 0; b < batch; b++) {
        for (u32 y = 0; y < oh; y++) {
          i32 row = (i32)(y * strideH + i) - (i32)padTop;
          if (row < 0 || row >= (i32)h) continue;
          const float* xa = x + ((b * h + (u32)row) * w + (lo * strideW + j - padLeft)) * ci;
          const float* ga = dy + ((b * oh + y) * ow + lo) * co;
          gemm_tn_acc(xa, strideW * ci, ga, co, d, ci, hi - lo, co);
        }
      }
    }
  }
}
