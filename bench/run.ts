// `npm run bench [-- section…]`: runs the benchmark sections (all by default), prints their tables and
// writes bench/results/<section>.json. Sections live beside this file.
const SECTIONS: Record<string, () => Promise<unknown>> = {
  inference: async () => (await import('./inference.ts')).benchInference(),
  train: async () => (await import('./train.ts')).benchTrain(),
  attention: async () => (await import('./attention.ts')).benchAttention(),
  ipc: async () => (await import('./ipc.ts')).benchIpc(),
  recipe: async () => (await import('./recipe.ts')).benchRecipe(),
  ort: async () => (await import('./ort.ts')).benchOrt(),
  zoo: async () => (await import('./zoo.ts')).benchZoo(),
  devices: async () => (await import('./devices.ts')).benchDevices(),
  kernels: async () => (await import('./kernels.ts')).benchKernels(),
  speed: async () => (await import('./speed.ts')).benchSpeed(),
  cli: async () => (await import('./cli.ts')).benchCli(),
  segmentation: async () => (await import('./dense.ts')).benchDense('segmentation'),
  detection: async () => (await import('./dense.ts')).benchDense('detection'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) {
  const section = SECTIONS[name];
  if (!section) { console.error(`unknown benchmark "${name}" (sections: ${Object.keys(SECTIONS).join(', ')})`); process.exit(2); }
  console.log(`\n=== ${name} ===`);
  await section();
}
