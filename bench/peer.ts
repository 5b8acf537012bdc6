// The peer: timm's ONNX exports in ../shared/fixtures/peer-onnx/ (see its README) on onnxruntime-node, with the
// settings that folder's measurements use (createOrtSession: intra-op threads, 1 inter-op, sequential, all
// graph optimisations). Shared by the ort and speed sections.
import { existsSync } from 'node:fs';
import { createOrtSession, loadOrt } from '../src/export/ort.ts';

export const PEER_DIR = new URL('../../shared/fixtures/peer-onnx/', import.meta.url).pathname;

export interface PeerSession {
  /** One session.run on the fixed input: its time in ms. */
  once(): Promise<number>;
  release(): Promise<void>;
}

/** timm's export of `variant` (fixed input [1, 3, 256, 256]), ready to time; null where the file is missing. */
export async function openPeer(variant: string, threads = 2): Promise<PeerSession | null> {
  const file = `${PEER_DIR}${variant}.onnx`;
  if (!existsSync(file)) return null;
  const ort = await loadOrt();
  const session = await createOrtSession(file, { threads });
  const x = new ort.Tensor('float32', new Float32Array(3 * 256 * 256).fill(0.5), [1, 3, 256, 256]);
  return {
    async once() {
      const t0 = performance.now();
      await session.run({ [session.inputNames[0]]: x });
      return performance.now() - t0;
    },
    release: () => session.release(),
  };
}
