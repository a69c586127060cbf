// Which offsets of what a module variable or a frame's register points to code can read: the variable's every use in
// its module's code, or the frame's code from where it resumes (heapTables.ts).

import * as iced from 'iced-x86';
import { CodeDecoder, type InstructionView } from '../decoder/decoder';
import { type AddressSpace, type ModuleImage, dataObjectExtent, lowestReferenceReaching } from '../space/space';
import { upperBound } from '../upperBound';
import { type Decode, decodeAnywhere, decodeIn, followValue, MAX_CODE_BYTES, moduleCode, type SlotReads } from './followValue';
import type { LiveValues } from './liveCensus';
import type { ValueHome } from './valueHomes';

const M = iced.Mnemonic;

/** Module variables: which is one, and which offsets of what each points to code can read (cached per variable). */
export class SlotReader {
  private readonly cache = new Map<number, SlotReads>();

  constructor(
    private readonly space: AddressSpace,
    private readonly census: LiveValues,
  ) {}

  /** True when `address` is a word of a module's writable data (inside its segment, not anonymous memory after it). */
  isVariable(address: number): boolean {
    const region = this.space.regionAt(address);
    const m = region?.module;
    if (!m || !region.write || region.exec || address % 8 !== 0) return false;
    const seg = m.elf.loadContaining(address - m.bias);
    return seg !== undefined && address - m.bias + 8 <= seg.vaddr + seg.memsz;
  }

  private readonly sizes = new Map<ModuleImage, number>();
  /** Bytes of `m`'s executable mappings. */
  codeBytes(m: ModuleImage): number {
    let n = this.sizes.get(m);
    if (n === undefined) {
      n = this.space.regions().reduce((k, r) => (r.module === m && r.exec ? k + r.end - r.start : k), 0);
      this.sizes.set(m, n);
    }
    return n;
  }

  /** readsThrough for many variables at once: each module's read-only data and code are read and decoded once. */
  prepare(slots: Iterable<number>): void {
    const byModule = new Map<ModuleImage, Variable[]>();
    for (const slot of slots) {
      if (this.cache.has(slot)) continue;
      const v = this.variable(slot);
      if (v === 'escapes') this.cache.set(slot, 'escapes');
      else {
        let list = byModule.get(v.m);
        if (!list) byModule.set(v.m, (list = []));
        list.push(v);
      }
    }
    for (const [m, list] of byModule) for (const [slot, r] of moduleReads(this.space, m, list)) this.cache.set(slot, r);
  }

  readsThrough(slot: number): SlotReads {
    if (!this.cache.has(slot)) this.prepare([slot]);
    return this.cache.get(slot)!;
  }

  /** The checks that need no code: a variable, not exported, its address held by no word of live data. */
  private variable(slot: number): Variable | 'escapes' {
    const m = this.space.regionAt(slot)?.module;
    if (!m || !this.isVariable(slot) || this.codeBytes(m) > MAX_CODE_BYTES) return 'escapes';
    const link = slot - m.bias;
    // Another module (or dlsym) can name an exported variable.
    if (m.elf.dynamicSymbols().some((s) => s.defined && link >= s.value && link < s.value + Math.max(s.size, 1))) return 'escapes';
    // The variable's object, from the lowest address a reference reaching it can name (an array's start; without
    // symbol sizes, a window back): an address of it other than the variable's own word is taken as the variable's.
    const ext = dataObjectExtent(m.elf, link) ?? { start: link, end: link + 8 };
    const start = Math.min(lowestReferenceReaching(m.elf, link), ext.start, link) + m.bias;
    const end = Math.max(ext.end, link + 8) + m.bias;
    // A pointer to the variable (or into its object) anywhere in live data: code can reach it through that.
    if (this.census.pointsInto(start, end)) return 'escapes';
    return { m, slot, start, end };
  }
}

/** A module variable (`slot`, runtime) and the data object holding it, [start, end). */
interface Variable {
  m: ModuleImage;
  slot: number;
  start: number;
  end: number;
}

/**
 * What code can read through each of `vars` (variables of `m`): 'escapes' when a pointer in `m`'s read-only data
 * (relocated pointers of .data.rel.ro, absolute ones of a non-PIE executable) points into its object, or an
 * instruction of `m` uses it other than by plain loads, stores and compares (referenceTo), or a loaded value escapes
 * (followValue); else the offsets its loads' values are read at. `m`'s code is decoded once for all of them.
 */
