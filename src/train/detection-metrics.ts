// Detection scores as COCO's own evaluation (pycocotools' COCOeval, bbox) defines them: per image and class,
// detections best first (at most `maxDets`), matched greedily at each IoU threshold .50:.05:.95 to the unmatched
// ground truth they overlap most; crowd regions match any number of detections (IoU = overlap / detection area)
// and those matches count for nothing; ground truth outside an area range is ignored, as are unmatched
// detections outside it. Precision is made monotone and read at the 101 recall points 0:.01:1; AP is their mean,
// mAP the mean over IoU thresholds and over the classes that have ground truth. Boxes are [x, y, w, h] in pixels.
// Beside the scores, what each image got wrong as a person sees it: the boxes missed and the false ones at one score.

export interface GroundTruthBox {
  box: [number, number, number, number];
  label: number;
  crowd?: boolean;
  /** Defaults to the box's area (COCO's own files give the segmentation's). */
  area?: number;
}

export interface DetectedBox {
  box: [number, number, number, number];
  label: number;
  score: number;
}

export interface ImageDetections {
  truth: GroundTruthBox[];
  detections: DetectedBox[];
}

export interface DetectionScores {
  map: number;
  ap50: number;
  ap75: number;
  apSmall: number | null;
  apMedium: number | null;
  apLarge: number | null;
  /** AP (.50:.95) per class in label order; null where the class has no ground truth. */
  perClassAp: (number | null)[];
  /** Per class at IoU .50: the interpolated precision at the 101 recall points (null without ground truth). */
  precisionAt50: (number[] | null)[];
}

export const IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);
export const RECALL_POINTS = Array.from({ length: 101 }, (_, i) => i / 100);
/**
 * The score an image's misses are counted at: the boxes the Detect view and predict show unasked (0.3, inspect's
 * DEFAULT_SCORE_THRESHOLD). COCO's own threshold (0.01, up to 100 a image) would find nearly every box somewhere.
 */
export const MISS_SCORE = 0.3;

/** What one image got wrong at a score: counted as COCO matches at IoU .50, class by class. */
export interface ImageMisses {
  /** The image's place in the evaluated list. */
  index: number;
  /** Boxes (not crowd regions) that no detection of their class scoring at least the score overlaps at IoU ≥ .5 (each detection finds one box). */
  missed: number;
  /** Detections scoring at least the score that found no box of their class (a crowd region's are not counted). */
  falsePositives: number;
  /** The image's boxes, crowd regions left out. */
  boxes: number;
}

const AREA_RANGES = { all: [0, 1e10], small: [0, 32 ** 2], medium: [32 ** 2, 96 ** 2], large: [96 ** 2, 1e10] } as const;
type AreaRange = keyof typeof AREA_RANGES;

/** COCO's IoU; with a crowd ground truth the union is the detection's own area. */
function iou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - inter);
}

interface Matched {
  /** Per IoU threshold: for each kept detection (best first), matched / ignored. */
  matched: boolean[][];
  ignored: boolean[][];
  scores: number[];
  /** Ground truth that counts (not crowd, inside the area range). */
  counted: number;
}

/** pycocotools' evaluateImg for one image, class and area range. */
function matchImage(truth: GroundTruthBox[], detections: DetectedBox[], range: readonly [number, number], maxDets: number): Matched {
  const areaOf = (g: GroundTruthBox) => g.area ?? g.box[2] * g.box[3];
  const gtIgnored = (g: GroundTruthBox) => !!g.crowd || areaOf(g) < range[0] || areaOf(g) > range[1];
  // Counted ground truth first (a stable sort), so a detection prefers it over ignored ground truth.
  const gts = truth.map((g, i) => ({ g, i, ig: gtIgnored(g) })).sort((a, b) => Number(a.ig) - Number(b.ig) || a.i - b.i);
  const dts = detections.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i).slice(0, maxDets).map((x) => x.d);
  const matched: boolean[][] = [];
  const ignored: boolean[][] = [];
  for (const t of IOU_THRESHOLDS) {
    const gtTaken = new Array(gts.length).fill(false);
    const m = new Array(dts.length).fill(false);
    const ig = new Array(dts.length).fill(false);
    dts.forEach((d, di) => {
      let best = Math.min(t, 1 - 1e-10);
      let found = -1;
      for (let gi = 0; gi < gts.length; gi++) {
        if (gtTaken[gi] && !gts[gi].g.crowd) continue;
        if (found > -1 && !gts[found].ig && gts[gi].ig) break;
        const o = iou(d.box, gts[gi].g.box, !!gts[gi].g.crowd);
        if (o < best) continue;
        best = o;
        found = gi;
      }
      if (found === -1) {
        const area = d.box[2] * d.box[3];
        ig[di] = area < range[0] || area > range[1];
        return;
      }
      m[di] = true;
      ig[di] = gts[found].ig;
      gtTaken[found] = true;
    });
    matched.push(m);
    ignored.push(ig);
  }
  return { matched, ignored, scores: dts.map((d) => d.score), counted: gts.filter((g) => !g.ig).length };
}

