// Batched matrix products for TF.js's wasm backend (registered by src/backend/wasm-kernels.ts):
//   c[b] = op(a[b]) · op(b[b]),  op = identity or transpose,  row-major float32.
// TF.js wasm's own BatchMatMul runs attention's small products (64×16·16×64, 256 of them) at about
// 2 GFLOP/s and its transposed products several times slower still; this kernel runs register-blocked
// loops with 128-bit SIMD: a transposed a directly (outer products, gemm_tn), a transposed b packed once. It reads and writes TF.js's own memory (imported), so there is no copy in or out, and it
// uses no stack or static data of its own: every scratch buffer comes from the caller (TF.js's malloc).
#include <wasm_simd128.h>

typedef unsigned int u32;

// dst[j*rows + i] = src[i*cols + j]: a rows×cols matrix transposed.
void transpose(const float* src, float* dst, u32 rows, u32 cols) {
  for (u32 i = 0; i < rows; i++)
    for (u32 j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}

// b's columns in panels of eight (the tile's width), each panel k×8 contiguous: panels[j·k + p·8 + q] = b[p·n + j + q].
// The tile then reads b as one sequential stream rather than k rows n floats apart (~10 % on the linear
// layers' products, up to 1.8× where a row of b spans many cache lines); the columns past the last full panel
// are read from b itself. Worth it only where several blocks of four rows reuse the panels: with one (m < 8:
// attention over 4 tokens, a 4-row product) the copy cost up to 25 %, so those read b in place.
static void pack_panels(const float* b, float* panels, u32 k, u32 n) {
  for (u32 j = 0; j + 8 <= n; j += 8) {
    float* dst = panels + j * k;
    for (u32 p = 0; p < k; p++, dst += 8) {
      const float* src = b + p * n + j;
      wasm_v128_store(dst, wasm_v128_load(src));
      wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
    }
  }
}

// c (m×n) = a (m×k, row stride k) · b (k×n, row stride n), all contiguous. The 4×8 tile reads its eight columns
// of b from tiles + j·jscale, rows step floats apart: b's panels (jscale k, step 8) or b itself (1, n). Inlined
// into the two callers below, so that each has its constants: a step known only at run time costs ~6 %.
static inline __attribute__((always_inline)) void gemm_body(const float* a, const float* b, const float* tiles, u32 jscale, u32 step,
                                                            float* c, u32 m, u32 k, u32 n) {
  u32 i = 0;
  // Four rows of c at a time, eight columns (two vectors) per row: 8 accumulators.
  for (; i + 4 <= m; i += 4) {
    const float* a0 = a + i * k;
    const float* a1 = a0 + k;
    const float* a2 = a1 + k;
    const float* a3 = a2 + k;
    u32 j = 0;
    for (; j + 8 <= n; j += 8) {
      v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      const float* bp = tiles + j * jscale;
      for (u32 p = 0; p < k; p++, bp += step) {
        v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
        v128_t x0 = wasm_f32x4_splat(a0[p]), x1 = wasm_f32x4_splat(a1[p]), x2 = wasm_f32x4_splat(a2[p]), x3 = wasm_f32x4_splat(a3[p]);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
      }
      float* cr = c + i * n + j;
      wasm_v128_store(cr, c00); wasm_v128_store(cr + 4, c01); cr += n;
      wasm_v128_store(cr, c10); wasm_v128_store(cr + 4, c11); cr += n;
      wasm_v128_store(cr, c20); wasm_v128_store(cr + 4, c21); cr += n;
      wasm_v128_store(cr, c30); wasm_v128_store(cr + 4, c31);
    }
    for (; j + 4 <= n; j += 4) {
      v128_t c0 = wasm_f32x4_splat(0), c1 = c0, c2 = c0, c3 = c0;
      for (u32 p = 0; p < k; p++) {
        v128_t bv = wasm_v128_load(b + p * n + j);
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_f32x4_splat(a0[p]), bv));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_f32x4_splat(a1[p]), bv));
        c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_f32x4_splat(a2[p]), bv));
        c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_f32x4_splat(a3[p]), bv));
      }
      wasm_v128_store(c + i * n + j, c0); wasm_v128_store(c + (i + 1) * n + j, c1);
      wasm_v128_store(c + (i + 2) * n + j, c2); wasm_v128_store(c + (i + 3) * n + j, c3);
    }
    for (; j < n; j++) {
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (u32 p = 0; p < k; p++) {
        float bv = b[p * n + j];
        s0 += a0[p] * bv; s1 += a1[p] * bv; s2 += a2[p] * bv; s3 += a3[p] * bv;
      }
      c[i * n + j] = s0; c[(i + 1) * n + j] = s1; c[(i + 2) * n + j] = s2; c[(i + 3) * n + j] = s3;
    }
  }
  for (; i < m; i++) {
    const float* ar = a + i * k;
    u32 j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t acc = wasm_f32x4_splat(0);
      for (u32 p = 0; p < k; p++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(ar[p]), wasm_v128_load(b + p * n + j)));
      wasm_v128_store(c + i * n + j, acc);
    }
    for (; j < n; j++) {
      float s = 0;
      for (u32 p = 0; p < k; p++) s += ar[p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
}

// b from its panels where at least two blocks of four rows read them (pack_panels says why), else in place.
#define PACK_MIN_ROWS 8
static __attribute__((noinline)) void gemm_packed(const float* a, const float* b, const float* panels, float* c, u32 m, u32 k, u32 n) {
  gemm_body(a, b, panels, k, 8, c, m, k, n);
}
static __attribute__((noinline)) void gemm_in_place(const float* a, const float* b, float* c, u32 m, u32 k, u32 n) {
  gemm_body(a, b, b, 1, n, c, m, k, n);
}

// c (m×n) += aᵀ · b with a's rows (m values each) lda floats apart and b's rows (n values) ldb apart: the
// weight-gradient form (xᵀ·dy), whose k is every pixel of a batch. Each step p adds a's row p times b's row p,
// an outer product, so neither operand is transposed; k goes in tiles that keep both tiles in cache while every
// block of c passes over them. a's four values of a step are broadcast straight from memory (load32_splat, the
// load unit's work) rather than loaded as one vector and shuffled: on x64 the shuffles share the ports of the
// multiplies and adds, and cost about 7 % of the kernel's speed. Also used by conv-filter-grad.c.
#define K_TILE 128
void gemm_tn_acc(const float* a, u32 lda, const float* b, u32 ldb, float* c, u32 m, u32 k, u32 n) {
  for (u32 p0 = 0; p0 < k; p0 += K_TILE) {
    u32 p1 = p0 + K_TILE < k ? p0 + K_TILE : k;
    u32 i = 0;
    for (; i + 4 <= m; i += 4) {
      u32 j = 0;
      for (; j + 8 <= n; j += 8) {
        float* cr = c + i * n + j;
        v128_t c00 = wasm_v128_load(cr), c01 = wasm_v128_load(cr + 4);
        v128_t c10 = wasm_v128_load(cr + n), c11 = wasm_v128_load(cr + n + 4);
        v128_t c20 = wasm_v128_load(cr + 2 * n), c21 = wasm_v128_load(cr + 2 * n + 4);
        v128_t c30 = wasm_v128_load(cr + 3 * n), c31 = wasm_v128_load(cr + 3 * n + 4);
        for (u32 p = p0; p < p1; p++) {
          const float* ap = a + p * lda + i;
          const float* bp = b + p * ldb + j;
          v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
          v128_t x0 = wasm_v128_load32_splat(ap), x1 = wasm_v128_load32_splat(ap + 1);
          v128_t x2 = wasm_v128_load32_splat(ap + 2), x3 = wasm_v128_load32_splat(ap + 3);
          c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
          c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
          c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
          c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
        }
        wasm_v128_store(cr, c00); wasm_v128_store(cr + 4, c01);
        wasm_v128_store(cr + n, c10); wasm_v128_store(cr + n + 4, c11);
        wasm_v128_store(cr + 2 * n, c20); wasm_v128_store(cr + 2 * n + 4, c21);
        wasm_v128_store(cr + 3 * n, c30); wasm_v128_store(cr + 3 * n + 4, c31);
      }
      // Four columns left (attention's 20-wide heads): one vector per row instead of four scalar columns.
      if (j + 4 <= n) {
        float* cr = c + i * n + j;
        v128_t c0 = wasm_v128_load(cr), c1 = wasm_v128_load(cr + n), c2 = wasm_v128_load(cr + 2 * n), c3 = wasm_v128_load(cr + 3 * n);
        for (u32 p = p0; p < p1; p++) {
          const float* ap = a + p * lda + i;
          v128_t bv = wasm_v128_load(b + p * ldb + j);
          c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load32_splat(ap), bv));
          c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_v128_load32_splat(ap + 1), bv));
          c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_v128_load32_splat(ap + 2), bv));
          c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_v128_load32_splat(ap + 3), bv));
        }
        wasm_v128_store(cr, c0); wasm_v128_store(cr + n, c1); wasm_v128_store(cr + 2 * n, c2); wasm_v128_store(cr + 3 * n, c3);
        j += 4;
      }
      for (; j < n; j++) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (u32 p = p0; p < p1; p++) {
          float bv = b[p * ldb + j];
          const float* ap = a + p * lda + i;
          s0 += ap[0] * bv; s1 += ap[1] * bv; s2 += ap[2] * bv; s3 += ap[3] * bv;
        }
        c[i * n + j] += s0; c[(i + 1) * n + j] += s1; c[(i + 2) * n + j] += s2; c[(i + 3) * n + j] += s3;
      }
    }
    for (; i < m; i++) {
      u32 j = 0;
      for (; j + 4 <= n; j += 4) {
        v128_t acc = wasm_v128_load(c + i * n + j);
        for (u32 p = p0; p < p1; p++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(a[p * lda + i]), wasm_v128_load(b + p * ldb + j)));
        wasm_v128_store(c + i * n + j, acc);
      }
      for (; j < n; j++) {
        float s = 0;
        for (u32 p = p0; p < p1; p++) s += a[p * lda + i] * b[p * ldb + j];
        c[i * n + j] += s;
      }
    }
  }
}

