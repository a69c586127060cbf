// The decoder's byte-level fast paths against iced on real code: direct branch targets read from the bytes,
// `pop r64`'s written registers without iced's instruction info, and `push r64` (no memory, no immediate,
// which the summaries skip), on every instruction of libc and python3.11.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as iced from 'iced-x86';
import { CODE_PUSH_R64, CodeDecoder } from '../../native/src/decoder/decoder';
import { openFileSource } from '../../native/src/elf/byteSource';
import { ElfFile } from '../../native/src/elf/elfFile';

test('byte-level branch targets, pop and push rules agree with iced on libc and python3.11', () => {
  let branches = 0;
  let pops = 0;
  let pushes = 0;
  for (const file of ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/python3.11']) {
    const elf = ElfFile.open(openFileSource(file));
    const text = elf.section('.text')!;
    const bytes = elf.readVirtual(text.addr, text.size);
    const dec = new CodeDecoder();
    try {
      dec.decodeLinear(bytes, text.addr, (v) => {
        const where = `${file} 0x${v.ip.toString(16)} ${iced.Code[v.info.code]}`;
        const oracle = v.icedDirectTarget();
        assert.equal(v.directTarget(), oracle, `${where} target`);
        if (oracle !== undefined) branches++;
        if (v.info.code === iced.Code.Pop_r64) {
          assert.deepEqual([...v.implicitlyWrittenRegisters()].sort(), [...v.writtenRegisters()].sort(), `${where} written`);
          pops++;
        }
        if (v.info.code === CODE_PUSH_R64) {
          assert.equal(v.absoluteMemoryAddress(), undefined, `${where} memory`);
          assert.equal(v.addressImmediate(), undefined, `${where} immediate`);
          pushes++;
        }
      });
    } finally {
      dec.free();
      elf.close();
    }
  }
  assert.ok(branches > 100_000 && pops > 10_000 && pushes > 10_000, `checked ${branches} branches, ${pops} pops, ${pushes} pushes`);
});

test('byte-level branch targets of hand-made encodings (rel8/rel32 forwards and backwards, loop, jrcxz)', () => {
  const cases: Array<[string, number, number]> = [
    ['eb fe', 0x1000, 0x1000], // jmp $
    ['e9 00 01 00 00', 0x1000, 0x1105],
    ['e8 fb ff ff ff', 0x2000, 0x2000], // call $ (rel32 = -5)
    ['0f 84 10 00 00 00', 0x3000, 0x3016],
    ['74 80', 0x4000, 0x3f82],
    ['e2 fe', 0x5000, 0x5000], // loop $
    ['e3 02', 0x6000, 0x6004], // jrcxz
    ['f2 e9 00 00 00 00', 0x7000, 0x7006], // bnd jmp
  ];
  const dec = new CodeDecoder();
  try {
    for (const [hex, ip, target] of cases) {
      const bytes = Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
      let got: [number | undefined, number | undefined] | undefined;
      dec.decodeLinear(bytes, ip, (v) => {
        got = [v.directTarget(), v.icedDirectTarget()];
        return 'stop';
      });
      assert.deepEqual(got, [target, target], hex);
    }
  } finally {
    dec.free();
  }
});
