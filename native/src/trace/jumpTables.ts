// Bounded jump tables for function summaries (see JumpTable): the bounds a compare or a zero extension puts on a
// register, table loads indexed by a bounded register, and the indirect jumps and calls through them; and the
// table of a switch with no bound found (an open table).

import { CMP_IMMEDIATE_SIZE, type InstructionView, MNEMONIC, REGISTER, cmpRegisterImmediate, fullRegister as fullOf, isHighByteRegister } from '../decoder/decoder';
import type { FunctionSummary } from './summaryTypes';

/** Immediates below this are constants, not addresses (the first pages are never mapped). */
export const MIN_ADDRESS = 0x10000;

/** A register an unsigned compare or a zero extension bounds: it holds at most `max` (in its low `size` bytes). */
interface Bound {
  max: number;
  /** 8: the whole register; 4: its low 32 bits (a 32-bit `cmp`), which a 32-bit `mov` zero-extends to the whole. */
  size: number;
  born: number;
}

/** A register loaded from a bounded table (see JumpTable); `added`: the table's address was added to the int32 entry. */
interface TableLoad {
  table: number;
  count: number;
  entry: 4 | 8;
  added: boolean;
  born: number;
}

/** A bound and the table load and jump it guards must be this close (instructions) on a straight path. */
const TABLE_WINDOW = 12;
/** Tables with more entries than this are not read (a 16-bit index, a bound that is not a switch's). */
const MAX_TABLE_ENTRIES = 4096;

/** The instruction tracking's value of a register (summaryState.ts): an address when derefs is empty. */
type TrackedAddress = { base: number; derefs: number[] } | undefined;

/** Per-walk tracking of bounded jump tables, driven by WalkState one instruction at a time. */
export class TableTracker {
  /** WalkState's instruction counter, set before each call that needs it. */
  counter = 0;
  /** True while a bound or a table load is held (WalkState's cheap test before calling in). */
  live = false;
  /** When the last `cmp reg, imm` was (WalkState calls boundBy only right after one, or while live). */
  cmpAt = -2;
  private readonly bounds = new Map<number, Bound>();
  private readonly tableLoads = new Map<number, TableLoad>();
  /** The last `cmp reg, imm` (a bound once an unsigned `ja`/`jae` to the default case follows it at once). */
  private lastCmp: { bytes: Uint8Array; offset: number; length: number; code: number; at: number } | undefined;
  /** The destination of the last 32-bit register-to-register `mov` (it zero-extends it to the whole register), and when. */
  private zeroReg = -1;
  private zeroAt = -2;
  /** When the last bound or table load was set. */
  private newest = 0;

  constructor(
    private readonly s: FunctionSummary,
    private readonly valueOf: (reg: number) => TrackedAddress,
  ) {}

  /**
   * True while a bound or a table load set within the window is held (only then do instructions need to be looked
   * at). Older ones can no longer be used (every use checks its age): they are dropped.
   */
  get active(): boolean {
    if (!this.live) return false;
    if (this.counter - this.newest <= TABLE_WINDOW) return true;
    this.reset();
    return false;
  }

  reset(): void {
    this.bounds.clear();
    this.tableLoads.clear();
    this.live = false;
  }

  /** Registers a call clobbers lose what they held. */
  forget(regs: Iterable<number>): void {
    for (const r of regs) {
      this.bounds.delete(r);
      this.tableLoads.delete(r);
    }
  }

  /** A 32-bit register-to-register `mov` wrote `reg`. */
  zeroExtended(reg: number, counter: number): void {
    this.zeroReg = reg;
    this.zeroAt = counter;
  }

