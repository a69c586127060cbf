// Per-walk register tracking of a function summary: the values registers hold (addresses, loads through them),
// so that memory-slot and dispatch chains, switch tables, address arguments and unresolved sites are recorded.

import { CALLEE_SAVED_REGISTERS, CALLER_SAVED_REGISTERS, CODE_PUSH_R64, type CodeBuffer, CodeDecoder, Flow, InstructionView, MNEMONIC, REGISTER, REGISTER_RDI, REGISTER_RSI, SIMPLE, type SimpleOperands, fullRegister as fullOf } from '../decoder/decoder';
import { SITES_PER_FEATURE, type Chain, type FunctionSummary } from './summaryTypes';
import { MIN_ADDRESS, type SwitchLoad, TableTracker, absoluteTable, switchLoad } from './jumpTables';
import { MAX_DEREFS, STRETCH_WINDOW, StretchedChains, TRACK_WINDOW, type TrackedValue, copied } from './trackedValues';

/** Per-walk register tracking and recording into a summary. */
export class WalkState {
  private readonly tracked = new Map<number, TrackedValue>();
  /**
   * Registers holding a value loaded from a switch table (`movsxd r, [base+idx*4]`), and sums with them; the value
   * is the table's address when it is known and the entry was added to it (`lea rdx,[rip+T] ; movsxd rax,
   * [rdx+rax*4] ; add rax, rdx`), for an open table (see JumpTable.open).
   */
  private readonly switchTainted = new Map<number, SwitchLoad | undefined>();
  private counter = 0;
  /**
   * Callee-saved registers loaded with a trackable value: they keep it across calls, branches and the whole
   * function (compilers keep a pointer like OpenBLAS's `gotoblas` in r15 for a whole loop nest), provided the
   * function never writes them again — checked in finish(), which drops the chains that relied on a register
   * written twice.
   */
  private readonly persistent = new Map<number, TrackedValue>();
  private readonly redefined = new Set<number>();
  private readonly chainDeps: Array<{ chain: Chain; deps: number[] }> = [];
  /** Bounded jump tables (jumpTables.ts). */
  private readonly tables: TableTracker;
  private readonly stretched = new StretchedChains();
  /**
   * `stretch`: the function is decoded whole, in address order (its extent), so every direct jump into it is seen
   * and values may be read past TRACK_WINDOW (STRETCH_WINDOW). Not for recursive descent, block by block.
   */
  constructor(
    private readonly s: FunctionSummary,
    private readonly callerSaved: Set<number>,
    private readonly stretch = false,
  ) {
    this.tables = new TableTracker(s, (reg) => this.get(reg));
  }

