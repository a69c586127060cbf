// Static analyses follow the IFUNC variant this host's dynamic linker picks: for libc's internal IFUNCs
// (read from our own process) and for exported ones (asked of a Python interpreter through dlsym). The
// oracle is a live python3 started with LD_BIND_NOW=1, whose GOT holds the bound variants.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { hostIfuncChoices, probeExportedIfuncs } from '../../native/src/space/hostIfunc';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import * as C from '../../native/src/elf/elfConstants';
import { ProcessView } from '../../native/src/space/processView';
import { DEBIAN_PYTHON, startProcess } from '../helpers/fixtures';

test("the host's IFUNC choices for libc match a live LD_BIND_NOW=1 python3's bound GOT slots", async () => {
  const p = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)'], {
    env: { ...process.env, LD_BIND_NOW: '1' },
  });
  const live = new ProcessAddressSpace(new ProcessView(p.pid));
  try {
    const exe = live.mainModule()!;
    const libcLive = live.modules().find((m) => path.basename(m.path) === 'libc.so.6')!;
    probeExportedIfuncs(DEBIAN_PYTHON);
    const choices = hostIfuncChoices(libcLive.path);
    const resolvers = new Set(libcLive.elf.dynamicSymbols().filter((s) => s.defined && s.type === C.STT_GNU_IFUNC).map((s) => s.value));
    assert.ok(choices, 'choices known');
    for (const r of resolvers) assert.ok(choices.has(r), `the host's choice for the IFUNC resolver at 0x${r.toString(16)} is known`);
    // Every JUMP_SLOT of python3.11 bound to a libc IFUNC must hold the variant we predict.
    let compared = 0;
    for (const r of exe.elf.relocations()) {
      if (r.type !== C.R_X86_64_JUMP_SLOT || !r.symbol?.name) continue;
      const sym = libcLive.elf.lookupSymbol(r.symbol.name);
      if (!sym || sym.type !== C.STT_GNU_IFUNC) continue;
      const predicted = choices.get(sym.value);
      if (predicted === undefined) continue;
      const bound = live.readPointer(r.offset + exe.bias)!;
      assert.equal(bound - libcLive.bias, predicted, `${r.symbol.name}`);
      compared++;
    }
    assert.ok(compared >= 10, `compared ${compared} bound IFUNC slots`);
    // A static space uses them: python3.11's wcsrchr slot resolves to exactly one variant.
    const s = new StaticAddressSpace([exe.path], { python: DEBIAN_PYTHON });
    try {
      const libc = s.modules().find((m) => path.basename(m.path) === 'libc.so.6')!;
      const wcsrchr = libc.elf.lookupSymbol('wcsrchr')!;
      assert.equal(s.ifuncChoice(libc, wcsrchr.value), choices.get(wcsrchr.value));
    } finally {
      s.close();
    }
  } finally {
    live.view.close();
    await p.stop();
  }
});