function moduleReads(space: AddressSpace, m: ModuleImage, vars: Variable[]): Map<number, SlotReads> {
  const out = new Map<number, SlotReads>();
  const sorted = [...vars].sort((a, b) => a.start - b.start);
  const starts = sorted.map((v) => v.start);
  const maxSize = Math.max(...sorted.map((v) => v.end - v.start));
  // The variables whose object holds `address` (objects may overlap: windows of data without symbol sizes).
  const holding = (address: number): Variable[] => {
    const hits: Variable[] = [];
    for (let k = upperBound(starts.length, (j) => starts[j] > address) - 1; k >= 0 && starts[k] > address - maxSize; k--) if (address < sorted[k].end) hits.push(sorted[k]);
    return hits;
  };
  const escape = (v: Variable) => out.set(v.slot, 'escapes');
  const regions = space.regions().filter((r) => r.module === m);
  for (const r of regions) {
    if (r.exec || r.write || !r.read) continue;
    const bytes = space.readMemory(r.start, r.end - r.start);
    if (!bytes) {
      for (const v of vars) escape(v);
      return out;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i + 8 <= bytes.length; i += 8) {
      const lo = view.getUint32(i, true);
      const hi = view.getUint32(i + 4, true);
      if (hi === 0 && lo === 0) continue;
      for (const v of holding(hi * 2 ** 32 + lo)) escape(v);
    }
  }
  const code = moduleCode(space, m);
  if (!code) {
    for (const v of vars) escape(v);
    return out;
  }
  const decoder = new CodeDecoder();
  try {
    const loads = new Map<number, Array<{ ip: number; reg: number }>>();
    for (const { region: r, buffer } of code) {
      decoder.decodeRange(buffer, r.start, r.end, (ins) => {
        const { target, immediate } = addressesOf(ins);
        if (immediate !== undefined) for (const v of holding(immediate)) escape(v);
        if (target === undefined) return;
        for (const v of holding(target)) {
          if (out.has(v.slot)) continue;
          const verdict = referenceTo(ins, target, v.slot);
          if (verdict === 'escapes') escape(v);
          else if (verdict !== undefined) {
            let list = loads.get(v.slot);
            if (!list) loads.set(v.slot, (list = []));
            list.push({ ip: ins.nextIp, reg: verdict });
          }
        }
      });
    }
    for (const v of vars) {
      if (out.has(v.slot)) continue;
      const reads: Array<[number, number]> = [];
      let escapes = false;
      for (const load of loads.get(v.slot) ?? []) {
        const got = followValue(decodeIn(code, decoder), load.ip, load.reg);
        if (got === 'escapes') {
          escapes = true;
          break;
        }
        reads.push(...got);
      }
      out.set(v.slot, escapes ? 'escapes' : reads);
    }
  } finally {
    decoder.free();
    for (const c of code) c.buffer.free();
  }
  return out;
}

/** The absolute address of `v`'s memory operand (`[rip+X]`, a bare disp32) and its address-sized immediate, if any. */
function addressesOf(v: InstructionView): { target?: number; immediate?: number } {
  const s = v.simpleOperands();
  if (s) return { target: s.absolute, immediate: s.imm };
  return { target: v.absoluteMemoryAddress(), immediate: v.addressImmediate() };
}

/**
 * What a frame can read through a value it keeps in a register: followValue from where the frame resumes, through
 * returns into its callers' frames, each instruction read where it lies (no module is decoded whole).
 */
export class FrameReader {
  private readonly decoder = new CodeDecoder();
  private readonly decode: Decode;
  constructor(space: AddressSpace) {
    this.decode = decodeAnywhere(space, this.decoder);
  }

  readsThrough(home: ValueHome): SlotReads {
    return followValue(this.decode, home.pc, home.register, home.returnsTo);
  }

  free(): void {
    this.decoder.free();
  }
}

/**
 * How instruction `v`, whose memory operand is at `target` (inside the object of the module variable `slot`), uses the
 * variable: undefined when it only stores to, compares or loads another word of the object; the register a plain
 * 64-bit load of the variable puts its value in; 'escapes' for any other use (its address taken, a partial or vector
 * load, an exchange, an address computed from it).
 */
function referenceTo(v: InstructionView, target: number, slot: number): number | 'escapes' | undefined {
  const mnemonic = v.info.mnemonic;
  const size = v.memorySize();
  const overlaps = target < slot + 8 && target + Math.max(size, 1) > slot;
  if (mnemonic === M.Lea) return 'escapes';
  if (mnemonic === M.Mov) {
    // A store (the memory operand first) writes; a load of another word of the object reads that word only.
    if (v.isMemoryOperand(0)) return undefined;
    if (!overlaps) return undefined;
    const reg = v.opFullRegister(0);
    if (target === slot && size === 8 && reg !== undefined) return reg;
    return 'escapes';
  }
  // Flags only: the value goes nowhere.
  if (mnemonic === M.Cmp || mnemonic === M.Test) return undefined;
  return overlaps ? 'escapes' : undefined;
}

