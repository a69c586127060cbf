// Function summaries: one pass of the decoder over a function (its whole extent, or by recursive descent
// when no extent is known) that records what execution path tracking needs — the CPU features of its
// instructions, where control can leave it (direct targets, memory-slot and register dispatch chains,
// unresolved indirect branches) and the addresses it references. A summary depends only on the code bytes,
// so it is cached per file and function and reused across analyses of live processes.

import type { Feature } from '../features/vocabulary';
import { CALLEE_SAVED_REGISTERS, CALLER_SAVED_REGISTERS, CODE_PUSH_R64, type CodeBuffer, CodeDecoder, Flow, InstructionView, MNEMONIC, REGISTER, REGISTER_RDI, REGISTER_RSI, SIMPLE, type SimpleOperands, fullRegister as fullOf } from '../decoder/decoder';

/** At most this many example sites are kept per feature and function. */
export const SITES_PER_FEATURE = 3;

export interface FeatureHits {
  count: number;
  /** Addresses of the first few instructions needing the feature. */
  sites: number[];
}

/**
 * A branch target computed from memory: start from `base` (an address in the module's address space),
 * then for each offset `d` in `derefs`, read the 8-byte pointer at (value + d). `call [rip+X]` is
 * {base: X, derefs: [0]}; `mov rax,[rip+X] ; call [rax+0x10]` is {base: X, derefs: [0, 0x10]};
 * `lea rax,[rip+F] ; call rax` is {base: F, derefs: []}.
 */
export interface Chain {
  /** Address of the call/jmp instruction. */
  site: number;
  base: number;
  derefs: number[];
  kind: 'call' | 'jmp';
  /** True when the final step went through a register (`call rax`), false for `call [mem]`. */
  viaRegister: boolean;
}

export type RefKind = 'lea' | 'imm' | 'mem';

export interface AddressRef {
  /** The referenced absolute address. */
  address: number;
  kind: RefKind;
  /**
   * A `mem` reference made by a general-purpose MOV (load or store of at most 8 bytes): the instruction
   * touches exactly the word at `address`, never its neighbours (SIMD and other instructions may touch more).
   */
  word?: true;
}

/**
 * A direct call whose first two arguments are addresses computed just before it (`lea rdi,[rip+O] ;
 * lea rsi,[rip+F] ; call T`): the shape of `pthread_once(&once, init)` and its wrappers. `ref` is the index in
 * `refs` of the `lea` that produced F, when F went straight into rsi and was not copied or stored elsewhere.
 */
export interface AddressArgCall {
  site: number;
  target: number;
  arg0: number;
  arg1: number;
  ref: number;
}

export interface UnresolvedSite {
  site: number;
  kind: 'call' | 'jmp';
}

export interface FunctionSummary {
  /** First and one-past-last address decoded (the extent, or the span covered by descent). */
  start: number;
  end: number;
  /** 'extent' when a known function extent was decoded linearly; 'descent' otherwise. */
  method: 'extent' | 'descent';
  instructions: number;
  invalid: number;
  features: Map<Feature, FeatureHits>;
  /** Targets of direct calls. */
  calls: number[];
  /** Targets of direct jumps and conditional branches that leave the decoded extent (tail calls, cold parts). */
  jumpsOut: number[];
  chains: Chain[];
  refs: AddressRef[];
  unresolved: UnresolvedSite[];
  /** Indirect jumps recognised as switch tables inside the function (their targets are in the extent). */
  switches: number;
  /** Number of call instructions of each shape, for the call-site statistics. */
  directCallSites: number;
  /** The function asks the CPU what it supports (cpuid or xgetbv): a CPU-dispatch selector may be near. */
  probesCpu?: true;
  /** Direct calls with two computed addresses as arguments (see AddressArgCall); absent when none. */
  addressArgCalls?: AddressArgCall[];
}

/** Reads code bytes at an address; returns undefined when the range is not readable. */
export type CodeReader = (address: number, length: number) => Uint8Array | undefined;

interface TrackedValue {
  base: number;
  derefs: number[];
  /** Instruction counter when the value was defined; values expire after a short window. */
  born: number;
  /** The callee-saved registers whose function-wide values this one derives from. */
  deps?: number[];
  /** Index in `refs` of the lea/mov-immediate that produced this address, while only this register holds it. */
  ref?: number;
}

const MAX_DEREFS = 4;
const TRACK_WINDOW = 16;
const MAX_DESCENT_INSTRUCTIONS = 200_000;
const DESCENT_CHUNK = 4096;

