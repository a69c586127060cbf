// Decoder wrapper and feature rules: known encodings → canonical requirement, NOP-compatible hints
// excluded, baseline implied, xtest separate from RTM, LAHF/SAHF in 64-bit mode, flow control.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as iced from 'iced-x86';
import { decodeOne, CodeDecoder, Flow, firstOperandMayBeGpr } from '../../native/src/decoder/decoder';
import { openFileSource } from '../../native/src/elf/byteSource';
import { ElfFile } from '../../native/src/elf/elfFile';

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const CASES: Array<[string, string, string[], boolean?]> = [
  // [description, bytes, required features, nopCompatible]
  ['endbr64', 'f3 0f 1e fa', [], true],
  ['pause', 'f3 90', [], true],
  ['nopl (multi-byte NOP)', '0f 1f 44 00 00', [], true],
  ['rdsspq (CET-SS hint NOP)', 'f3 48 0f 1e c8', [], true],
  ['bndcl (MPX space, NOP without MPX)', 'f3 0f 1a 00', [], true],
  ['incsspq (CET-SS, faults without it)', 'f3 48 0f ae e8', ['shstk']],
  ['xacquire lock add (HLE prefix ignored)', 'f2 f0 01 07', []],
  ['bnd jmp (BND prefix ignored)', 'f2 e9 00 00 00 00', []],
  ['xtest', '0f 01 d6', ['xtest']],
  ['xbegin', 'c7 f8 00 00 00 00', ['rtm']],
  ['lahf', '9f', ['lahf_lm']],
  ['crc32', 'f2 0f 38 f1 c0', ['sse4_2']],
  ['popcnt', 'f3 48 0f b8 c0', ['popcnt']],
  ['lzcnt', 'f3 48 0f bd c0', ['abm']],
  ['tzcnt', 'f3 48 0f bc c0', ['bmi1']],
  ['vzeroupper', 'c5 f8 77', ['avx']],
  ['vpaddd ymm (AVX2)', 'c5 fd fe c1', ['avx2']],
  ['vfmadd231pd ymm', 'c4 e2 f5 b8 c2', ['fma']],
  ['vmovdqa32 ymm16 (EVEX)', '62 e1 7d 28 6f c0', ['avx512f', 'avx512vl']],
  ['vpdpbusd zmm (AVX512_VNNI)', '62 f2 75 48 50 c2', ['avx512_vnni']],
  ['vpdpbusd xmm VEX (AVX-VNNI)', 'c4 e2 79 50 c0', ['avx_vnni']],
  ['sha256rnds2', '0f 38 cb c1', ['sha_ni']],
  ['adcx', '66 48 0f 38 f6 c1', ['adx']],
  ['rdseed', '48 0f c7 f8', ['rdseed']],
  ['rdrand', '48 0f c7 f0', ['rdrand']],
  ['aesenc', '66 0f 38 dc c1', ['aes']],
  ['xgetbv', '0f 01 d0', ['xsave']],
  ['cmpxchg16b', '48 0f c7 0e', ['cx16']],
  ['tilerelease', 'c4 e2 78 49 c0', ['amx_tile']],
  ['mov (baseline)', '48 89 c3', []],
  ['addsd (SSE2 baseline)', 'f2 0f 58 c1', []],
  ['cpuid (baseline)', '0f a2', []],
  ['rdtsc (baseline)', '0f 31', []],
];

test('canonical features of known encodings', () => {
  for (const [name, bytes, want, nop] of CASES) {
    const d = decodeOne(hex(bytes), 0x1000);
    assert.ok(d, `${name} decodes`);
    assert.equal(d.length, hex(bytes).length, `${name}: length`);
    assert.deepEqual([...d.info.features].sort(), [...want].sort(), `${name} (${d.text})`);
    assert.equal(d.info.nopCompatible, nop ?? false, `${name}: nopCompatible`);
  }
});

test('flow control and branch targets', () => {
  const dec = new CodeDecoder();
  try {
    // call rel32 (+0x10), jmp [rip+0x20], call rax, jne rel8, ret, syscall
    const code = hex('e8 10 00 00 00  ff 25 20 00 00 00  ff d0  75 02  c3  0f 05');
    const seen: Array<{ ip: number; flow: Flow; target?: number; mem?: number; reg?: number }> = [];
    dec.decodeLinear(code, 0x401000, (v) => {
      seen.push({
        ip: v.ip,
        flow: v.info.flow,
        target: v.directTarget(),
        mem: v.isMemoryOperand(0) ? v.absoluteMemoryAddress() : undefined,
        reg: v.branchRegister(),
      });
    });
    assert.equal(seen.length, 6);
    assert.deepEqual(seen[0], { ip: 0x401000, flow: Flow.Call, target: 0x401015, mem: undefined, reg: undefined });
    assert.equal(seen[1].flow, Flow.IndirectBranch);
    assert.equal(seen[1].mem, 0x401005 + 6 + 0x20);
    assert.equal(seen[2].flow, Flow.IndirectCall);
    assert.notEqual(seen[2].reg, undefined);
    assert.equal(seen[3].flow, Flow.ConditionalBranch);
    assert.equal(seen[3].target, 0x40100d + 2 + 2);
    assert.equal(seen[4].flow, Flow.Return);
    // syscall is classified as a call by iced but has no branch target.
    assert.equal(seen[5].target, undefined);
    assert.equal(dec.decoded, 6);
  } finally {
    dec.free();
  }
});