  step(v: InstructionView, extentKnown: boolean): void {
    const s = this.s;
    const info = v.info;
    this.counter++;

    for (const f of info.features) {
      let hits = s.features.get(f);
      if (!hits) s.features.set(f, (hits = { count: 0, sites: [] }));
      hits.count++;
      if (hits.sites.length < SITES_PER_FEATURE) hits.sites.push(v.ip);
    }

    switch (info.flow) {
      case Flow.Next: {
        const mn = info.mnemonic;
        if (mn === MNEMONIC.cpuid || mn === MNEMONIC.xgetbv) s.probesCpu = true;
        if (mn === MNEMONIC.cmp || mn === MNEMONIC.movzx || this.tables.live) {
          this.tables.counter = this.counter;
          this.tables.step(v, mn);
        }
        this.dataflow(v);
        return;
      }
      case Flow.Call: {
        const t = v.directTarget();
        // A call into the function enters it from anywhere: its source counts as outside every span.
        if (t !== undefined && this.stretch && t >= s.start && t < s.end) this.stretched.label(t, -1);
        if (t !== undefined) {
          s.calls.push(t);
          s.directCallSites++;
          this.addressArguments(v.ip, t);
        }
        // syscall/sysenter are classified as calls by iced but have no target; they still clobber rcx/r11.
        this.clobberCallerSaved();
        return;
      }
      case Flow.ConditionalBranch:
      case Flow.XbeginXabortXend: {
        if (this.tables.live || this.tables.cmpAt === this.counter - 1) {
          this.tables.counter = this.counter;
          this.tables.boundBy(v);
        }
        const t = v.directTarget();
        if (t !== undefined && extentKnown && (t < s.start || t >= s.end)) s.jumpsOut.push(t);
        else if (t !== undefined && this.stretch) this.stretched.label(t, v.ip);
        return;
      }
      case Flow.UnconditionalBranch: {
        const t = v.directTarget();
        if (t !== undefined && extentKnown && (t < s.start || t >= s.end)) s.jumpsOut.push(t);
        else if (t !== undefined && this.stretch) this.stretched.label(t, v.ip);
        this.reset();
        return;
      }
      case Flow.IndirectCall:
        this.indirect(v, 'call', extentKnown);
        this.clobberCallerSaved();
        return;
      case Flow.IndirectBranch:
        this.stretched.sawIndirectJump();
        this.indirect(v, 'jmp', extentKnown);
        this.reset();
        return;
      case Flow.Return:
      case Flow.Exception:
        this.reset();
        return;
      default:
        // Interrupts (int3, int n): nothing to follow.
        if (this.tables.live) this.tables.clobber(v);
        this.dataflow(v);
        return;
    }
  }

  /** Records a direct call whose rdi and rsi hold computed addresses (see AddressArgCall). */
  private addressArguments(site: number, target: number): void {
    const a0 = this.tracked.get(REGISTER_RDI);
    const a1 = this.tracked.get(REGISTER_RSI);
    if (!a0 || !a1 || a1.ref === undefined || a0.derefs.length || a1.derefs.length) return;
    if (this.counter - a0.born > TRACK_WINDOW || this.counter - a1.born > TRACK_WINDOW) return;
    (this.s.addressArgCalls ??= []).push({ site, target, arg0: a0.base, arg1: a1.base, ref: a1.ref });
  }

  private reset(): void {
    this.tracked.clear();
    this.switchTainted.clear();
    if (this.tables.live) this.tables.reset();
  }

  private clobberCallerSaved(): void {
    if (this.tracked.size > 0) for (const r of this.callerSaved) this.tracked.delete(r);
    if (this.switchTainted.size > 0) for (const r of this.callerSaved) this.switchTainted.delete(r);
    if (this.tables.live) this.tables.forget(this.callerSaved);
  }

  /**
   * The value `reg` holds on the straight path: its tracked value within TRACK_WINDOW, else its function-wide value.
   * `long` (a load's base, a call's target): with `stretch`, a tracked value up to STRETCH_WINDOW old too, marked
   * stretched, unless a function-wide value stands for it (whose `from` is -1: it holds wherever it is read). Only
   * chains are checked for a stretched span (finish()): other readers (tables) never see a stretched value.
   */
  private get(reg: number | undefined, long = false): TrackedValue | undefined {
    if (reg === undefined) return undefined;
    const t = this.tracked.get(reg);
    let v = t && this.counter - t.born <= TRACK_WINDOW ? t : this.persistent.get(reg);
    if (!v && t && (!this.stretch || this.counter - t.born > STRETCH_WINDOW)) this.tracked.delete(reg);
    else if (!v && t) v = { ...t, stretched: true };
    return v?.stretched && !long ? undefined : v;
  }

  /**
   * Validates at the end of a function: chains through a register written twice, and stretched chains a jump into
   * their span breaks, do not hold (their sites are unresolved).
   */
  finish(): void {
    const broken = new Set(this.stretched.broken());
    if (this.redefined.size > 0) for (const { chain, deps } of this.chainDeps) if (deps.some((d) => this.redefined.has(d))) broken.add(chain);
    if (broken.size === 0) return;
    this.s.chains = this.s.chains.filter((c) => !broken.has(c));
    for (const c of broken) this.s.unresolved.push({ site: c.site, kind: c.kind });
  }