/** Immediates below this are constants, not addresses (the first pages are never mapped). */
const MIN_ADDRESS = 0x10000;

/**
 * Builds summaries. Holds one decoder; call free() when done. Caller-saved registers are clobbered at
 * calls; tracked values expire after a short window and at every unconditional transfer, so a dispatch
 * chain is only reported when the load and the call are close together on a straight path.
 */
export class Summarizer {
  private readonly decoder = new CodeDecoder();
  private readonly callerSaved = new Set<number>(CALLER_SAVED_REGISTERS);

  get decodedInstructions(): number {
    return this.decoder.decoded;
  }

  free(): void {
    this.decoder.free();
  }

  /** Summarizes the function occupying [start, end) whose bytes are `bytes`. `entry` is where decoding starts. */
  summarizeExtent(bytes: Uint8Array | CodeBuffer, start: number, end: number): FunctionSummary {
    const s = emptySummary(start, end, 'extent');
    const state = new WalkState(s, this.callerSaved);
    const before = this.decoder.decoded;
    const invalidBefore = this.decoder.invalid;
    const visit = (v: InstructionView) => {
      state.step(v, true);
    };
    if (bytes instanceof Uint8Array) this.decoder.decodeLinear(bytes.subarray(0, end - start), start, visit);
    else this.decoder.decodeRange(bytes, start, end, visit);
    state.finish();
    s.instructions = this.decoder.decoded - before;
    s.invalid = this.decoder.invalid - invalidBefore;
    return s;
  }

  /**
   * Summarizes code with no known extent by recursive descent from `entry`: fall-through, conditional
   * and direct-jump targets are followed as part of the same unit; calls are recorded as calls.
   */
  summarizeDescent(read: CodeReader, entry: number): FunctionSummary {
    const s = emptySummary(entry, entry, 'descent');
    const done = new Set<number>(); // decoded instruction addresses
    const pending: number[] = [entry];
    const queued = new Set<number>([entry]);
    const before = this.decoder.decoded;
    const invalidBefore = this.decoder.invalid;
    let lo = entry;
    let hi = entry;
    while (pending.length > 0 && this.decoder.decoded - before < MAX_DESCENT_INSTRUCTIONS) {
      const blockStart = pending.pop()!;
      const bytes = read(blockStart, DESCENT_CHUNK) ?? readShort(read, blockStart);
      if (!bytes) continue;
      const state = new WalkState(s, this.callerSaved);
      let lastEnd = blockStart;
      let ended = false;
      this.decoder.decodeLinear(bytes, blockStart, (v) => {
        if (done.has(v.ip)) {
          ended = true;
          return 'stop';
        }
        done.add(v.ip);
        lastEnd = v.nextIp;
        const flow = v.info.flow;
        const target = flow === Flow.ConditionalBranch || flow === Flow.UnconditionalBranch || flow === Flow.XbeginXabortXend ? v.directTarget() : undefined;
        state.step(v, false);
        if (target !== undefined && !queued.has(target)) {
          queued.add(target);
          pending.push(target);
        }
        if (flow === Flow.UnconditionalBranch || flow === Flow.IndirectBranch || flow === Flow.Return || flow === Flow.Exception) {
          ended = true;
          return 'stop';
        }
        return undefined;
      });
      if (lastEnd > hi) hi = lastEnd;
      if (blockStart < lo) lo = blockStart;
      // The chunk ran out in the middle of a block: continue from where it stopped.
      if (!ended && lastEnd > blockStart && !queued.has(lastEnd)) {
        queued.add(lastEnd);
        pending.push(lastEnd);
      }
    }
    // In descent mode every direct jump target was followed inside the unit, so nothing "leaves" it.
    s.jumpsOut = [];
    s.start = lo;
    s.end = hi;
    s.instructions = this.decoder.decoded - before;
    s.invalid = this.decoder.invalid - invalidBefore;
    return s;
  }
}

function readShort(read: CodeReader, address: number): Uint8Array | undefined {
  // Near the end of a mapping a full chunk is not readable: try smaller reads.
  for (let len = DESCENT_CHUNK / 2; len >= 16; len /= 2) {
    const b = read(address, len);
    if (b) return b;
  }
  return undefined;
}

function emptySummary(start: number, end: number, method: 'extent' | 'descent'): FunctionSummary {
  return {
    start,
    end,
    method,
    instructions: 0,
    invalid: 0,
    features: new Map(),
    calls: [],
    jumpsOut: [],
    chains: [],
    refs: [],
    unresolved: [],
    switches: 0,
    directCallSites: 0,
  };
}

