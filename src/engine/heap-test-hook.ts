// Test-only: makes this engine's WebAssembly heap run out for real, so that tests meet the abort a 1024-px
// request caused ("memory access out of bounds", then "Aborted()" for every call) in seconds and without
// gigabytes of RAM. MOBILEVIT_TEST_WASM_HEAP_LEFT_MB=n takes every free byte of the heap and all its room to
// grow, but one block of n MB: mallocs never written (not resident), and outside TF.js's accounting, like
// fragmentation the memory estimate cannot see. With MOBILEVIT_TEST_WASM_FILL_AFTER_STEP=s a training run does it after its
// step s, else the engine does it at init. Unset (always, outside tests), nothing here runs.
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendParts } from '../util/wasm-memory.ts';

const MB = 2 ** 20;

function leftMb(env: NodeJS.ProcessEnv): number | null {
  const n = Number(env.MOBILEVIT_TEST_WASM_HEAP_LEFT_MB);
  return env.MOBILEVIT_TEST_WASM_HEAP_LEFT_MB && Number.isFinite(n) ? n : null;
}

function fillHeap(left: number): void {
  if (tf.getBackend() !== 'wasm') throw new Error(`MOBILEVIT_TEST_WASM_HEAP_LEFT_MB needs the wasm backend, not ${tf.getBackend()}`);
  const { wasm } = tf.backend() as unknown as WasmBackendParts;
  const kept = left > 0 ? wasm._malloc(left * MB) : 0;
  // Every free block, and all the room to grow, in ever smaller pieces (malloc answers 0 when none fits).
  for (let chunk = 2 ** 31; chunk >= 2 ** 16; chunk /= 2) while (wasm._malloc(chunk) !== 0);
  if (kept) wasm._free(kept);
}

/** At the engine's init: fills the heap unless a training step is to do it. */
export function fillHeapAtInit(env = process.env): void {
  const left = leftMb(env);
  if (left !== null && !env.MOBILEVIT_TEST_WASM_FILL_AFTER_STEP) fillHeap(left);
}

/** A training run's afterStep that fills the heap after the step the environment names, or undefined. */
export function fillHeapAfterStep(env = process.env): ((info: { step: number }) => void) | undefined {
  const left = leftMb(env);
  const step = Number(env.MOBILEVIT_TEST_WASM_FILL_AFTER_STEP);
  if (left === null || !Number.isInteger(step)) return undefined;
  return (info) => {
    if (info.step === step) fillHeap(left);
  };
}