  private pushChain(c: Chain, value: TrackedValue): void {
    this.s.chains.push(c);
    if (value.deps) this.chainDeps.push({ chain: c, deps: value.deps });
    if (value.stretched) this.stretched.add(c, value.from);
  }

  /** A write to a callee-saved register that held a function-wide value (restoring pops excepted). */
  private overwrite(reg: number, v: InstructionView | undefined): void {
    if (!this.persistent.has(reg) || (v && v.info.mnemonic === MNEMONIC.pop)) return;
    this.persistent.delete(reg);
    this.redefined.add(reg);
  }

  /**
   * Records references and tracks register values through lea/mov/movsxd/add. This runs for most
   * instructions, so it asks the decoder for as little as possible: the memory operand's absolute address
   * (one or two queries), then mnemonic-specific details only for the few mnemonics that matter.
   */
  private dataflow(v: InstructionView): void {
    const mn = v.info.mnemonic;
    if (mn !== MNEMONIC.lea && mn !== MNEMONIC.mov && mn !== MNEMONIC.push && mn !== MNEMONIC.movsxd) {
      this.otherDataflow(v, mn);
      return;
    }
    // `push r64` (every prologue) references nothing and changes no tracked register.
    if (v.info.code === CODE_PUSH_R64) return;
    const fast = v.simpleOperands();
    if (fast) {
      this.simpleDataflow(v, mn, fast);
      return;
    }
    const abs = v.absoluteMemoryAddress();
    if (mn === MNEMONIC.lea) this.leaDataflow(v, abs);
    else if (mn === MNEMONIC.mov) this.movDataflow(v, abs);
    else this.pushMovsxdDataflow(v, mn, abs);
  }

  /** Instructions other than lea/mov/push/movsxd only matter for clobbering tracked registers (and switch-table sums). */
  private otherDataflow(v: InstructionView, mn: number): void {
    if (this.tracked.size === 0 && this.switchTainted.size === 0 && this.persistent.size === 0) return;
    if (mn === MNEMONIC.add) {
      const dst = v.opFullRegister(0);
      const src = v.opFullRegister(1);
      if (dst !== undefined && src !== undefined && (this.switchTainted.has(dst) || this.switchTainted.has(src))) {
        // The entry plus the table's own address: the jump target of a PIC switch.
        const load = this.switchTainted.get(dst) ?? this.switchTainted.get(src);
        const other = this.switchTainted.has(dst) ? this.get(src) : this.get(dst);
        const sum = load && !load.added && other && other.derefs.length === 0 && other.base === load.table ? { table: load.table, added: true } : undefined;
        this.tracked.delete(dst);
        this.switchTainted.set(dst, sum);
        return;
      }
    }
    this.clobber(v);
  }

  /** The iced path of dataflow() for lea: a computed absolute address is a reference and the register's value. */
  private leaDataflow(v: InstructionView, abs: number | undefined): void {
    const s = this.s;
    const dst = v.opFullRegister(0);
    if (abs !== undefined) {
      s.refs.push({ address: abs, kind: 'lea' });
      if (dst !== undefined) this.define(dst, { base: abs, derefs: [], born: this.counter, ref: s.refs.length - 1, from: v.ip });
      return;
    }
    this.kill(v, dst);
  }

