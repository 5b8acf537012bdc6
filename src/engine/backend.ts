// The in-process backend src/backend selected, in the contract's shape (engine/devices.ts adds the device).
import type { BackendReport } from '../protocol/contract.ts';
import { formatBackendBanner, type BackendReport as Selected } from '../backend/index.ts';

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
