// The engine's one error type: every failure in native/ is a NativeError with a machine-readable kind,
// so callers (CLI, language server) can turn it into one clear message without parsing text.

export type NativeErrorKind =
  | 'truncated' // input ends before a structure it declares (short file, offset past the end)
  | 'malformed' // structurally invalid input (bad magic, inconsistent sizes, loops)
  | 'unsupported' // valid but outside what we analyse (32-bit ELF, non-x86-64, static binary for EPT roots, ...)
  | 'io' // the operating system refused or failed a read for another reason
  | 'permission' // EACCES/EPERM reading a file or another process (ptrace access)
  | 'gone'; // the process or file vanished while we looked (ESRCH, ENOENT under /proc)

export interface NativeErrorOptions {
  /** What was being read: a file path, `pid 1234`, `/proc/1234/mem`. */
  subject?: string;
  /** What the user can do about it, one sentence. */
  hint?: string;
  cause?: unknown;
}

export class NativeError extends Error {
  readonly kind: NativeErrorKind;
  readonly subject?: string;
  readonly hint?: string;

  constructor(kind: NativeErrorKind, message: string, options: NativeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NativeError';
    this.kind = kind;
    this.subject = options.subject;
    this.hint = options.hint;
  }

  /** One line for a human: the message, then the hint if there is one. */
  describe(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof NativeError;
}

/**
 * Maps a Node system error (from fs) to a NativeError of the right kind. `subject` names what was read;
 * `procPid` is set when the path lives under /proc/PID, where ENOENT/ESRCH mean the process exited.
 */
export function fromSystemError(e: unknown, subject: string, procPid?: number): NativeError {
  if (e instanceof NativeError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const detail = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new NativeError('permission', `Permission denied reading ${subject}.`, {
        subject,
        cause: e,
        hint:
          procPid !== undefined
            ? 'Reading another process needs ptrace access: run as the same user as the target, and check /proc/sys/kernel/yama/ptrace_scope (0 allows same-user reads; 1 only allows descendants) or use CAP_SYS_PTRACE.'
            : 'Check the file permissions.',
      });
    case 'ENOENT':
    case 'ESRCH':
      return procPid !== undefined
        ? new NativeError('gone', `Process ${procPid} does not exist (it may have exited).`, {
            subject,
            cause: e,
            hint: 'Pick a running process and try again.',
          })
        : new NativeError('io', `${subject} does not exist.`, { subject, cause: e });
    case 'EIO':
      return new NativeError('io', `I/O error reading ${subject} (unmapped memory or a failing device).`, {
        subject,
        cause: e,
      });
    default:
      return new NativeError('io', `Could not read ${subject}: ${detail}`, { subject, cause: e });
  }
}

/** An analysis or a sampling stopped at the caller's request (not a NativeError: nothing failed). */
export class CancelledError extends Error {
  constructor() {
    super('The analysis was cancelled.');
    this.name = 'CancelledError';
  }
}