  /**
   * A conditional branch: `cmp reg, N` right before an unsigned `ja` (or `jae`) bounds reg to N (N-1) on the
   * fall-through path, the one the linear decode follows. A `loop`-like branch that writes a register drops it.
   */
  boundBy(v: InstructionView): void {
    const mn = v.info.mnemonic;
    const last = this.lastCmp;
    const c = last && last.at === this.counter - 1 && (mn === MNEMONIC.ja || mn === MNEMONIC.jae) ? cmpRegisterImmediate(last.bytes, last.offset, last.length, last.code) : undefined;
    if (last && c) {
      if (c.imm < 0) return;
      const max = mn === MNEMONIC.ja ? c.imm : c.imm - 1;
      // `mov eax, edi ; cmp eax, 3 ; ja`: the 32-bit move right before the compare zeroed the upper half.
      const size = c.size === 4 && this.zeroReg === c.reg && this.zeroAt === last.at - 1 ? 8 : c.size;
      if (max >= 0 && max < MAX_TABLE_ENTRIES) {
        this.tableLoads.delete(c.reg);
        this.bounds.set(c.reg, { max, size, born: this.counter });
        this.newest = this.counter;
        this.live = true;
      }
      return;
    }
    if (v.hasImplicitWrites && this.active) this.clobber(v);
  }

  /**
   * Tracks what a bounded jump table needs, for one straight-line instruction: `cmp reg, imm`; zero extensions
   * of bytes and words (`movzx r32, r/m8`: at most 255); copies of a bounded register (a 32-bit `mov` also
   * zero-extends a 32-bit bound to the whole register); table loads with a bounded index (`movsxd r,[T+idx*4]`,
   * `mov r,[T+idx*8]`, T a tracked address or an absolute displacement); `add r, T` after an int32 load. Any
   * other write to a register drops what it held.
   */
  step(v: InstructionView, mn: number): void {
    if (mn === MNEMONIC.cmp) {
      // Most compares are followed by no ja/jae: keep where its bytes are, read them only then (boundBy).
      this.lastCmp = CMP_IMMEDIATE_SIZE.has(v.info.code) ? { bytes: v.bytes, offset: v.offset, length: v.length, code: v.info.code, at: this.counter } : undefined;
      if (this.lastCmp) this.cmpAt = this.counter;
      return;
    }
    if (mn !== MNEMONIC.movzx && !this.active) return;
    // Only register writes matter now; the forms below are the only ones that do more than drop what they write.
    if (v.info.gprWrite === 0) return;
    if (mn !== MNEMONIC.movzx && mn !== MNEMONIC.mov && mn !== MNEMONIC.movsxd && mn !== MNEMONIC.add) {
      this.clobber(v);
      return;
    }
    const dst = v.isMemoryOperand(0) ? undefined : v.opFullRegister(0);
    if (dst !== undefined) {
      const dstSize = v.opRegisterSize(0);
      if (mn === MNEMONIC.movzx && dstSize >= 4) {
        const fromMemory = v.isMemoryOperand(1);
        const srcSize = fromMemory ? v.memorySize() : v.opRegisterSize(1);
        const raw = fromMemory ? undefined : v.opRegister(1);
        if ((srcSize === 1 || srcSize === 2) && !(raw !== undefined && isHighByteRegister(raw))) {
          // A bound the source register already has (`cmp al, 50 ; ja ; movzx eax, al`) holds for its low bytes.
          const src = raw === undefined ? undefined : this.bounds.get(v.opFullRegister(1) ?? -1);
          const widest = srcSize === 1 ? 0xff : 0xffff;
          const max = src && src.size >= srcSize && this.counter - src.born <= TABLE_WINDOW ? Math.min(src.max, widest) : widest;
          this.tableLoads.delete(dst);
          this.bounds.set(dst, { max, size: 8, born: src && max < widest ? src.born : this.counter });
          this.newest = this.counter;
          this.live = true;
          return;
        }
      } else if (mn === MNEMONIC.mov && !v.isMemoryOperand(1)) {
        const src = v.opFullRegister(1);
        const b = src === undefined ? undefined : this.bounds.get(src);
        if (b && (dstSize === 8 ? b.size === 8 : dstSize === 4 && b.size >= 4)) {
          this.tableLoads.delete(dst);
          this.bounds.set(dst, { ...b, size: 8 });
          this.newest = this.counter;
          this.live = true;
          return;
        }
      } else if ((mn === MNEMONIC.movsxd || mn === MNEMONIC.mov) && dstSize === 8 && v.isMemoryOperand(1)) {
        const entry = mn === MNEMONIC.movsxd ? 4 : 8;
        const t = v.memoryIndexScale() === entry ? this.boundedTable(v) : undefined;
        if (t) {
          this.bounds.delete(dst);
          this.tableLoads.set(dst, { table: t.table, count: t.count, entry, added: false, born: t.born });
          this.newest = this.counter;
          this.live = true;
          return;
        }
      } else if (mn === MNEMONIC.add && !v.isMemoryOperand(1)) {
        const load = this.tableLoads.get(dst);
        const src = v.opFullRegister(1);
        const base = src === undefined ? undefined : this.valueOf(src);
        if (load && load.entry === 4 && !load.added && dstSize === 8 && base && base.derefs.length === 0 && base.base === load.table) {
          load.added = true;
          return;
        }
      }
    }
    this.clobber(v);
  }