test('invalid bytes are skipped and counted, decoding resumes', () => {
  const dec = new CodeDecoder();
  try {
    const ips: number[] = [];
    // 0x06 (push es) is invalid in 64-bit mode; then a nop and ret.
    dec.decodeLinear(hex('06 90 c3'), 0x2000, (v) => void ips.push(v.ip));
    assert.deepEqual(ips, [0x2001, 0x2002]);
    assert.equal(dec.invalid, 1);
  } finally {
    dec.free();
  }
});

test('a truncated final instruction ends decoding without an error', () => {
  const dec = new CodeDecoder();
  try {
    const ips: number[] = [];
    dec.decodeLinear(hex('90 e8 00 00'), 0x3000, (v) => void ips.push(v.ip));
    assert.deepEqual(ips, [0x3000]);
  } finally {
    dec.free();
  }
});

test('the JS operand parser agrees with iced on every simple-form instruction of libc and python3.11', () => {
  let checked = 0;
  let fellBack = 0;
  for (const file of ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/python3.11']) {
    const elf = ElfFile.open(openFileSource(file));
    const text = elf.section('.text')!;
    const bytes = elf.readVirtual(text.addr, text.size);
    const dec = new CodeDecoder();
    const ins = new iced.Instruction();
    try {
      dec.decodeLinear(bytes, text.addr, (v) => {
        if (v.info.simpleForm === 0) return;
        const fast = v.simpleOperands();
        if (!fast) {
          fellBack++;
          return;
        }
        // Decode the same bytes again with iced directly, as the oracle.
        const d = new iced.Decoder(64, bytes.subarray(v.offset, v.offset + v.length), iced.DecoderOptions.None);
        d.ip = BigInt(v.ip);
        d.decodeOut(ins);
        d.free();
        const full = (r: number) => (r === iced.Register.None ? -1 : iced.RegisterExt.fullRegister(r));
        const where = `${file} 0x${v.ip.toString(16)}`;
        const memOp = [0, 1].find((i) => i < ins.opCount && ins.opKind(i) === iced.OpKind.Memory);
        assert.equal(fast.isMemory, memOp !== undefined, `${where} memory`);
        const regOp = [0, 1].find((i) => i < ins.opCount && ins.opKind(i) === iced.OpKind.Register && (v.info.simpleForm !== 2 || i === 1));
        if (fast.reg !== -1) assert.equal(fast.reg, full(ins.opRegister(regOp!)), `${where} register`);
        if (fast.isMemory) {
          assert.equal(fast.rip, ins.memoryBase === iced.Register.RIP, `${where} rip`);
          if (!fast.rip) assert.equal(fast.base, full(ins.memoryBase), `${where} base`);
          assert.equal(fast.index, full(ins.memoryIndex), `${where} index`);
          if (fast.rip) assert.equal(fast.absolute, Number(ins.ipRelMemoryAddress), `${where} rip target`);
          else assert.equal(BigInt.asIntN(64, BigInt(fast.disp)), BigInt.asIntN(64, ins.memoryDisplacement), `${where} displacement`);
        }
        if (fast.imm !== undefined) {
          const immOp = [0, 1].find((i) => i < ins.opCount && /Immediate/.test(iced.OpKind[ins.opKind(i)]))!;
          assert.equal(BigInt(fast.imm), BigInt.asUintN(64, ins.immediate(immOp)), `${where} immediate`);
        }
        checked++;
      });
    } finally {
      ins.free();
      dec.free();
      elf.close();
    }
  }
  assert.ok(checked > 100_000, `checked ${checked}`);
  assert.ok(fellBack < checked / 100, `fell back to iced ${fellBack} times`);
});

test('the first-operand GPR rule from Code names covers every opcode iced says can write a GPR in operand 0', () => {
  const gprKinds = new Set(
    Object.keys(iced.OpCodeOperandKind)
      .filter((k) => /^r(8|16|32|64)_/.test(k))
      .map((k) => (iced.OpCodeOperandKind as unknown as Record<string, number>)[k]),
  );
  const ins = new iced.Instruction();
  let checked = 0;
  try {
    for (let code = 1; (iced.Code as unknown as Record<number, string>)[code] !== undefined; code++) {
      ins.code = code;
      const op = ins.opCode;
      const byTables = op.opCount > 0 && gprKinds.has(op.op0Kind);
      op.free();
      if (byTables) assert.ok(firstOperandMayBeGpr(code), `${(iced.Code as unknown as Record<number, string>)[code]}`);
      checked++;
    }
  } finally {
    ins.free();
  }
  assert.ok(checked > 4000);
  // Fixed-register forms (which the tables do not call GPR kinds) are covered too.
  assert.ok(firstOperandMayBeGpr(iced.Code.Add_EAX_imm32));
  assert.ok(!firstOperandMayBeGpr(iced.Code.Cpuid));
});
