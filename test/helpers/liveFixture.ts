// A C fixture built with gcc and running under LD_BIND_NOW=1, read live: its address space and main module, the
// run-time address of its symbols, and the start addresses of the functions a walk visited (the EPT suites); and
// every word of a live space's chosen regions (the census suites' references).

import * as assert from 'node:assert/strict';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import type { AddressSpace, ModuleImage, Region } from '../../native/src/space/space';
import type { EptResult } from '../../native/src/trace/ept';
import { buildC, startProcess, type StartedProcess } from './fixtures';

export interface LiveFixture {
  proc: StartedProcess;
  space: ProcessAddressSpace;
  main: ModuleImage;
  /** The run-time address of a symbol of the main module. */
  at(name: string): number;
  stop(): Promise<void>;
}

/**
 * Builds `source` (under test/fixtures/) with `flags`, starts it with LD_BIND_NOW=1 and, once `ready` resolves
 * (default: at once), opens its live address space.
 */
export async function startLiveFixture(source: string, flags: string[], ready?: (pid: number) => Promise<void>): Promise<LiveFixture> {
  const proc = await startProcess(buildC(source, { flags }), [], { env: { ...process.env, LD_BIND_NOW: '1' } });
  try {
    await ready?.(proc.pid);
    const space = new ProcessAddressSpace(new ProcessView(proc.pid));
    const main = space.mainModule()!;
    assert.equal(space.liveMemory, true);
    return {
      proc,
      space,
      main,
      at: (name) => {
        const s = main.elf.findSymbol(name);
        assert.ok(s, `symbol ${name}`);
        return s.value + main.bias;
      },
      stop: async () => {
        space.view.close();
        await proc.stop();
      },
    };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

/** The start addresses of the functions a walk made with recordVisited visited. */
export function visitedStarts(r: EptResult): Set<number> {
  return new Set(r.visited!.map((v) => v.start));
}

/** A module's writable data (read, write, not exec): the regions the census of live values reads. */
export const moduleData = (r: Region): boolean => r.read && r.write && !r.exec && r.module !== undefined;

/** Calls `each` with every aligned 64-bit word (little-endian; above 2^53 approximate) of the regions `which` accepts. */
export function forEachWord(space: AddressSpace, which: (r: Region) => boolean, each: (value: number) => void): void {
  for (const r of space.regions()) {
    if (!which(r)) continue;
    const bytes = space.readMemory(r.start, r.end - r.start);
    if (!bytes) continue;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let off = 0; off + 8 <= bytes.length; off += 8) each(dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32);
  }
}