/** Per-walk register tracking and recording into a summary. */
class WalkState {
  private readonly tracked = new Map<number, TrackedValue>();
  /** Registers holding a value loaded from a switch table (`movsxd r, [base+idx*4]`), and sums with them. */
  private readonly switchTainted = new Set<number>();
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

  constructor(
    private readonly s: FunctionSummary,
    private readonly callerSaved: Set<number>,
  ) {}

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
      case Flow.Next:
        if (info.mnemonic === MNEMONIC.cpuid || info.mnemonic === MNEMONIC.xgetbv) s.probesCpu = true;
        this.dataflow(v);
        return;
      case Flow.Call: {
        const t = v.directTarget();
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
        const t = v.directTarget();
        if (t !== undefined && extentKnown && (t < s.start || t >= s.end)) s.jumpsOut.push(t);
        return;
      }
      case Flow.UnconditionalBranch: {
        const t = v.directTarget();
        if (t !== undefined && extentKnown && (t < s.start || t >= s.end)) s.jumpsOut.push(t);
        this.reset();
        return;
      }
      case Flow.IndirectCall:
        this.indirect(v, 'call', extentKnown);
        this.clobberCallerSaved();
        return;
      case Flow.IndirectBranch:
        this.indirect(v, 'jmp', extentKnown);
        this.reset();
        return;
      case Flow.Return:
      case Flow.Exception:
        this.reset();
        return;
      default:
        // Interrupts (int3, int n): nothing to follow.
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
  }

  private clobberCallerSaved(): void {
    if (this.tracked.size > 0) for (const r of this.callerSaved) this.tracked.delete(r);
    if (this.switchTainted.size > 0) for (const r of this.callerSaved) this.switchTainted.delete(r);
  }

  private get(reg: number | undefined): TrackedValue | undefined {
    if (reg === undefined) return undefined;
    const t = this.tracked.get(reg);
    if (t && this.counter - t.born > TRACK_WINDOW) {
      this.tracked.delete(reg);
      return this.persistent.get(reg);
    }
    return t ?? this.persistent.get(reg);
  }

  /** Validates function-wide values at the end of a function: chains through a register written twice go. */
  finish(): void {
    if (this.redefined.size === 0 || this.chainDeps.length === 0) return;
    const s = this.s;
    for (const { chain, deps } of this.chainDeps) {
      if (!deps.some((d) => this.redefined.has(d))) continue;
      const i = s.chains.indexOf(chain);
      if (i >= 0) s.chains.splice(i, 1);
      s.unresolved.push({ site: chain.site, kind: chain.kind });
    }
  }

  private pushChain(c: Chain, value: TrackedValue): void {
    this.s.chains.push(c);
    if (value.deps) this.chainDeps.push({ chain: c, deps: value.deps });
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
    const s = this.s;
    const mn = v.info.mnemonic;
    if (mn !== MNEMONIC.lea && mn !== MNEMONIC.mov && mn !== MNEMONIC.push && mn !== MNEMONIC.movsxd) {
      // Other instructions only matter for clobbering tracked registers (and switch-table sums).
      if (this.tracked.size === 0 && this.switchTainted.size === 0 && this.persistent.size === 0) return;
      if (mn === MNEMONIC.add) {
        const dst = v.opFullRegister(0);
        const src = v.opFullRegister(1);
        if (dst !== undefined && src !== undefined && (this.switchTainted.has(dst) || this.switchTainted.has(src))) {
          this.tracked.delete(dst);
          this.switchTainted.add(dst);
          return;
        }
      }
      this.clobber(v);
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

    if (mn === MNEMONIC.lea) {
      const dst = v.opFullRegister(0);
      if (abs !== undefined) {
        s.refs.push({ address: abs, kind: 'lea' });
        if (dst !== undefined) this.define(dst, { base: abs, derefs: [], born: this.counter, ref: s.refs.length - 1 });
        return;
      }
      this.kill(v, dst);
      return;
    }

    if (mn === MNEMONIC.mov) {
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
          this.define(dst, { base: abs, derefs: [0], born: this.counter });
          return;
        }
        const baseReg = v.memoryBase();
        const base = baseReg === REGISTER.none ? undefined : this.get(fullOf(baseReg));
        if (size === 8 && base && v.memoryIndex() === REGISTER.none && base.derefs.length < MAX_DEREFS) {
          this.define(dst, { base: base.base, derefs: [...base.derefs, v.memoryDisplacement()], born: this.counter, deps: base.deps });
          return;
        }
        this.kill(v, dst);
        return;
      }
      const srcReg = v.opFullRegister(1);
      if (srcReg !== undefined) {
        const src = this.get(srcReg);
        if (src && size === 8) this.define(dst, this.copied(src));
        else this.kill(v, dst);
        if (this.switchTainted.has(srcReg)) this.switchTainted.add(dst);
        return;
      }
      const imm = v.addressImmediate();
      if (imm !== undefined && imm >= MIN_ADDRESS) {
        s.refs.push({ address: imm, kind: 'imm' });
        this.define(dst, { base: imm, derefs: [], born: this.counter });
        return;
      }
      this.kill(v, dst);
      return;
    }

    if (abs !== undefined) s.refs.push({ address: abs, kind: 'mem' });

    if (mn === MNEMONIC.push) {
      if (abs === undefined) {
        const imm = v.addressImmediate();
        if (imm !== undefined && imm >= MIN_ADDRESS) s.refs.push({ address: imm, kind: 'imm' });
      }
      return;
    }
    if (mn === MNEMONIC.movsxd) {
      const dst = v.opFullRegister(0);
      if (dst !== undefined && v.isMemoryOperand(1) && v.memoryIndex() !== REGISTER.none) {
        this.tracked.delete(dst);
        this.switchTainted.add(dst);
        return;
      }
      this.kill(v, dst);
      return;
    }
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
        this.define(o.reg, { base: abs, derefs: [], born: this.counter, ref: s.refs.length - 1 });
      } else this.forget(o.reg);
      return;
    }
    if (mn === MNEMONIC.movsxd) {
      if (o.isMemory && o.index !== -1) {
        this.tracked.delete(o.reg);
        this.switchTainted.add(o.reg);
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
          this.define(o.base, { base: o.imm, derefs: [], born: this.counter });
        } else if (form === SIMPLE.rmReg) {
          const src = this.get(o.reg);
          if (src && o.regSize === 8) this.define(o.base, this.copied(src));
          else this.forget(o.base);
          if (this.switchTainted.has(o.reg)) this.switchTainted.add(o.base);
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
        this.define(o.reg, { base: o.imm, derefs: [], born: this.counter });
      } else this.forget(o.reg);
      return;
    }
    // MOV r, r/m.
    if (o.isMemory) {
      if (o.regSize === 8 && abs !== undefined) {
        this.define(o.reg, { base: abs, derefs: [0], born: this.counter });
        return;
      }
      const base = o.base === -1 ? undefined : this.get(o.base);
      if (o.regSize === 8 && base && o.index === -1 && !o.segmented && base.derefs.length < MAX_DEREFS) {
        this.define(o.reg, { base: base.base, derefs: [...base.derefs, o.disp], born: this.counter, deps: base.deps });
        return;
      }
      this.forget(o.reg);
      return;
    }
    const src = this.get(o.base);
    if (src && o.regSize === 8) this.define(o.reg, this.copied(src));
    else this.forget(o.reg);
    if (this.switchTainted.has(o.base)) this.switchTainted.add(o.reg);
  }

  /** A copy of a tracked value into another register: the address is no longer held by one register only. */
  private copied(src: TrackedValue): TrackedValue {
    if (src.ref === undefined) return { ...src };
    const { ref: _ref, ...rest } = src;
    src.ref = undefined;
    return rest;
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
      this.persistent.set(reg, { ...value, deps: [...(value.deps ?? []), reg] });
      this.tracked.delete(reg);
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
    if (reg !== undefined) {
      const full = fullOf(reg);
      const t = this.get(full);
      if (t) {
        this.pushChain({ site: v.ip, base: t.base, derefs: [...t.derefs], kind, viaRegister: true }, t);
        return;
      }
      if (kind === 'jmp' && extentKnown && this.switchTainted.has(full)) {
        s.switches++;
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
      if (kind === 'jmp' && extentKnown) s.switches++;
      else s.unresolved.push({ site: v.ip, kind });
      return;
    }
    const baseReg = v.memoryBase();
    const t = baseReg === REGISTER.none ? undefined : this.get(fullOf(baseReg));
    if (t && t.derefs.length < MAX_DEREFS) {
      this.pushChain({ site: v.ip, base: t.base, derefs: [...t.derefs, v.memoryDisplacement()], kind, viaRegister: false }, t);
      return;
    }
    s.unresolved.push({ site: v.ip, kind });
  }
}

const CALLEE_SAVED = new Set<number>(CALLEE_SAVED_REGISTERS);
