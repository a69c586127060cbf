// The IFUNC choices this host's dynamic linker made, read from our own process: for every shared object we
// have loaded ourselves (libc, libm, ...), each IRELATIVE slot holds the variant its resolver picked on this
// CPU. A static analysis of the same files can then follow the variant this host would run instead of
// counting every variant. Keyed by file identity, so a different file (another libc) never matches.

import * as fs from 'node:fs';
import * as C from '../elf/elfConstants';
import { NativeError } from '../errors';
import { ProcessView } from '../process/processView';

/** For one file: resolver link-time address → chosen variant link-time address. */
export type IfuncChoices = ReadonlyMap<number, number>;

let cache: Map<string, IfuncChoices> | undefined;

/** dev:inode of a file, the key shared with /proc/self/maps entries. */
function fileKey(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function load(): Map<string, IfuncChoices> {
  const out = new Map<string, IfuncChoices>();
  let view: ProcessView | undefined;
  try {
    view = new ProcessView(process.pid);
    for (const m of view.modules()) {
      const key = fileKey(m.path);
      if (!key || out.has(key)) continue;
      let elf;
      try {
        elf = m.elf;
      } catch (e) {
        if (e instanceof NativeError) continue;
        throw e;
      }
      const bias = m.loadBias;
      const choices = new Map<number, number>();
      for (const r of elf.relocations()) {
        if (r.type !== C.R_X86_64_IRELATIVE) continue;
        const v = view.readPointer(r.offset + bias);
        if (v !== undefined && v !== 0) choices.set(r.addend, v - bias);
      }
      if (choices.size > 0) out.set(key, choices);
    }
  } catch (e) {
    // Reading ourselves should always work; if it does not, static analyses fall back to every variant.
    if (!(e instanceof NativeError)) throw e;
  } finally {
    view?.close();
  }
  return out;
}

/** The choices for `file` (the same file this process has loaded), or undefined. */
export function hostIfuncChoices(file: string): IfuncChoices | undefined {
  cache ??= load();
  const key = fileKey(file);
  return key ? cache.get(key) : undefined;
}