  /** The iced path of dataflow() for mov: stores, loads (through absolute or tracked addresses), copies and
   * address immediates. */
  private movDataflow(v: InstructionView, abs: number | undefined): void {
    const s = this.s;
    if (abs !== undefined) s.refs.push({ address: abs, kind: 'mem', word: true });
    const dst = v.opFullRegister(0);
    if (dst === undefined) {
      // A store: tracked registers are unchanged, but a stored immediate may be an address.
      const imm = v.addressImmediate();
      if (imm !== undefined && imm >= MIN_ADDRESS) s.refs.push({ address: imm, kind: 'imm' });
      else if (this.tracked.size > 0) {
        const stored = v.opFullRegister(1);
        if (stored !== undefined) this.escape(stored);
      }
      return;
    }
    const size = v.opRegisterSize(0);
    if (v.isMemoryOperand(1)) {
      if (size === 8 && abs !== undefined) {
        this.define(dst, { base: abs, derefs: [0], born: this.counter, from: v.ip });
        return;
      }
      const baseReg = v.memoryBase();
      const base = baseReg === REGISTER.none ? undefined : this.get(fullOf(baseReg), true);
      if (size === 8 && base && v.memoryIndex() === REGISTER.none && base.derefs.length < MAX_DEREFS) {
        this.define(dst, { base: base.base, derefs: [...base.derefs, v.memoryDisplacement()], born: this.counter, deps: base.deps, from: base.from < 0 ? v.ip : base.from, stretched: base.stretched });
        return;
      }
      this.kill(v, dst);
      return;
    }
    const srcReg = v.opFullRegister(1);
    if (srcReg !== undefined) {
      const src = this.get(srcReg, true);
      if (src && size === 8) this.define(dst, copied(src, v.ip));
      else this.kill(v, dst);
      if (this.switchTainted.has(srcReg)) this.switchTainted.set(dst, this.switchTainted.get(srcReg));
      return;
    }
    const imm = v.addressImmediate();
    if (imm !== undefined && imm >= MIN_ADDRESS) {
      s.refs.push({ address: imm, kind: 'imm' });
      this.define(dst, { base: imm, derefs: [], born: this.counter, from: v.ip });
      return;
    }
    this.kill(v, dst);
  }

  /** The iced path of dataflow() for push (an address immediate) and movsxd (a switch-table load). */
  private pushMovsxdDataflow(v: InstructionView, mn: number, abs: number | undefined): void {
    const s = this.s;
    if (abs !== undefined) s.refs.push({ address: abs, kind: 'mem' });
    if (mn === MNEMONIC.push) {
      if (abs === undefined) {
        const imm = v.addressImmediate();
        if (imm !== undefined && imm >= MIN_ADDRESS) s.refs.push({ address: imm, kind: 'imm' });
      }
      return;
    }
    const dst = v.opFullRegister(0);
    if (dst !== undefined && v.isMemoryOperand(1) && v.memoryIndex() !== REGISTER.none) {
      const base = v.memoryBase();
      const load = switchLoad(v, base === REGISTER.none ? undefined : this.get(fullOf(base)), v.memoryDisplacement());
      this.tracked.delete(dst);
      this.switchTainted.set(dst, load);
      return;
    }
    this.kill(v, dst);
  }

