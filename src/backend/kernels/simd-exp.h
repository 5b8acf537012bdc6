// e^x four lanes at a time, shared by the kernels that need it (SiLU in batchnorm.c, softmax in softmax-xent.c).
#ifndef STUDIO_SIMD_EXP_H
#define STUDIO_SIMD_EXP_H
#include <wasm_simd128.h>

// e^x for |x| < 87 to about 3 ulp: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-5 polynomial, 2^n built
// in the exponent bits. The polynomial is 1 + r + c₂r² + … + c₅r⁵ with c₂…c₅ fitted (weighted least squares,
// reweighted towards the largest error) to e^r's relative error on [−ln2/2, ln2/2]: 1.8e-7 at most in float
// Horner evaluation, below the degree-6 Taylor polynomial's 2.4e-7, with one multiply-add less.
// Written for the instructions V8 emits: the clamp is pmin/pmax (one instruction each, where min/max are
// several; a NaN x stays NaN), and n is rounded by adding 1.5·2²³, which leaves n in the sum's low mantissa
// bits (|n| ≤ 126), so 2^n is those bits shifted into the exponent, with no float-to-int conversion.
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(87.0f));
  v128_t shifter = wasm_f32x4_splat(12582912.0f);
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), shifter);
  v128_t n = wasm_f32x4_sub(t, shifter);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(8.312525227665901e-3f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1890114545822144e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6667114198207855e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.99992311000824e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  // t's bits are those of 1.5·2²³ plus n; shifted by 23 the constant's bits leave the word.
  v128_t pow2n = wasm_i32x4_add(wasm_i32x4_shl(t, 23), wasm_i32x4_splat(127 << 23));
  return wasm_f32x4_mul(p, pow2n);
}

#endif
