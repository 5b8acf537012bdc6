// Loading the native TensorFlow backends (@tensorflow/tfjs-node[-gpu]). They are optional: npm drops
// tfjs-node silently when its install script cannot download libtensorflow, so absence is the normal
// case and must come back as a reason, not an exception.
import * as tf from '@tensorflow/tfjs';

export type ImportModule = (specifier: string) => Promise<unknown>;

export interface NativeLoad {
  ok: boolean;
  /** Why it cannot be used (when !ok). */
  reason?: string;
  /** Whether the failure is simply "package absent" (drives the install hint). */
  notInstalled?: boolean;
  versions?: Record<string, string>;
  /** tfjs-node-gpu only: whether TensorFlow found a CUDA device. */
  usingGpu?: boolean;
}

const INSTALL_NOTES: Record<string, string> = {
  '@tensorflow/tfjs-node':
    'it is an optional dependency; npm drops it when libtensorflow cannot be downloaded',
  '@tensorflow/tfjs-node-gpu':
    'install it yourself on Linux with CUDA: npm install @tensorflow/tfjs-node-gpu',
};

// The one package that registered tf's 'tensorflow' backend in this process (both packages use that name).
let provider: string | null = null;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
}

function isAbsent(e: unknown, pkg: string): boolean {
  const code = (e as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && firstLine(e).includes(`'${pkg}'`);
}

/** Imports pkg, checks it registered 'tensorflow' with this app's tfjs-core, and makes it the backend. */
export async function loadNative(pkg: string, importModule: ImportModule): Promise<NativeLoad> {
  if (provider !== null && !tf.findBackendFactory('tensorflow')) provider = null; // removed since
  if (provider !== null && provider !== pkg) {
    return { ok: false, reason: `${provider} already provides the tensorflow backend in this process` };
  }
  let mod: { version?: Record<string, string>; default?: { version?: Record<string, string> } };
  try {
    mod = (await importModule(pkg)) as typeof mod;
  } catch (e) {
    if (isAbsent(e, pkg)) return { ok: false, notInstalled: true, reason: `${pkg} is not installed (${INSTALL_NOTES[pkg]})` };
    return { ok: false, reason: `${pkg} is installed but failed to load: ${firstLine(e)}` };
  }
  const theirs = mod.version ?? mod.default?.version ?? {};
  const core = tf.version_core;
  if (theirs['tfjs-core'] && theirs['tfjs-core'] !== core) {
    return {
      ok: false,
      reason: `${pkg} was built against @tensorflow/tfjs-core ${theirs['tfjs-core']} but this app uses ${core}; ` +
        `pin @tensorflow/tfjs to the version ${pkg} requires`,
    };
  }
  if (!tf.findBackendFactory('tensorflow')) {
    return { ok: false, reason: `${pkg} loaded but registered no 'tensorflow' backend with this app's @tensorflow/tfjs-core (a second copy of tfjs?)` };
  }
  provider = pkg;
  if (!(await tf.setBackend('tensorflow'))) {
    return { ok: false, reason: `${pkg} loaded but its TensorFlow backend failed to initialise (see the warning above)` };
  }
  const backend = tf.backend() as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
  const versions: Record<string, string> = {};
  const own = theirs['tfjs-node'];
  if (own) versions[pkg.replace('@tensorflow/', '')] = own;
  if (typeof backend.binding?.TF_Version === 'string') versions.libtensorflow = backend.binding.TF_Version;
  return { ok: true, versions, usingGpu: typeof backend.isUsingGpuDevice === 'boolean' ? backend.isUsingGpuDevice : undefined };
}
