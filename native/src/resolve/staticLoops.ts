// The loops a ufunc's table can hold, from the extension's file alone (files at rest): the functions the loader puts in
// its slots, and every value any store of the module's code can write there (loopFlow.ts follows them through
// registers, 64-bit lanes of vector registers and stack slots). No answer when a write or a reference to the table
// cannot be followed: the caller then keeps the module-wide fallback.

import * as iced from 'iced-x86';
import { CodeDecoder } from '../decoder/decoder';
import * as C from '../elf/elfConstants';
import type { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';
import { upperBound } from '../upperBound';
import { loadedWord, writesMemory } from './loopEffects';
import { type AbsoluteStore, functionStores } from './loopFlow';
import type { Val } from './loopState';
import type { LoopTable } from './ufuncLoops';

/** Text larger than this is not scanned. */
const MAX_TEXT = 128 * 1024 * 1024;
/** Functions larger than this are not followed (NumPy 1.24's InitOperators is about 60 KiB). */
const MAX_FUNCTION = 1024 * 1024;

/** The widest store (a zmm register), in bytes. */
const MAX_STORE = 64;

const USE_READ = 0;
const USE_WRITE = 1;
const USE_LEA = 2;

/**
 * Where the module's code may name an address in its writable data, from one byte scan of its executable sections:
 * every 4 bytes read as a RIP-relative displacement (the address it names if the instruction ends right after it; one
 * with an immediate after it names up to 4 bytes further). A false match only adds a function to decode (the safe side).
 */
interface ModuleRefs {
  /** The addresses displacements name, and where each displacement is (unsorted, `count` used). */
  named: Pairs;
  /** Direct branches and calls (`call`/`jmp`/`jcc` rel32, short `jmp`/`jcc`): their targets and sources. */
  branches: Pairs;
  /** The same by target, made when first asked. */
  bySource?: Map<number, number[]>;
}

/** Pairs of numbers in two growing arrays. */
class Pairs {
  a: Float64Array = new Float64Array(1024);
  b: Float64Array = new Float64Array(1024);
  count = 0;
  push(x: number, y: number): void {
    if (this.count === this.a.length) {
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[this.count] = x;
    this.b[this.count++] = y;
  }
}

/** An instruction's use of an absolute address in [start, end): how, and its memory operand's size. */
interface Ref {
  ip: number;
  addr: number;
  use: number;
  size: number;
}

const refsByFile = new WeakMap<ElfFile, ModuleRefs | null>();
const storesByFile = new WeakMap<ElfFile, Map<number, Map<number, AbsoluteStore> | undefined>>();

/**
 * Every function the table `t` of `elf` can hold (link addresses, sorted), or undefined when the file cannot tell:
 * a write to the table that is not a store of followed values, its address taken by anything but the calls that make
 * the objects (`t.sites`), a data word pointing into it, or a slot value that is not code.
 */
export function staticLoops(elf: ElfFile, t: LoopTable): number[] | undefined {
  try {
    const end = t.table + 8 * t.count;
    const out = new Set<number>();
    for (let k = 0; k < t.count; k++) if (!addAll(out, loadedWord(elf, t.table + 8 * k))) return undefined;
    if (dataPointsInto(elf, t.table, end)) return undefined;
    const refs = moduleRefs(elf);
    const named = refs && refsInto(elf, refs, t.table - MAX_STORE, end);
    if (!refs || !named) return undefined;
    const creators = new Set(t.sites);
    for (const r of named) {
      // A store that starts before the table (a 16-byte pair ending in slot 0) writes it too.
      if (r.use === USE_READ || (r.addr < t.table && (r.use === USE_LEA || r.addr + r.size <= t.table))) continue;
      if (r.use === USE_LEA) {
        if (r.addr === t.table && creators.has(r.ip)) continue;
        return undefined;
      }
      const stored = storedValues(elf, refs, r.ip, t.table, end);
      if (!stored || !stored.every((v) => addAll(out, v))) return undefined;
    }
    out.delete(0);
    for (const a of out) if (!elf.isCodeAddress(a)) return undefined;
    return [...out].sort((a, b) => a - b);
  } catch (e) {
    if (e instanceof NativeError) return undefined;
    throw e;
  }
}

/** Adds a value set to `out`; false when it is unknown. */
function addAll(out: Set<number>, v: Val): boolean {
  if (!v) return false;
  for (const a of v) out.add(a);
  return true;
}

const relocatedByFile = new WeakMap<ElfFile, Float64Array>();

/** True when a relocated data word of the module points into [start, end) (the table's address is kept somewhere). */
function dataPointsInto(elf: ElfFile, start: number, end: number): boolean {
  let values = relocatedByFile.get(elf);
  if (!values) {
    const all: number[] = [];
    for (const r of elf.relocations()) {
      const v = r.symbol ? (r.symbol.defined ? r.symbol.value + r.addend : undefined) : r.addend;
      if (v !== undefined) all.push(v);
    }
    relocatedByFile.set(elf, (values = Float64Array.from(all).sort()));
  }
  const sorted = values;
  const i = upperBound(sorted.length, (k) => sorted[k] >= start);
  return i < sorted.length && sorted[i] < end;
}

/** The module's byte scan (ModuleRefs), once per file. */
function moduleRefs(elf: ElfFile): ModuleRefs | null {
  let refs = refsByFile.get(elf);
  if (refs === undefined) refsByFile.set(elf, (refs = scanModule(elf)));
  return refs;
}

function scanModule(elf: ElfFile): ModuleRefs | null {
  const code = elf.sections.filter((s) => s.flags & C.SHF_EXECINSTR && s.type === C.SHT_PROGBITS);
  if (!code.length || code.reduce((n, s) => n + s.size, 0) > MAX_TEXT) return null;
  const data = elf.sections.filter((s) => s.flags & C.SHF_ALLOC && s.flags & C.SHF_WRITE);
  if (!data.length) return null;
  const lo = Math.min(...data.map((s) => s.addr)) - MAX_STORE - 4;
  const hi = Math.max(...data.map((s) => s.addr + s.size));
  const refs: ModuleRefs = { named: new Pairs(), branches: new Pairs() };
  for (const s of code) {
    const b = elf.sectionData(s);
    for (let i = 0, from = s.addr; i + 2 <= b.length; i++, from++) {
      const op = b[i];
      if (i + 4 <= b.length) {
        const d = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
        if (from + 4 + d >= lo && from + 4 + d < hi) refs.named.push(from + 4 + d, from);
        // A rel32 branch's displacement follows its opcode: e8/e9 one byte before, 0f 8x two.
        const prev = i > 0 ? b[i - 1] : 0;
        if (prev === 0xe8 || prev === 0xe9) refs.branches.push(from + 4 + d, from - 1);
        else if (prev >= 0x80 && prev <= 0x8f && i > 1 && b[i - 2] === 0x0f) refs.branches.push(from + 4 + d, from - 2);
      }
      if (op === 0xeb || (op >= 0x70 && op <= 0x7f)) refs.branches.push(from + 2 + ((b[i + 1] << 24) >> 24), from);
    }
  }
  return refs;
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** The sources of the module's direct branches and calls to `target` (a false match only makes a block start unknown). */
function branchIndex(refs: ModuleRefs): Map<number, number[]> {
  if (refs.bySource) return refs.bySource;
  const out = new Map<number, number[]>();
  const { a: target, b: from, count } = refs.branches;
  for (let i = 0; i < count; i++) {
    const list = out.get(target[i]);
    if (list) list.push(from[i]);
    else out.set(target[i], [from[i]]);
  }
  return (refs.bySource = out);
}

/**
 * Whether an instruction of the module starts at `from` and branches (or calls) to `target`: the byte scan also finds
 * an e8 or e9 byte inside another instruction (`movq xmm5, rax` ends in e8). When the code holding `from` is too large
 * to decode or cannot be read, the match stands (the safe side).
 */
function isBranchAt(elf: ElfFile, from: number, target: number): boolean {
  const code = decodedAt(elf, from);
  return !code || code.branches.get(from) === target;
}

/** What one function (or gap) holds for the checks here: its absolute operands and its direct branches and calls. */
interface DecodedRange {
  refs: Ref[];
  branches: Map<number, number>;
}

const decodedByFile = new WeakMap<ElfFile, Map<number, DecodedRange | null>>();

/**
 * The function or gap holding `pos`, decoded once per file; undefined when it is larger than MAX_FUNCTION or holds no
 * code, null when it cannot be read.
 */
function decodedAt(elf: ElfFile, pos: number): DecodedRange | null | undefined {
  const range = elf.functionAt(pos) ?? gapAround(elf, pos);
  if (!range || range.end - range.start > MAX_FUNCTION) return undefined;
  let byStart = decodedByFile.get(elf);
  if (!byStart) decodedByFile.set(elf, (byStart = new Map()));
  let found = byStart.get(range.start);
  if (found !== undefined) return found;
  const d = new CodeDecoder();
  try {
    const out: DecodedRange = { refs: [], branches: new Map() };
    d.decodeLinear(elf.readVirtual(range.start, range.end - range.start), range.start, (v) => {
      const t = v.directTarget();
      if (t !== undefined) out.branches.set(v.ip, t);
      const a = v.absoluteMemoryAddress();
      if (a === undefined) return;
      const use = v.info.mnemonic === iced.Mnemonic.Lea ? USE_LEA : writesMemory(v) ? USE_WRITE : USE_READ;
      out.refs.push({ ip: v.ip, addr: a, use, size: use === USE_WRITE ? v.memorySize() || MAX_STORE : 0 });
    });
    found = out;
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
    found = null;
  } finally {
    d.free();
  }
  byStart.set(range.start, found);
  return found;
}

/**
 * The code between the functions around `pos` (padding, or code no symbol or FDE covers), from the end of the function
 * before it to the start of the next one, within its section: decoded whole, it starts on an instruction.
 */
function gapAround(elf: ElfFile, pos: number): { start: number; end: number } | undefined {
  const sec = elf.sections.find((s) => s.flags & C.SHF_EXECINSTR && pos >= s.addr && pos < s.addr + s.size);
  if (!sec) return undefined;
  let start = sec.addr;
  let end = sec.addr + sec.size;
  for (const f of elf.functions()) {
    if (f.end <= pos) start = Math.max(start, f.end);
    else if (f.start > pos) {
      end = Math.min(end, f.start);
      break;
    }
  }
  return { start, end };
}

/**
 * The instructions that name an address in [start, end) as a memory operand or `lea`: every function holding a
 * displacement the scan found pointing there, decoded whole (or the gap between functions holding it). Undefined when
 * such code is too large to decode or cannot be read.
 */
function refsInto(elf: ElfFile, refs: ModuleRefs, start: number, end: number): Ref[] | undefined {
  const ranges = new Set<DecodedRange>();
  const { a: named, b: at, count } = refs.named;
  for (let i = 0; i < count; i++) {
    if (named[i] < start - 4 || named[i] >= end) continue;
    const code = decodedAt(elf, at[i]);
    if (!code) return undefined;
    ranges.add(code);
  }
  const out: Ref[] = [];
  for (const code of ranges) for (const r of code.refs) if (r.addr >= start && r.addr < end) out.push(r);
  return out;
}

/**
 * The values the store at `ip` writes into [table, end), one per 8-byte slot it covers there; undefined when that is not
 * known (the function cannot be followed, or the store covers part of a slot).
 */
function storedValues(elf: ElfFile, refs: ModuleRefs, ip: number, table: number, end: number): Val[] | undefined {
  const ext = elf.functionAt(ip);
  if (!ext || ext.end - ext.start > MAX_FUNCTION) return undefined;
  let byStart = storesByFile.get(elf);
  if (!byStart) storesByFile.set(elf, (byStart = new Map()));
  if (!byStart.has(ext.start)) {
    const index = branchIndex(refs);
    byStart.set(ext.start, functionStores(elf, ext.start, ext.end, (target) => (index.get(target) ?? []).filter((from) => isBranchAt(elf, from, target))));
  }
  const s = byStart.get(ext.start)?.get(ip);
  if (!s) return undefined;
  const out: Val[] = [];
  for (let k = 0; k < s.values.length; k++) {
    const a = s.at + 8 * k;
    if (a < table || a >= end) continue;
    if ((a - table) % 8 !== 0) return undefined;
    out.push(s.values[k]);
  }
  return out.length ? out : undefined;
}
