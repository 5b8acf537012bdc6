// SSD's default boxes and box coding, as ml-cvnets v0.1 builds them (SSDAnchorGenerator, box_utils). Anchors are
// centre-size (cx, cy, w, h), normalised to the image and clamped to [0, 1], in the order the heads predict them:
// levels in order, cells row-major (y outer, x inner), then per cell the anchors below.

/** What makes the anchors: per level its aspect ratios, and the sizes between which levels are spread. */
export interface AnchorSpec {
  aspectRatios: number[][];
  minSize: number;
  maxSize: number;
}

/** ml-cvnets' SSDLite-MobileViT settings: ratios (2, 3) on every level but the last (2), sizes linspace(0.1, 1.05). */
export const SSD_ANCHORS: AnchorSpec = { aspectRatios: [[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2]], minSize: 0.1, maxSize: 1.05 };

/** Anchors per cell of a level with these ratios: the small and the in-between square, then a pair per ratio. */
export const anchorsPerCell = (ratios: number[]) => 2 + 2 * ratios.length;

/**
 * The anchors of feature maps `sizes` ([h, w] per level) → Float32Array [A·4]. Level k's box side s_k is
 * linspace(minSize, maxSize, levels + 1)[k]; per cell: (s_k, s_k), (√(s_k·s_k+1), same), then for each ratio r
 * (s_k·√r, s_k/√r) and (s_k/√r, s_k·√r).
 */
export function makeAnchors(sizes: [number, number][], spec: AnchorSpec = SSD_ANCHORS): Float32Array {
  if (sizes.length !== spec.aspectRatios.length) throw new Error(`anchors: ${sizes.length} feature maps for ${spec.aspectRatios.length} levels`);
  const levels = sizes.length;
  const scale = (k: number) => spec.minSize + ((spec.maxSize - spec.minSize) * k) / levels;
  const out: number[] = [];
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  sizes.forEach(([h, w], k) => {
    const small = scale(k);
    const big = Math.sqrt(small * scale(k + 1));
    const shapes: [number, number][] = [[small, small], [big, big]];
    for (const r of spec.aspectRatios[k]) shapes.push([small * Math.sqrt(r), small / Math.sqrt(r)], [small / Math.sqrt(r), small * Math.sqrt(r)]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (const [bw, bh] of shapes) out.push(clamp((x + 0.5) / w), clamp((y + 0.5) / h), clamp(bw), clamp(bh));
      }
    }
  });
  return Float32Array.from(out);
}

/** SSD's variances: centre offsets are in units of 0.1 anchor, log-sizes in units of 0.2. */
export const BOX_VARIANCE = { centre: 0.1, size: 0.2 };

/** Deltas (dx, dy, dw, dh) on anchor i → corners (x0, y0, x1, y1), normalised and not clipped, into `out` at `o`. */
export function decodeBox(deltas: ArrayLike<number>, d: number, anchors: ArrayLike<number>, a: number, out: Float32Array, o: number): void {
  const [acx, acy, aw, ah] = [anchors[a], anchors[a + 1], anchors[a + 2], anchors[a + 3]];
  const cx = deltas[d] * BOX_VARIANCE.centre * aw + acx;
  const cy = deltas[d + 1] * BOX_VARIANCE.centre * ah + acy;
  const w = Math.exp(deltas[d + 2] * BOX_VARIANCE.size) * aw;
  const h = Math.exp(deltas[d + 3] * BOX_VARIANCE.size) * ah;
  out[o] = cx - w / 2;
  out[o + 1] = cy - h / 2;
  out[o + 2] = cx + w / 2;
  out[o + 3] = cy + h / 2;
}
