// A run's model for evaluation and inspection carries the run's own evaluation crop, so `predict`,
// attention and receptive fields see the pixels the run's evaluation saw.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { loadImage } from '../../src/inspect/image.ts';
import { inferencePreprocessing } from '../../src/protocol/recipe.ts';
import { createModel } from '../../src/model/index.ts';
import { stateDict } from '../../src/model/weights.ts';
import { resolveRecipe } from '../../src/protocol/recipe.ts';
import { CheckpointStore, FILES, createRun, readRun, updateRun } from '../../src/run/index.ts';
import { loadModel } from '../../src/run/model.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('a run’s model', () => {
  it('carries the run’s recorded evaluation crop, and inspection images use it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-model-'));
    const { dir: runDir } = createRun({ data: dir, imageSize: 32 }, { runDir: join(dir, 'run') });
    const model = createModel('mobilevit_xxs', { numClasses: 2, seed: 3 });
    new CheckpointStore(join(runDir, FILES.checkpoints)).save('last', 1, stateDict(model), null, {});
    model.dispose();
    updateRun(runDir, { classes: ['a', 'b'], status: 'stopped' });

    // A run from before recipes: the reference crop.
    const before = loadModel({ run: runDir });
    expect(before.evalCrop).toBeNull();
    before.model.dispose();

    // Framed 30-px images trained at 32 px: the recipe evaluates the whole image.
    const recipe = resolveRecipe(readRun(runDir).settings, { shortSide: 30, trainImages: 100, classes: 2 });
    expect(recipe.settings.evalCrop).toBe(1);
    updateRun(runDir, { recipe });
    const loaded = loadModel({ run: runDir });
    expect(loaded.evalCrop).toBe(1);
    loaded.model.dispose();

    // A white frame around a black square: the whole image keeps the frame, the 0.9 crop cuts into it.
    const file = join(dir, 'framed.png');
    const px = Buffer.alloc(32 * 32 * 3, 0);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (x < 2 || y < 2 || x > 29 || y > 29) px.fill(255, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file);
    const whole = await loadImage(file, inferencePreprocessing(loaded));
    const cropped = await loadImage(file, inferencePreprocessing(before));
    expect(whole.height).toBe(32); // the run's training size
    expect(whole.data[0]).toBeCloseTo(1, 1);
    expect(cropped.data[0]).toBeLessThan(whole.data[0]);
  });
});
