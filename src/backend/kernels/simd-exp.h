// e^x four lanes at a time, shared by the kernels that need it (SiLU in batchnorm.c, softmax in softmax-xent.c and softmax.c).
#ifndef STUDIO_SIMD_EXP_H
#define STUDIO_SIMD_EXP_H
#include <wasm_simd128.h>

// Both versions: x clamped to ±87, x = n·ln2 + r with |r| ≤ ln2/2, e^r by a polynomial 1 + r + c₂r² + …, and
// 2^n built in the exponent bits. The c_k are fitted (weighted least squares, reweighted towards the largest
// error) to e^r's relative error on [−ln2/2, ln2/2]. Written for the instructions V8 emits: the clamp is
// pmin/pmax (one instruction each, where min/max are several; a NaN x stays NaN), and n is rounded by adding
// 1.5·2²³, which leaves n in the sum's low mantissa bits (|n| ≤ 126), so 2^n is those bits shifted into the
// exponent, with no float-to-int conversion.

// r of x = n·ln2 + r; *t gets x·log2e + 1.5·2²³. With split_ln2, ln2 is taken in two parts (the first exact in
// n·ln2 for |n| < 2⁹), else as one float, whose error (2e-9) puts up to 2.4e-7 on r at |x| = 87.
static inline v128_t exp_reduce(v128_t x, v128_t* t, int split_ln2) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(87.0f));
  v128_t shifter = wasm_f32x4_splat(12582912.0f);
  *t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), shifter);
  v128_t n = wasm_f32x4_sub(*t, shifter);
  if (!split_ln2) return wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693147180559945309f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  return wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
}

// p·2^n: t's bits are those of 1.5·2²³ plus n; shifted by 23 the constant's bits leave the word.
static inline v128_t exp_scale(v128_t p, v128_t t) {
  return wasm_f32x4_mul(p, wasm_i32x4_add(wasm_i32x4_shl(t, 23), wasm_i32x4_splat(127 << 23)));
}

// p·r + c
static inline v128_t horner(v128_t p, v128_t r, float c) {
  return wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(c));
}

// e^x to about 3 ulp (1.8e-7 relative at most in float evaluation, below the degree-6 Taylor polynomial's
// 2.4e-7): degree 5, ln2 in two parts.
static inline v128_t exp4(v128_t x) {
  v128_t t, r = exp_reduce(x, &t, 1);
  v128_t p = wasm_f32x4_splat(8.312525227665901e-3f);
  p = horner(p, r, 4.1890114545822144e-2f);
  p = horner(p, r, 1.6667114198207855e-1f);
  p = horner(p, r, 4.99992311000824e-1f);
  p = horner(horner(p, r, 1.0f), r, 1.0f);
  return exp_scale(p, t);
}

// exp4 of one value (a row's tail).
static inline float exp1(float x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

// e^x to 5.6e-6 relative, four operations fewer: degree 4, ln2 as one float. For a sigmoid 1/(1 + e^−z),
// whose error it shrinks by σ(1 − σ) ≤ 1/4: SiLU z·σ(z) is then off by 1.5e-6 at most.
static inline v128_t exp4_coarse(v128_t x) {
  v128_t t, r = exp_reduce(x, &t, 0);
  v128_t p = wasm_f32x4_splat(4.1277747601270676e-2f);
  p = horner(p, r, 1.6753514111042023e-1f);
  p = horner(p, r, 5.000511407852173e-1f);
  p = horner(horner(p, r, 1.0f), r, 1.0f);
  return exp_scale(p, t);
}

#endif
