// Which functions install signal handlers: the kernel keeps a handler's address where no scan of memory sees it,
// so code that installed one hands its references to the address-taken set whole (addressTaken.ts), whether it
// ran at load time (initialisers) or before a live frame's resume point (helpers main called before its loop).

import type { FunctionSummary } from './summary';
import { type AddressSpace, type ModuleImage, isInPlt } from '../space/space';

/** libc's functions that install a signal handler (the kernel keeps its address). */
const SIGNAL_INSTALLERS = new Set(['sigaction', '__sigaction', 'signal', 'sysv_signal', '__sysv_signal', 'bsd_signal', 'sigset', 'ssignal']);
/** How many calls deep a wrapper of sigaction is looked for. */
export const SIGNAL_INSTALL_DEPTH = 2;
/** How many calls deep the helpers called before a resume point are looked through. */
const HELPER_DEPTH = 3;

export class SignalInstallers {
  /** Per module: functions (link-time starts) known to install signal handlers, directly or through its own calls. */
  private readonly known: Array<Map<number, boolean> | undefined> = [];

  constructor(
    private readonly space: AddressSpace,
    private readonly summaryOf: (m: ModuleImage, link: number) => FunctionSummary | undefined,
  ) {}

  /**
   * True when `s` (a function of `m`) calls sigaction, signal or a sibling through the PLT (a tail call counts: `jmp
   * signal@plt` ends a wrapper gcc compiled at -O2), or calls a function of `m` that does (up to `depth` calls deep:
   * wrappers such as CPython's PyOS_setsig).
   */
  installs(m: ModuleImage, s: FunctionSummary, depth: number): boolean {
    const known = (this.known[m.index] ??= new Map());
    const cached = known.get(s.start);
    if (cached !== undefined) return cached;
    known.set(s.start, false); // Recursion guard.
    let found = false;
    for (const t of [...s.calls, ...s.jumpsOut]) {
      if (isInPlt(m.elf, t)) {
        const name = m.elf.pltStubAt(t)?.symbol;
        if (name && SIGNAL_INSTALLERS.has(name.split('@')[0])) found = true;
      } else if (depth > 0 && this.space.regionAt(t + m.bias)?.module === m) {
        const callee = this.summaryOf(m, t);
        if (callee && this.installs(m, callee, depth - 1)) found = true;
      }
      if (found) break;
    }
    known.set(s.start, found);
    return found;
  }

  /**
   * The helpers a live frame's function (`whole`) calls in its module, three calls deep, that install signal
   * handlers. They ran before the resume point and will not run again; what they stored in memory is found there
   * (heldFunctionRoots, the census), but only the kernel keeps what they installed with sigaction.
   */
  installersCalledBy(m: ModuleImage, whole: FunctionSummary): FunctionSummary[] {
    const out: FunctionSummary[] = [];
    const seen = new Set<number>();
    let level = [...whole.calls, ...whole.jumpsOut];
    for (let depth = 0; depth < HELPER_DEPTH && level.length; depth++) {
      const next: number[] = [];
      for (const t of level) {
        if (seen.has(t) || isInPlt(m.elf, t) || this.space.regionAt(t + m.bias)?.module !== m) continue;
        seen.add(t);
        const s = this.summaryOf(m, t);
        if (!s) continue;
        if (this.installs(m, s, SIGNAL_INSTALL_DEPTH)) out.push(s);
        next.push(...s.calls, ...s.jumpsOut);
      }
      level = next;
    }
    return out;
  }
}
