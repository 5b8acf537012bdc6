// Backend selection in the engine (src/backend picks and loads it), reported in the contract's shape.
import type { BackendChoice, BackendReport } from '../protocol/contract.ts';
import { formatBackendBanner, initBackend, type BackendReport as Selected } from '../backend/index.ts';

export function toContractReport(r: Selected): BackendReport {
  const banner = formatBackendBanner(r);
  const hint = / — for a faster backend: (.*)$/.exec(banner)?.[1];
  return {
    active: r.name,
    gpu: r.gpu === true,
    reason: banner,
    tried: [
      ...r.skipped.map((s) => ({ name: s.name, ok: false, detail: s.notInstalled ? 'not installed' : s.reason })),
      { name: r.name, ok: true, detail: r.reason },
    ],
    ...(hint ? { fasterHint: hint } : {}),
  };
}

/** 'auto' defers to MOBILEVIT_BACKEND, then the fastest available. */
export async function selectBackend(choice: BackendChoice): Promise<BackendReport> {
  return toContractReport(await initBackend(choice === 'auto' ? undefined : choice));
}
