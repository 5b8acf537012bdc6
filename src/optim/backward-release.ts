// A training pass's backward that lets go of what it has used. TF.js's gradient pass (tf.variableGrads →
// engine.gradients) walks the tape backward inside one tidy: every gradient it computes on the way (each node's
// output gradients, "dy") and every tensor the forward saved for a node stay alive until the whole backward pass
// ends, although each is read by one node only. So a pass's peak holds all the activations and all their
// gradients at once. Here the tape's gradient functions are wrapped so that when a node's gradient starts, the
// node processed before it (its consumers all done, as the tape is walked in reverse) gives back its dys and its
// saved tensors. The same kernels run in the same order: the gradients are bit for bit those of the plain pass.
import * as tf from '@tensorflow/tfjs';

/** The part of a TF.js tape node this reads (tfjs-core's TapeNode, which the package does not export). */
interface TapeNode {
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** What a node processed last still holds, released once the next node starts. */
interface Done {
  dys: (tf.Tensor | null)[];
  saved: tf.Tensor[];
  /** Its input gradients: a dy passed through unchanged is one of them, and lives on. */
  dxs: Set<tf.Tensor>;
}

/**
 * `loss` for tf.variableGrads, releasing tensors during the backward pass that follows it. Called inside
 * variableGrads, at its end (once the tape holds the whole forward pass) it wraps the tape's nodes. A tensor is
 * released only where nothing else can reach it: a dy made during the backward pass (the forward's own tensors and
 * anything the caller holds are older), returned as a gradient at most once (so the engine's map holds it under one
 * tensor only) and not passed through to the node's inputs; a saved tensor (the engine's own clone for that node)
 * unless a gradient returned it.
 */
export function releasingBackward<T extends tf.Tensor>(loss: () => T): () => T {
  return () => {
    const y = loss();
    const tape = (tf.engine() as unknown as { state: { activeTape: TapeNode[] | null } }).state.activeTape;
    if (!tape) return y;
    const marker = tf.scalar(0);
    const firstOfBackward = marker.id + 1;
    marker.dispose();
    const returned = new Map<tf.Tensor, number>();
    let last: Done | null = null;
    const releaseLast = () => {
      if (!last) return;
      for (const dy of last.dys) {
        if (dy && dy.id >= firstOfBackward && (returned.get(dy) ?? 0) <= 1 && !last.dxs.has(dy)) dy.dispose();
      }
      for (const t of last.saved) if (!returned.has(t)) t.dispose();
      last = null;
    };
    for (const node of tape) {
      const gradient = node.gradient;
      if (!gradient) continue;
      node.gradient = (dys) => {
        releaseLast();
        const thunks = gradient(dys);
        const done: Done = { dys, saved: node.saved ?? [], dxs: new Set() };
        last = done;
        return Object.fromEntries(Object.entries(thunks).map(([input, thunk]) => [input, () => {
          const dx = thunk();
          done.dxs.add(dx);
          returned.set(dx, (returned.get(dx) ?? 0) + 1);
          return dx;
        }]));
      };
    }
    return y;
  };
}
