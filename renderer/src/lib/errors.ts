// Turns any failure into what a person needs: what happened (the studio's one-line message) and what to
// try next, chosen by the contract's error code.
import { StudioError, type ErrorCode } from '../../../src/protocol/contract.ts';

export interface Problem {
  title: string;
  message: string;
  hint: string;
}

const HINTS: Record<ErrorCode, { title: string; hint: string }> = {
  invalid_request: { title: 'That input was not accepted', hint: 'Check the highlighted value and try again.' },
  not_found: { title: 'Not found', hint: 'Check that the path exists and that the studio can read it.' },
  conflict: { title: 'Not possible right now', hint: 'Wait for the current work to finish, or stop it first.' },
  unsupported: { title: 'Not available here', hint: 'In the browser mode, type the path instead of browsing.' },
  engine_crashed: {
    title: 'The compute engine crashed',
    hint: 'The studio restarts it on the next request. A run that was training is marked failed and can be resumed.',
  },
  disconnected: {
    title: 'Lost the connection to the studio',
    hint: 'If `mobilevit-studio serve` was stopped, start it again and reload this page.',
  },
  failed: { title: 'That did not work', hint: 'The message above says why; fix it and try again.' },
  internal: { title: 'Something went wrong inside the studio', hint: 'Try again; if it keeps happening, report the message above.' },
};

export function toProblem(err: unknown, context?: string): Problem {
  if (err instanceof StudioError) {
    const h = HINTS[err.code] ?? HINTS.internal;
    return { title: context ?? h.title, message: err.message, hint: h.hint };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { title: context ?? HINTS.internal.title, message, hint: HINTS.internal.hint };
}
