// One parameter's AdamW update and one EMA update, each in a single pass over the parameter, in place of
// the dozen TF.js ops per parameter of src/optim/adamw.ts and ema.ts (some 1,800 small kernels a step for
// MobileViT-XXS). The arithmetic is those ops' own, operation for operation in float32 (the build turns off
// contraction into fused multiply-adds), so the results are bit for bit the same:
//   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2)
//   p' = p·shrink − (m' / (√v' / √bc2 + ε))·step       (shrink = 1 − lr·wd, or p as is where decay is 0)
//   ema' = ema·d + w·(1−d)
// The scalars come in as float32, rounded from JavaScript's doubles as TF.js rounds its scalar operands.
// Outputs are separate buffers (TF.js tensors are immutable); the last n mod 4 values go one at a time.
#include <wasm_simd128.h>

typedef unsigned int u32;

__attribute__((export_name("adamw_update")))
void adamw_update(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
                  u32 n, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float sqrtBc2, float eps,
                  u32 decay, float shrink, float step) {
  v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(oneMinusBeta1);
  v128_t b2 = wasm_f32x4_splat(beta2), c2 = wasm_f32x4_splat(oneMinusBeta2);
  v128_t root = wasm_f32x4_splat(sqrtBc2), e = wasm_f32x4_splat(eps), s = wasm_f32x4_splat(shrink), lr = wasm_f32x4_splat(step);
  u32 k = 0;
  for (; k + 4 <= n; k += 4) {
    v128_t gk = wasm_v128_load(g + k);
    v128_t mk = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + k), b1), wasm_f32x4_mul(gk, c1));
    v128_t vk = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + k), b2), wasm_f32x4_mul(wasm_f32x4_mul(gk, gk), c2));
    v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(vk), root), e);
    v128_t pk = wasm_v128_load(p + k);
    if (decay) pk = wasm_f32x4_mul(pk, s);
    wasm_v128_store(pOut + k, wasm_f32x4_sub(pk, wasm_f32x4_mul(wasm_f32x4_div(mk, denom), lr)));
    wasm_v128_store(mOut + k, mk);
    wasm_v128_store(vOut + k, vk);
  }
  for (; k < n; k++) {
    float mk = m[k] * beta1 + g[k] * oneMinusBeta1;
    float vk = v[k] * beta2 + g[k] * g[k] * oneMinusBeta2;
    float pk = decay ? p[k] * shrink : p[k];
    pOut[k] = pk - mk / (__builtin_sqrtf(vk) / sqrtBc2 + eps) * step;
    mOut[k] = mk;
    vOut[k] = vk;
  }
}

__attribute__((export_name("ema_update")))
void ema_update(const float* avg, const float* w, float* out, u32 n, float d, float oneMinusD) {
  v128_t a = wasm_f32x4_splat(d), b = wasm_f32x4_splat(oneMinusD);
  u32 k = 0;
  for (; k + 4 <= n; k += 4) {
    wasm_v128_store(out + k, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(avg + k), a), wasm_f32x4_mul(wasm_v128_load(w + k), b)));
  }
  for (; k < n; k++) out[k] = avg[k] * d + w[k] * oneMinusD;
}
