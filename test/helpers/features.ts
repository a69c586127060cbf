// The independent expectation of the analysis tests: the CPU features of one function, found by decoding
// its symbol's range linearly, whatever the compiler emitted there.

import * as assert from 'node:assert/strict';
import type { ModuleImage } from '../../native/src/space/space';
import { CodeDecoder } from '../../native/src/decoder/decoder';

/** Features of one function of `m`, by decoding its symbol's range. */
export function featuresOf(m: ModuleImage, name: string): Set<string> {
  const s = m.elf.findSymbol(name);
  assert.ok(s && s.size > 0, `sized symbol ${name} in ${m.path}`);
  const out = new Set<string>();
  const d = new CodeDecoder();
  try {
    d.decodeLinear(m.elf.readVirtual(s.value, s.size), s.value, (v) => {
      for (const f of v.info.features) out.add(f);
    });
  } finally {
    d.free();
  }
  return out;
}
