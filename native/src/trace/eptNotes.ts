// The notes execution path tracking adds to its result: what it assumed, skipped or narrowed, and why, from the
// walk's counters.

import type { EptMode } from './eptTypes';

/** The walk's counters and modes the notes are written from. */
export interface NoteFacts {
  addressTakenRoots: number;
  hostIfuncChoices: number;
  ifuncFallbacks: number;
  lazySlots: number;
  liveMemory: boolean;
  productsNotLive: number;
  productsTransformed: number;
  mode: EptMode;
  onceInitsSkipped: number;
  rta: boolean;
  tablesNotChosen: number;
  trampolinesSkipped: number;
  unaddressedSkipped: number;
  unreadable: number;
  unresolved: number;
  unresolvedSeen: boolean;
  vdsoSkipped: number;
  /** Pointers into executable segments outside every code section (.rodata mapped R+X by old toolchains). */
  notCode: number;
}

/** The notes for a finished walk, in the order the report shows them. */
export function walkNotes(f: NoteFacts): string[] {
  const notes: string[] = [];
  if (f.lazySlots > 0) {
    notes.push(
      `${f.lazySlots} GOT slot(s) were not bound yet (the process did not run with LD_BIND_NOW=1): their targets were resolved by the dynamic linker's search order, every variant of an IFUNC was counted, and the lazy-binding trampoline's instructions were included because an unbound call would run it after migration. Restart the program with LD_BIND_NOW=1 for an exact answer.`,
    );
  }
  if (!f.liveMemory) {
    notes.push(
      `Live memory could not be read, so GOT slots and dispatch tables were resolved statically: by the dynamic linker's search order${f.hostIfuncChoices > 0 ? `, ${f.hostIfuncChoices} IFUNC(s) of system libraries as this host's dynamic linker resolves them,` : ''} and every variant of other IFUNCs counted.`,
    );
  }
  if (f.ifuncFallbacks > 0 && f.liveMemory && f.lazySlots === 0) {
    notes.push(`${f.ifuncFallbacks} IFUNC resolver(s) were read to count every variant they can return, because their slots could not be read.`);
  }
  if (f.notCode > 0) {
    notes.push(
      `${f.notCode} address(es) the walk met lie in an executable segment but outside every code section (old toolchains map .rodata and .eh_frame executable, as in manylinux wheels' libgfortran): they are data, so they were not decoded as code.`,
    );
  }
  if (f.rta && f.unresolvedSeen) {
    notes.push(
      `${f.unresolved} indirect call/jump site(s) could not be resolved; to stay safe, every function whose address the modules entered can produce — from their visited code, the data it references and their writable data (${f.addressTakenRoots}) — was analysed as a possible target.`,
    );
    if (f.unaddressedSkipped > 0) {
      notes.push(
        `${f.unaddressedSkipped} pointer(s) written at run time into variables that no word of the process's memory points to were not taken as possible targets: only instructions naming those variables can read them (their values are taken where visited code does), and the same values lie nowhere else but in static tables no live pointer reaches.`,
      );
    }
    if (f.productsNotLive > 0) {
      notes.push(
        `${f.productsNotLive} code pointer(s) that code which already ran (static initializers, completed pthread_once initialisers, a live frame's function before the point it resumes at) produced were not taken as possible targets: no word of the process's writable memory holds them, or points into the table holding them, any more (a word of a heap table no code reads does not count), and that code never runs again.`,
      );
    }
    if (f.productsTransformed > 0) {
      notes.push(
        `${f.productsTransformed} code pointer(s) that code which already ran produced were taken as possible targets although no word of live memory holds them: that code may keep them transformed (an offset from another address, a narrowed or shifted copy, a value handed to an indirect call or returned), where no scan can see them.`,
      );
    }
    if (f.onceInitsSkipped > 0) {
      notes.push(
        `${f.onceInitsSkipped} initialiser(s) passed to pthread_once (or OpenSSL's CRYPTO_THREAD_run_once) were not taken as possible targets: their once-control in live memory says they already ran, and pthread_once never runs an initialiser twice.`,
      );
    }
    if (f.tablesNotChosen > 0) {
      notes.push(
        `${f.tablesNotChosen} data table(s) were left out of that set because the code referring to them is a CPU-dispatch selector (it runs cpuid) that stored its choice in a variable which points to another table of the same kind (e.g. OpenBLAS's per-CPU kernel tables, of which gotoblas_dynamic_init chose one at start-up); the chosen ones were analysed.`,
      );
    }
  } else if (f.mode === 'ept-plain' && f.unresolved > 0) {
    notes.push(
      `Plain execution path tracking (the paper's algorithm): ${f.unresolved} indirect call/jump site(s) were not followed, so features behind them may be missing.`,
    );
  } else if (!f.rta && f.unresolved > 0) {
    notes.push(`${f.unresolved} indirect call/jump site(s) could not be resolved and were not followed.`);
  }
  if (f.trampolinesSkipped > 0) {
    notes.push(
      `The dynamic linker's lazy-binding trampoline${f.trampolinesSkipped > 1 ? 's were' : ' was'} not counted: with LD_BIND_NOW=1 ${f.trampolinesSkipped > 1 ? 'they' : 'it'} can never run (analyses of files at rest assume LD_BIND_NOW=1, as Pygration recommends).`,
    );
  }
  if (f.unreadable > 0) notes.push(`${f.unreadable} function(s) could not be read from their files and were skipped.`);
  if (f.vdsoSkipped > 0) notes.push('Calls into the [vdso] were not counted: CRIU gives the restored process the target kernel\'s vDSO.');
  return notes;
}