  /**
   * The same rules as the iced path of dataflow(), for the common MOV/LEA/MOVSXD/PUSH encodings whose
   * operands were read from the bytes (no wasm calls).
   */
  private simpleDataflow(v: InstructionView, mn: number, o: SimpleOperands): void {
    const s = this.s;
    const abs = o.absolute;
    if (mn === MNEMONIC.push) {
      if (o.imm !== undefined && o.imm >= MIN_ADDRESS) s.refs.push({ address: o.imm, kind: 'imm' });
      return;
    }
    if (mn === MNEMONIC.lea) {
      if (abs !== undefined) {
        s.refs.push({ address: abs, kind: 'lea' });
        this.define(o.reg, { base: abs, derefs: [], born: this.counter, ref: s.refs.length - 1, from: v.ip });
      } else this.forget(o.reg);
      return;
    }
    if (mn === MNEMONIC.movsxd) {
      if (o.isMemory && o.index !== -1) {
        const load = o.rip || o.segmented ? undefined : switchLoad(v, o.base === -1 ? undefined : this.get(o.base), o.disp);
        this.tracked.delete(o.reg);
        this.switchTainted.set(o.reg, load);
      } else this.forget(o.reg);
      if (abs !== undefined) s.refs.push({ address: abs, kind: 'mem' });
      return;
    }
    // MOV.
    const form = v.info.simpleForm;
    if (abs !== undefined) s.refs.push({ address: abs, kind: 'mem', word: true });
    if (form === SIMPLE.rmReg || form === SIMPLE.rmImm) {
      if (!o.isMemory) {
        // A register destination encoded in r/m.
        if (form === SIMPLE.rmImm && o.imm !== undefined && o.imm >= MIN_ADDRESS) {
          s.refs.push({ address: o.imm, kind: 'imm' });
          this.define(o.base, { base: o.imm, derefs: [], born: this.counter, from: v.ip });
        } else if (form === SIMPLE.rmReg) {
          if (o.regSize === 4) this.tables.zeroExtended(o.base, this.counter);
          const src = this.get(o.reg, true);
          if (src && o.regSize === 8) this.define(o.base, copied(src, v.ip));
          else this.forget(o.base);
          if (this.switchTainted.has(o.reg)) this.switchTainted.set(o.base, this.switchTainted.get(o.reg));
        } else this.forget(o.base);
        return;
      }
      // A store: tracked registers are unchanged, but a stored immediate may be an address.
      if (form === SIMPLE.rmImm && o.imm !== undefined && o.imm >= MIN_ADDRESS) s.refs.push({ address: o.imm, kind: 'imm' });
      else if (form === SIMPLE.rmReg) this.escape(o.reg);
      return;
    }
    if (form === SIMPLE.regImm) {
      if (o.imm !== undefined && o.imm >= MIN_ADDRESS) {
        s.refs.push({ address: o.imm, kind: 'imm' });
        this.define(o.reg, { base: o.imm, derefs: [], born: this.counter, from: v.ip });
      } else this.forget(o.reg);
      return;
    }
    // MOV r, r/m.
    if (o.isMemory) {
      if (o.regSize === 8 && abs !== undefined) {
        this.define(o.reg, { base: abs, derefs: [0], born: this.counter, from: v.ip });
        return;
      }
      const base = o.base === -1 ? undefined : this.get(o.base, true);
      if (o.regSize === 8 && base && o.index === -1 && !o.segmented && base.derefs.length < MAX_DEREFS) {
        this.define(o.reg, { base: base.base, derefs: [...base.derefs, o.disp], born: this.counter, deps: base.deps, from: base.from < 0 ? v.ip : base.from, stretched: base.stretched });
        return;
      }
      this.forget(o.reg);
      return;
    }
    if (o.regSize === 4) this.tables.zeroExtended(o.reg, this.counter);
    const src = this.get(o.base, true);
    if (src && o.regSize === 8) this.define(o.reg, copied(src, v.ip));
    else this.forget(o.reg);
    if (this.switchTainted.has(o.base)) this.switchTainted.set(o.reg, this.switchTainted.get(o.base));
  }

  /** The register's value is stored to memory (or pushed): its address escapes. */
  private escape(reg: number): void {
    const t = this.tracked.get(reg);
    if (t) t.ref = undefined;
  }

  private forget(reg: number): void {
    this.tracked.delete(reg);
    this.switchTainted.delete(reg);
    this.overwrite(reg, undefined);
  }

  /** Forgets tracked values of the registers the instruction may write. */
  private clobber(v: InstructionView): void {
    const w = v.info.gprWrite;
    if (w === 0) return;
    if (w === 2) {
      for (const r of v.implicitlyWrittenRegisters()) {
        this.tracked.delete(r);
        this.switchTainted.delete(r);
        this.overwrite(r, v);
      }
      return;
    }
    const r = v.opFullRegister(0);
    if (r !== undefined) {
      this.tracked.delete(r);
      this.switchTainted.delete(r);
      this.overwrite(r, v);
    }
  }