// batch products; a is [batchA, m×k] (or [batchA, k×m] with transposeA), b is [batchB, k×n] (or n×k);
// batchA and batchB are the batch or 1 (broadcast). scratch holds k·n floats for b transposed when transposeB
// is asked, then k·n for b's panels unless transposeA is.
__attribute__((export_name("batch_matmul")))
void batch_matmul(const float* a, const float* b, float* c, u32 batch, u32 batchA, u32 batchB, u32 m, u32 k, u32 n,
                  u32 transposeA, u32 transposeB, float* scratch) {
  float* transposedB = scratch;
  float* panels = scratch + (transposeB ? k * n : 0);
  for (u32 t = 0; t < batch; t++) {
    const float* at = a + (batchA == 1 ? 0 : t) * m * k;
    const float* bt = b + (batchB == 1 ? 0 : t) * k * n;
    u32 newB = t == 0 || batchB != 1;
    if (transposeB && newB) transpose(bt, transposedB, n, k);
    const float* bm = transposeB ? transposedB : bt;
    if (transposeA) {
      float* ct = c + t * m * n;
      for (u32 q = 0; q < m * n; q++) ct[q] = 0;
      gemm_tn_acc(at, m, bm, n, ct, m, k, n);
    } else {
      if (m < PACK_MIN_ROWS) gemm_in_place(at, bm, c + t * m * n, m, k, n);
      else {
        if (newB) pack_panels(bm, panels, k, n);
        gemm_packed(at, bm, panels, c + t * m * n, m, k, n);
      }
    }
  }
}
