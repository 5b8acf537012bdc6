// The in-process backend src/backend selected, in the contract's shape (engine/devices.ts adds the device):
// read from the report's fields, the faster-backend hint included.
import type { BackendReport } from '../protocol/contract.ts';
import { formatBackendBanner, summarizeBackend, type BackendReport as Selected } from '../backend/report.ts';

export function toContractReport(r: Selected): BackendReport {
  const { fasterHint } = summarizeBackend(r);
  return {
    active: r.name,
    gpu: r.gpu === true,
    reason: formatBackendBanner(r),
    tried: [
      ...r.skipped.map((s) => ({ name: s.name, ok: false, detail: s.notInstalled ? 'not installed' : s.reason })),
      { name: r.name, ok: true, detail: r.reason },
    ],
    ...(fasterHint ? { fasterHint } : {}),
  };
}
