// An independent check of the decoder: along the paths EPT walks in a real Python process, capstone-wasm
// and iced-x86 must agree on every instruction boundary and every direct branch/call target, in libc and
// in the interpreter (libpython is linked into Debian's python3.11).

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Capstone, Const, loadCapstone } from 'capstone-wasm';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { executionPathTracking, type VisitedFunction } from '../../native/src/trace/ept';
import { entryRoot, threadRoots } from '../../native/src/trace/pvm';
import { CodeDecoder } from '../../native/src/decoder/decoder';
import { DEBIAN_PYTHON, startProcess, type StartedProcess } from '../helpers/fixtures';

describe('iced-x86 and capstone agree along EPT paths', () => {
  let proc: StartedProcess;
  let space: ProcessAddressSpace;
  let visited: VisitedFunction[];
  let cs: Capstone;

  before(async () => {
    await loadCapstone();
    cs = new Capstone(Const.CS_ARCH_X86, Const.CS_MODE_64);
    proc = await startProcess(DEBIAN_PYTHON, ['-c', 'import time, json, re; print("READY", flush=True); time.sleep(600)'], {
      env: { ...process.env, LD_BIND_NOW: '1' },
    });
    const view = new ProcessView(proc.pid);
    space = new ProcessAddressSpace(view);
    const roots = [entryRoot(space)!, ...threadRoots(view, space).roots];
    visited = executionPathTracking(space, roots, { mode: 'ept', recordVisited: true }).visited!;
  });
  after(async () => {
    cs?.close();
    space?.view.close();
    await proc?.stop();
  });

  for (const moduleName of ['libc.so.6', 'python3.11']) {
    test(`instruction boundaries and direct targets in ${moduleName}`, () => {
      const fns = visited.filter((v) => path.basename(v.module) === moduleName && v.method === 'extent');
      assert.ok(fns.length > 100, `EPT visited ${fns.length} functions of ${moduleName}`);
      const m = space.modules().find((x) => path.basename(x.path) === moduleName)!;
      const dec = new CodeDecoder();
      let instructions = 0;
      let branches = 0;
      let capstoneStoppedEarly = 0;
      try {
        for (const f of fns) {
          const bytes = m.elf.readVirtual(f.start - m.bias, f.end - f.start);
          const ours: Array<{ ip: number; len: number; target?: number }> = [];
          dec.decodeLinear(bytes, f.start, (v) => {
            ours.push({ ip: v.ip, len: v.length, target: v.info.flow === 0 ? undefined : v.directTarget() });
          });
          const theirs = cs.disasm(bytes, { address: f.start });
          if (theirs.length < ours.length) capstoneStoppedEarly++;
          // Capstone stops at the first encoding it does not know; compare what both decoded.
          for (let i = 0; i < theirs.length; i++) {
            const c = theirs[i];
            const o = ours[i];
            assert.ok(o, `iced decoded fewer instructions than capstone in ${moduleName} at 0x${Number(c.address).toString(16)}`);
            assert.equal(o.ip, Number(c.address), `boundary in ${moduleName} function 0x${f.start.toString(16)}`);
            assert.equal(o.len, c.size, `length at 0x${o.ip.toString(16)} (${c.mnemonic} ${c.opStr})`);
            instructions++;
            const isDirect = /^(j[a-z]+|call|loop[a-z]*|jrcxz|xbegin)$/.test(c.mnemonic) && /^0x[0-9a-f]+$/.test(c.opStr);
            if (isDirect) {
              branches++;
              assert.equal(o.target, parseInt(c.opStr, 16), `target of ${c.mnemonic} at 0x${o.ip.toString(16)}`);
            }
          }
        }
      } finally {
        dec.free();
      }
      assert.ok(instructions > 10_000, `compared ${instructions} instructions`);
      assert.ok(branches > 1_000, `compared ${branches} direct targets`);
      // Capstone 5 predates a few extensions iced knows; it must still cover nearly every function.
      assert.ok(capstoneStoppedEarly <= fns.length * 0.02, `capstone stopped early in ${capstoneStoppedEarly} of ${fns.length} functions`);
    });
  }
});
