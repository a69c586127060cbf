// The `pygration frames` command: the live Python frames of every thread of a running CPython process, read from
// its memory (native/src/cpython/frames.ts), as text (innermost first, like py-spy dump) or --json.

import { ProcessAddressSpace } from '../space/processSpace';
import { ProcessView } from '../space/processView';
import { type PythonFrames, readPythonFrames } from '../cpython/frames';
import { UsageError, intOption, parseArgs } from './args';

export const FRAMES_HELP = `  pygration frames --pid N [--json]
      The Python frames every thread of a running CPython 3.8–3.13 process is executing, innermost first, with
      file, line, qualified name and current bytecode offset (lasti), read from /proc/N/mem without stopping or
      attaching to the process.`;

/** Runs `pygration frames`; returns the exit code (errors are thrown for the caller's reportError). */
export function runFrames(argv: readonly string[]): number {
  const args = parseArgs(argv, { values: ['pid'], flags: ['json'] });
  const pid = intOption(args, 'pid');
  if (pid === undefined) throw new UsageError('frames needs --pid N.');
  if (args.positional.length) throw new UsageError(`Unexpected argument '${args.positional[0]}'.`);
  const view = new ProcessView(pid);
  try {
    const result = readPythonFrames(new ProcessAddressSpace(view));
    const names = new Map(result.threads.map((t) => [t.threadId, t.threadId === undefined ? undefined : view.threadName(t.threadId)]));
    if (args.flags.has('json')) {
      const threads = result.threads.map((t) => ({ ...t, name: names.get(t.threadId) }));
      process.stdout.write(`${JSON.stringify({ pid, ...result, threads }, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatFrames(pid, result, (tid) => names.get(tid))}\n`);
    }
    return 0;
  } finally {
    view.close();
  }
}

/** The text form: one block per thread, one line per frame, innermost first. */
export function formatFrames(pid: number, r: PythonFrames, threadName: (tid: number | undefined) => string | undefined = () => undefined): string {
  const lines = [`Process ${pid}: CPython ${r.fullVersion ?? r.version} (${r.runtimeModule}), ${r.threads.length} thread${r.threads.length === 1 ? '' : 's'}`];
  for (const t of r.threads) {
    const name = threadName(t.threadId);
    const flags = [t.threadId === pid ? 'main' : '', t.interpreter ? `interpreter ${t.interpreter}` : '', t.complete ? '' : 'chain cut short', t.stable ? '' : 'changed while read']
      .filter(Boolean)
      .join(', ');
    lines.push('', `Thread ${t.threadId ?? `pthread 0x${t.pthreadId.toString(16)}`}${name ? ` "${name}"` : ''}${flags ? ` (${flags})` : ''}:`);
    if (t.frames.length === 0) lines.push('    (no Python frames)');
    for (const f of t.frames) {
      lines.push(`    ${f.qualname ?? f.name} (${f.file}:${f.line ?? '?'}) lasti ${f.lasti}${f.isEntry ? ', entered from C' : ''}`);
    }
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return lines.join('\n');
}