  /** Drops the bounds and table loads of the registers `v` may write (all of them when it writes some implicitly). */
  clobber(v: InstructionView): void {
    const w = v.info.gprWrite;
    if (w === 0) return;
    if (w === 2) {
      // Implicit writes (push, div, string instructions…): asking iced which is dear; dropping everything is safe.
      this.reset();
      return;
    }
    const r = v.opFullRegister(0);
    if (r !== undefined) {
      this.bounds.delete(r);
      this.tableLoads.delete(r);
    }
  }

  /**
   * The table a memory operand `[T + idx*scale]` reads when idx is a whole register bounded within the window and
   * T is absolute (a bare displacement) or a tracked address (`lea rdx,[rip+T]`) plus the displacement.
   */
  private boundedTable(v: InstructionView): { table: number; count: number; born: number } | undefined {
    const idx = v.memoryIndex();
    if (idx === REGISTER.none || fullOf(idx) !== idx) return undefined;
    const b = this.bounds.get(idx);
    if (!b || b.size !== 8 || this.counter - b.born > TABLE_WINDOW || b.max + 1 > MAX_TABLE_ENTRIES) return undefined;
    const table = absoluteTable(v, this.valueOf);
    return table === undefined ? undefined : { table, count: b.max + 1, born: b.born };
  }

  /** A `call/jmp reg` through a bounded table load, or `call/jmp [T+idx*8]`: recorded as a JumpTable. */
  jumpTable(v: InstructionView, reg: number | undefined, kind: 'call' | 'jmp', switchShape: boolean): boolean {
    let t: { table: number; count: number; entry: 4 | 8 } | undefined;
    if (reg !== undefined) {
      const load = this.tableLoads.get(reg);
      if (load && this.counter - load.born <= TABLE_WINDOW && (load.entry === 8 || load.added)) t = load;
    } else if (v.memoryIndexScale() === 8) {
      const b = this.boundedTable(v);
      if (b) t = { ...b, entry: 8 };
    }
    if (!t) return false;
    (this.s.jumpTables ??= []).push({ site: v.ip, table: t.table, count: t.count, entry: t.entry, kind, ...(switchShape ? { switchShape } : {}) });
    return true;
  }
}

/** A switch-table load (WalkState.switchTainted): the table, and whether its address was added to the entry. */
export interface SwitchLoad {
  table: number;
  added: boolean;
}

/** The table of `movsxd r, [base + idx*4 + disp]` when base holds a tracked address (a `lea` of it), else undefined. */
export function switchLoad(v: InstructionView, base: TrackedAddress, disp: number): SwitchLoad | undefined {
  if (!base || base.derefs.length !== 0 || v.memoryIndexScale() !== 4) return undefined;
  return { table: base.base + disp, added: false };
}

/**
 * The table a memory operand `[T + idx*scale]` reads: an absolute displacement (non-PIE code, only above the first
 * pages), or a tracked address (`lea rdx,[rip+T]`) plus the displacement.
 */
export function absoluteTable(v: InstructionView, valueOf: (reg: number) => TrackedAddress): number | undefined {
  const baseReg = v.memoryBase();
  const disp = v.memoryDisplacement();
  if (baseReg === REGISTER.none) return disp >= MIN_ADDRESS ? disp : undefined;
  const t = valueOf(fullOf(baseReg));
  return t && t.derefs.length === 0 ? t.base + disp : undefined;
}
