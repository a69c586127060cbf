// The worker thread behind FuzzRunner (elfFuzz.ts): runs one case per message — the ELF reader's every
// accessor, then (when asked) EPT over a static address space of the file and a full scan — and answers
// 'ok', 'rejected' (NativeError) or 'crash' (any other error, with its stack).

import { parentPort } from 'node:worker_threads';
import { clearSummaryCache, executionPathTracking, type Root } from '../../native/src/trace/ept';
import { clearFullScanCache, fullScan } from '../../native/src/trace/fullScan';
import { entryRoot } from '../../native/src/trace/pvm';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { openFileSource } from '../../native/src/elf/byteSource';
import * as C from '../../native/src/elf/elfConstants';
import { ElfFile } from '../../native/src/elf/elfFile';
import { NativeError } from '../../native/src/errors';
import type { CaseRequest } from './elfFuzz';

/** Every reader accessor; a NativeError from one does not stop the others. */
function exerciseReader(file: string): string[] {
  const refused: string[] = [];
  const elf = ElfFile.open(openFileSource(file), file);
  try {
    const steps: Array<[string, () => unknown]> = [
      ['dynamic', () => elf.dynamic()],
      ['dynamicSymbols', () => elf.dynamicSymbols()],
      ['symtabSymbols', () => elf.symtabSymbols()],
      ['relocations', () => elf.relocations()],
      ['gotSlotRelocations', () => elf.gotSlotRelocations()],
      ['pltStubs', () => elf.pltStubs()],
      ['fdeRanges', () => elf.fdeRanges()],
      ['functions', () => elf.functions()],
      ['executableSections', () => elf.executableSections()],
      ['interpreter', () => elf.interpreter],
      ['isStatic', () => elf.isStatic],
      ['isPie', () => elf.isPie],
      ['sections', () => elf.sections.map((s) => elf.sectionData(s).length)],
    ];
    for (const [name, f] of steps) {
      try {
        f();
      } catch (e) {
        if (!(e instanceof NativeError)) throw e;
        refused.push(name);
      }
    }
  } finally {
    elf.close();
  }
  return refused;
}

/** EPT from the file's entry point and exported functions (sound mode), then a full scan. */
function exerciseEngine(file: string): void {
  clearSummaryCache();
  clearFullScanCache();
  const space = new StaticAddressSpace([file], { hostIfuncs: false, maxObjects: 1 });
  try {
    const m = space.mainModule();
    const roots: Root[] = [];
    const entry = entryRoot(space);
    if (entry) roots.push(entry);
    if (m) {
      let dyn: ReturnType<ElfFile['dynamicSymbols']> = [];
      try {
        dyn = m.elf.dynamicSymbols();
      } catch (e) {
        if (!(e instanceof NativeError)) throw e;
      }
      for (const s of dyn) if (s.defined && (s.type === C.STT_FUNC || s.type === C.STT_GNU_IFUNC) && roots.length < 400) roots.push({ address: s.value + m.bias, reason: s.name });
    }
    executionPathTracking(space, roots, { mode: 'ept' });
    fullScan(space);
  } finally {
    space.close();
  }
}

parentPort!.on('message', (req: CaseRequest) => {
  try {
    let refused: string[];
    try {
      refused = exerciseReader(req.file);
    } catch (e) {
      if (e instanceof NativeError) {
        parentPort!.postMessage({ outcome: 'rejected', detail: `${e.kind}: ${e.message}` });
        return;
      }
      throw e;
    }
    if (req.engine) {
      try {
        exerciseEngine(req.file);
      } catch (e) {
        if (e instanceof NativeError) {
          parentPort!.postMessage({ outcome: 'rejected', detail: `engine ${e.kind}: ${e.message}` });
          return;
        }
        throw e;
      }
    }
    parentPort!.postMessage({ outcome: 'ok', detail: refused.length ? `refused: ${refused.join(', ')}` : undefined });
  } catch (e) {
    parentPort!.postMessage({ outcome: 'crash', detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