  private define(reg: number, value: TrackedValue): void {
    this.switchTainted.delete(reg);
    if (CALLEE_SAVED.has(reg)) {
      if (this.persistent.has(reg) || this.redefined.has(reg)) {
        // A second definition: neither value holds function-wide.
        this.overwrite(reg, undefined);
        this.tracked.set(reg, value);
        return;
      }
      // A value read across a stretched span stays checked over that span wherever it is read (finish()).
      this.persistent.set(reg, { ...value, deps: [...(value.deps ?? []), reg], from: value.stretched ? value.from : -1 });
      // Within the window, on the straight path, the value holds as any register's does, whatever the register
      // is written later: a chain from it does not depend on the function-wide value (finish() keeps it).
      this.tracked.set(reg, value);
      return;
    }
    this.tracked.set(reg, value);
  }

  private kill(v: InstructionView, dst: number | undefined): void {
    if (dst !== undefined) {
      this.tracked.delete(dst);
      this.switchTainted.delete(dst);
    } else if (this.tracked.size > 0 || this.switchTainted.size > 0 || this.persistent.size > 0) {
      this.clobber(v);
    }
  }

  private indirect(v: InstructionView, kind: 'call' | 'jmp', extentKnown: boolean): void {
    const s = this.s;
    const reg = v.branchRegister();
    this.tables.counter = this.counter;
    if (this.tables.active) {
      // What the rules below made of it before tables were read: a switch (no site) or an unresolved site.
      const full = reg === undefined ? undefined : fullOf(reg);
      const switchShape = kind === 'jmp' && extentKnown && (full === undefined ? v.memoryIndex() !== REGISTER.none : this.switchTainted.has(full) && !this.get(full));
      if (this.tables.jumpTable(v, full, kind, switchShape)) return;
    }
    if (reg !== undefined) {
      const full = fullOf(reg);
      const t = this.get(full, true);
      if (t) {
        this.pushChain({ site: v.ip, base: t.base, derefs: [...t.derefs], kind, viaRegister: true }, t);
        return;
      }
      if (kind === 'jmp' && extentKnown && this.switchTainted.has(full)) {
        s.switches++;
        const load = this.switchTainted.get(full);
        if (load?.added) (s.jumpTables ??= []).push({ site: v.ip, table: load.table, count: 0, entry: 4, kind, switchShape: true, open: true });
        return;
      }
      s.unresolved.push({ site: v.ip, kind });
      return;
    }
    // Memory operand.
    const abs = v.absoluteMemoryAddress();
    if (abs !== undefined) {
      s.refs.push({ address: abs, kind: 'mem' });
      s.chains.push({ site: v.ip, base: abs, derefs: [0], kind, viaRegister: false });
      return;
    }
    const index = v.memoryIndex();
    if (index !== REGISTER.none) {
      // `jmp [table + idx*8]`: a switch inside the function when its extent is known.
      if (kind === 'jmp' && extentKnown) {
        s.switches++;
        const table = absoluteTable(v, (r) => this.get(r));
        if (table !== undefined && v.memoryIndexScale() === 8) (s.jumpTables ??= []).push({ site: v.ip, table, count: 0, entry: 8, kind, switchShape: true, open: true });
      } else s.unresolved.push({ site: v.ip, kind });
      return;
    }
    const baseReg = v.memoryBase();
    const t = baseReg === REGISTER.none ? undefined : this.get(fullOf(baseReg), true);
    if (t && t.derefs.length < MAX_DEREFS) {
      this.pushChain({ site: v.ip, base: t.base, derefs: [...t.derefs, v.memoryDisplacement()], kind, viaRegister: false }, t);
      return;
    }
    s.unresolved.push({ site: v.ip, kind });
  }
}

const CALLEE_SAVED = new Set<number>(CALLEE_SAVED_REGISTERS);