/** Interpolated precision at the recall points for one class, IoU threshold and area range; null without ground truth. */
function precisionCurve(parts: Matched[], t: number): number[] | null {
  const counted = parts.reduce((n, p) => n + p.counted, 0);
  if (counted === 0) return null;
  const rows = parts.flatMap((p) => p.scores.map((score, i) => ({ score, tp: p.matched[t][i], ig: p.ignored[t][i] })))
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .filter((r) => !r.ig);
  const recall: number[] = [];
  const precision: number[] = [];
  let tp = 0;
  rows.forEach((r, k) => {
    if (r.tp) tp++;
    recall.push(tp / counted);
    precision.push(tp / (k + 1));
  });
  for (let i = precision.length - 1; i > 0; i--) precision[i - 1] = Math.max(precision[i - 1], precision[i]);
  return RECALL_POINTS.map((r) => {
    // searchsorted(recall, r, side='left'): the first index whose recall reaches r.
    const k = recall.findIndex((x) => x >= r);
    return k === -1 ? 0 : precision[k];
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function evaluateDetections(images: ImageDetections[], numClasses: number, maxDets = 100): DetectionScores {
  /** AP per class (null without ground truth) for one area range and set of IoU thresholds. */
  const apPerClass = (range: AreaRange, thresholds: number[]): (number | null)[] =>
    Array.from({ length: numClasses }, (_, c) => {
      const parts = images.map((img) => matchImage(img.truth.filter((g) => g.label === c), img.detections.filter((d) => d.label === c), AREA_RANGES[range], maxDets));
      const curves = thresholds.map((t) => precisionCurve(parts, t));
      return curves[0] === null ? null : mean(curves.map((q) => mean(q!)));
    });
  const overClasses = (aps: (number | null)[]) => {
    const valid = aps.filter((a): a is number => a !== null);
    return valid.length ? mean(valid) : null;
  };
  const all = IOU_THRESHOLDS.map((_, t) => t);
  const perClassAp = apPerClass('all', all);
  const idx50 = 0;
  const idx75 = IOU_THRESHOLDS.findIndex((t) => Math.abs(t - 0.75) < 1e-9);
  const precisionAt50 = Array.from({ length: numClasses }, (_, c) => precisionCurve(
    images.map((img) => matchImage(img.truth.filter((g) => g.label === c), img.detections.filter((d) => d.label === c), AREA_RANGES.all, maxDets)), idx50));
  return {
    map: overClasses(perClassAp) ?? 0,
    ap50: overClasses(apPerClass('all', [idx50])) ?? 0,
    ap75: overClasses(apPerClass('all', [idx75])) ?? 0,
    apSmall: overClasses(apPerClass('small', all)),
    apMedium: overClasses(apPerClass('medium', all)),
    apLarge: overClasses(apPerClass('large', all)),
    perClassAp,
    precisionAt50,
  };
}

/**
 * Per image, its misses and false positives among the detections scoring at least `score`, matched as COCO
 * matches at IoU .50 (best score first, to the unmatched box it overlaps most; crowd regions take any number).
 */
export function imageMisses(images: ImageDetections[], numClasses: number, score = MISS_SCORE, maxDets = 100): ImageMisses[] {
  const at50 = 0;
  return images.map((img, index) => {
    let missed = 0;
    let falsePositives = 0;
    for (let c = 0; c < numClasses; c++) {
      const truth = img.truth.filter((g) => g.label === c);
      const detections = img.detections.filter((d) => d.label === c && d.score >= score);
      if (truth.length === 0 && detections.length === 0) continue;
      const m = matchImage(truth, detections, AREA_RANGES.all, maxDets);
      // Over all areas a detection is ignored only when it matched a crowd region.
      const found = m.matched[at50].filter((hit, i) => hit && !m.ignored[at50][i]).length;
      missed += m.counted - found;
      falsePositives += m.matched[at50].filter((hit) => !hit).length;
    }
    return { index, missed, falsePositives, boxes: img.truth.filter((g) => !g.crowd).length };
  });
}

/** The `k` images with the most misses and false positives together (then the most misses, then list order); none without either. */
export function mostMissed(misses: ImageMisses[], k: number): ImageMisses[] {
  return misses.filter((m) => m.missed + m.falsePositives > 0)
    .sort((a, b) => b.missed + b.falsePositives - (a.missed + a.falsePositives) || b.missed - a.missed || a.index - b.index)
    .slice(0, k);
}
