// This process's CPU time (user + system) in ms: one clock for timing single-threaded in-process work (the wasm
// and cpu backends' profiles), which stays true while other processes share the machine, unlike wall time.
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
