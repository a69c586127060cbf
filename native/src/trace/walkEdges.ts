// Execution path tracking, layer 2 of 3: visiting a function (its summary's features and edges) and following
// its edges: direct calls and jumps, PLT stubs and GOT slots (live values, the dynamic linker's search order,
// IFUNC variants), and bypass-PLT slots and dispatch tables read from live memory.

import { type CfiRow, type CfiTable, DWARF_RSP, cfiTableOf, sameRow } from '../elf/cfi';
import * as C from '../elf/elfConstants';
import type { PltStub } from '../elf/elfFile';
import type { ElfSymbol, FunctionExtent } from '../elf/elfTypes';
import { NativeError } from '../errors';
import { type Chain, type FunctionSummary, type JumpTable, SITES_PER_FEATURE } from './summary';
import { type ModuleImage, type Region, isInPlt, lazyPltRange, moduleFacts } from '../space/space';
import { UNRESOLVED_SAMPLE, savesExtendedState } from './eptUtil';
import { type Origin, WalkBase, type WorkItem } from './walkBase';

const STAT_KEYS = ['direct', 'plt', 'memorySlot', 'dispatchTable', 'unresolved'] as const;

/** How many entries of an open switch table are read at most (a 16-bit index's range would be 65536). */
const MAX_OPEN_ENTRIES = 4096;

/** Entry `k` of a jump table at run-time address `at`: an int32 offset from the table, or an absolute pointer. */
function tableEntry(view: DataView, k: number, entry: 4 | 8, at: number): number {
  return entry === 4 ? at + view.getInt32(k * 4, true) : Number(view.getBigUint64(k * 8, true));
}

export abstract class WalkEdges extends WalkBase {
  // ------------------------------------------------------------------ visiting code


  protected visit(item: WorkItem): void {
    const { address } = item;
    const region = this.space.regionAt(address);
    if (!region || !region.exec) {
      this.unmappedTargets++;
      return;
    }
    if (region.kind === 'vdso' || region.kind === 'vsyscall') {
      // CRIU restores the process with the target kernel's vDSO: its instructions are never requirements.
      this.vdsoSkipped++;
      return;
    }
    const m = region.module;
    if (!m) {
      this.visitAnonymous(item, region);
      return;
    }
    const link = address - m.bias;
    if (!m.elf.isCodeAddress(link)) {
      this.notCode.add(address);
      return;
    }
    if (isInPlt(m.elf, link)) {
      this.visitPltStub(m, link, item);
      return;
    }
    const extent = m.elf.functionAt(link);
    const start = extent ? extent.start : link;
    const units = (this.visitedFunctions[m.index] ??= new Set());
    if (units.has(start)) return;
    if (item.resume && extent && this.visitResume(m, region, extent, link, item)) return;
    units.add(start);

    const summary = this.summaryOf(m, link, extent);
    if (!summary) return;
    if (this.options.bindNow && savesExtendedState(summary) && item.reason.startsWith('address taken') && this.moduleIsLinker(m)) {
      this.trampolinesSkipped++;
      return;
    }
    if (this.resumeCounts.size > 0) this.takeBackResumeCounts(m.index, start);
    this.apply(summary, m, region, item);
  }


  /**
   * A live frame's resume point (a thread's pc, a return address, a setjmp return point): walks only the part of
   * its function that control can still reach from it, so what ran before (start-up code ahead of a loop) is not
   * charged. False when that part cannot be bounded (an indirect jump): the caller walks the whole function.
   * A call into the same function later still walks all of it.
   */
  protected visitResume(m: ModuleImage, region: Region, extent: FunctionExtent, link: number, item: WorkItem): boolean {
    let summary: FunctionSummary | undefined;
    try {
      // Landing pads are entered by the unwinder when a callee throws: the whole function, to be safe.
      if (m.elf.hasLandingPads(extent.start, extent.end)) return false;
      summary = this.summarizer.summarizeFrom((a, n) => m.elf.tryReadVirtual(a, n), extent.start, extent.end, link);
    } catch (e) {
      if (e instanceof NativeError) return false;
      throw e;
    }
    if (!summary) return false;
    this.resumedPartially++;
    const before = { ...this.stats };
    this.apply(summary, m, region, item);
    const key = `${m.index}:${extent.start}`;
    const counted = this.resumeCounts.get(key) ?? { direct: 0, plt: 0, memorySlot: 0, dispatchTable: 0, unresolved: 0 };
    for (const k of STAT_KEYS) counted[k] += this.stats[k] - before[k];
    this.resumeCounts.set(key, counted);
    // What ran before the resume point may have handed function addresses on: to memory, or to places no scan
    // sees (the kernel keeps signal handlers installed with sigaction). The whole function's references are taken
    // as what code that ran produced (referenceBeforeResume); only its calls and instructions before the resume
    // point are not charged. The entry point is the exception: all it computes is main's address for
    // __libc_start_main, which calls main once, and main's live frame is walked from where it resumes.
    const entry = m.isMain ? m.elf.header.entry : 0;
    if (this.rta && !(entry && entry >= extent.start && entry < extent.end)) {
      const whole = this.summaryOf(m, link, extent);
      if (whole) {
        this.referenceBeforeResume(whole, m, this.options.recordVisited ? `${m.path.split('/').pop()}:0x${extent.start.toString(16)} (before a resume point)` : '', item);
        this.ranBeforeResume(m, whole, item);
      }
    }
    return true;
  }

  /** The references of a live frame's whole function, part of which ran before its resume point: see AddressTakenWalk. */
  protected referenceBeforeResume(whole: FunctionSummary, m: ModuleImage, from: string, item: WorkItem): void {
    this.referenceAll(whole, m, m.bias, from, item);
  }

  /** The functions `whole` (a live frame's function) called before its resume point ran: see AddressTakenWalk. */
  protected ranBeforeResume(_m: ModuleImage, _whole: FunctionSummary, _item: WorkItem): void {}

  /** The whole function at link-time `start` of module `index` is walked: its resume-point visits' counts go. */
  protected takeBackResumeCounts(index: number, start: number): void {
    const key = `${index}:${start}`;
    const counted = this.resumeCounts.get(key);
    if (!counted) return;
    for (const k of STAT_KEYS) this.stats[k] -= counted[k];
    this.resumeCounts.delete(key);
  }

  protected visitAnonymous(item: WorkItem, region: Region): void {
    const { address } = item;
    if (this.visitedAnon.has(address)) return;
    this.visitedAnon.add(address);
    const summary = this.summarizer.summarizeDescent((a, n) => {
      if (a < region.start || a + n > region.end) {
        if (a >= region.end || a < region.start) return undefined;
        n = region.end - a;
      }
      return this.space.readMemory(a, n);
    }, address);
    this.apply(summary, undefined, region, item);
  }

  /** A call landed on a PLT stub: follow its GOT slot. */
  protected visitPltStub(m: ModuleImage, link: number, item: WorkItem): void {
    const stubs = (this.visitedStubs[m.index] ??= new Set());
    if (stubs.has(link)) return;
    stubs.add(link);
    const stub = m.elf.pltStubAt(link);
    if (!stub) {
      // PLT0 or an IBT lazy entry: only reached during lazy binding, handled by the trampoline rule.
      return;
    }
    const targets = this.resolveGotSlot(m, stub.gotSlot, stub, item);
    for (const t of targets) this.enqueue(t, `${item.reason} → ${stub.symbol ?? 'plt'}`, item);
  }

  protected apply(s: FunctionSummary, m: ModuleImage | undefined, region: Region, item: WorkItem): void {
    this.functionsVisited++;
    this.instructions += s.instructions;
    const bias = m?.bias ?? 0;
    const moduleName = m?.path ?? region.name;
    if (m) this.enterModule(m, item);
    this.modulesVisited.add(moduleName);
    if (this.options.recordVisited) {
      this.visited.push({ module: moduleName, start: s.start + bias, end: s.end + bias, method: s.method, reason: item.reason });
    }
    // Edges found in this function name it as their origin (only when recording, to keep the hot path lean).
    const from = this.options.recordVisited ? `${moduleName.split('/').pop()}:0x${s.start.toString(16)}` : '';

    for (const [f, hits] of s.features) {
      let ev = this.features.get(f);
      if (!ev) this.features.set(f, (ev = { count: 0, sites: [], modules: new Map(), root: item.root }));
      ev.count += hits.count;
      ev.modules.set(moduleName, (ev.modules.get(moduleName) ?? 0) + hits.count);
      for (const site of hits.sites) if (ev.sites.length < SITES_PER_FEATURE * 2) ev.sites.push({ address: site + bias, module: moduleName, bias });
    }

    for (const t of s.calls) this.directEdge(t + bias, from && `call from ${from}`, item);
    for (const t of s.jumpsOut) this.directEdge(t + bias, from && `jump from ${from}`, item);
    for (const c of s.chains) this.chainEdge(c, bias, moduleName, item);
    for (const u of s.unresolved) this.unresolvedEdge(u.site + bias, moduleName, u.kind);
    if (s.jumpTables) for (const jt of s.jumpTables) this.jumpTableEdge(jt, s, m, moduleName, item);

    if (this.rta) this.referenceAll(s, m, bias, from, item);
  }

  protected directEdge(target: number, why: string, from: Origin): void {
    // Count a direct call to a PLT stub as a PLT call site, others as direct.
    const r = this.space.regionAt(target);
    if (r?.module && isInPlt(r.module.elf, target - r.module.bias)) this.stats.plt++;
    else this.stats.direct++;
    this.enqueue(target, why, from);
  }

  protected unresolvedEdge(address: number, module: string, kind: 'call' | 'jmp'): void {
    this.stats.unresolved++;
    if (this.unresolvedSample.length < UNRESOLVED_SAMPLE) this.unresolvedSample.push({ address, module, kind });
    if (this.rta && !this.unresolvedSeen) {
      this.unresolvedSeen = true;
      for (const t of this.taken) this.rootTaken(t);
    }
  }

  // ------------------------------------------------------------------ memory-resolved edges

  protected chainEdge(c: Chain, bias: number, moduleName: string, from: Origin): void {
    const base = c.base + bias;
    if (c.derefs.length === 0) {
      // `lea rax,[rip+F] ; call rax`: a direct target in disguise.
      this.stats.direct++;
      this.enqueue(base, 'register call', from);
      return;
    }
    // The first step reads a slot of this module; if it is a GOT slot with a relocation, it is the
    // bypass-PLT form (paper: traceable); plain mode stops there.
    const slotModule = this.moduleAt(base);
    const reloc = slotModule ? slotModule.elf.relocationAt(base - slotModule.bias) : undefined;
    const isGot = reloc !== undefined && (reloc.type === C.R_X86_64_GLOB_DAT || reloc.type === C.R_X86_64_JUMP_SLOT);
    if (c.derefs.length === 1 && c.derefs[0] === 0 && isGot && slotModule) {
      const targets = this.resolveGotSlot(slotModule, base - slotModule.bias, undefined, from);
      if (targets.length === 0 && reloc.type === C.R_X86_64_GLOB_DAT && this.weakUndefinedSlot(reloc.symbol, base)) {
        // `mov rax,[rip+GOT(_ITM_deregisterTMCloneTable)] ; test ; jmp rax`: a weak symbol no module defines holds 0
        // for good (GLOB_DAT slots are bound once, at load), so the branch has no target at all.
        this.stats.memorySlot++;
        return;
      }
      if (targets.length === 0) {
        this.unresolvedEdge(c.site + bias, moduleName, c.kind);
        return;
      }
      this.stats.memorySlot++;
      for (const t of targets) this.enqueue(t, `slot ${reloc?.symbol?.name ?? ''}`, from);
      return;
    }
    if (this.mode === 'ept-plain' || !this.space.liveMemory) {
      this.unresolvedEdge(c.site + bias, moduleName, c.kind);
      return;
    }
    let v: number | undefined = base;
    for (const d of c.derefs) {
      v = this.space.readPointer(v + d);
      if (v === undefined || v === 0) break;
    }
    const r = v ? this.space.regionAt(v) : undefined;
    if (!v || !r || !r.exec) {
      this.unresolvedEdge(c.site + bias, moduleName, c.kind);
      return;
    }
    if (c.derefs.length === 1) this.stats.memorySlot++;
    else this.stats.dispatchTable++;
    this.enqueue(v, 'live memory', from);
  }

  /**
   * A bounded jump table (switch, computed goto): every entry is a target. Jumps to code of the function's own
   * extent need nothing more (it was decoded whole); others are queued. Unresolved when the table is not in
   * memory that nothing can write (a read-only mapping of the same module), cannot be read, or has an entry
   * outside executable memory.
   */
  protected jumpTableEdge(jt: JumpTable, s: FunctionSummary, m: ModuleImage | undefined, moduleName: string, from: Origin): void {
    const bias = m?.bias ?? 0;
    if (this.mode === 'ept-plain') {
      // The paper's plain EPT reads no tables: a switch stays a switch (no site), anything else is unresolved.
      if (!jt.switchShape) this.unresolvedEdge(jt.site + bias, moduleName, jt.kind);
      return;
    }
    if (jt.open) {
      if (m) this.openTableEdge(jt, s, m, from);
      return;
    }
    const targets = m ? this.tableTargets(jt, m) : undefined;
    if (!targets) {
      this.unresolvedEdge(jt.site + bias, moduleName, jt.kind);
      return;
    }
    this.stats.dispatchTable++;
    const inside = (t: number) => jt.kind === 'jmp' && s.method === 'extent' && t >= s.start + bias && t < s.end + bias;
    for (const t of targets) if (!inside(t)) this.enqueue(t, jt.kind === 'call' ? 'call table' : 'jump table', from);
  }

  /** The run-time targets of a jump table of `m`, or undefined when they cannot all be known (see jumpTableEdge). */
  protected tableTargets(jt: JumpTable, m: ModuleImage): number[] | undefined {
    // One table serves many jumps (CPython's computed goto: one per opcode handler): read it once.
    const key = `${m.index}:${jt.table}:${jt.count}:${jt.entry}`;
    if (this.tablesRead.has(key)) return this.tablesRead.get(key);
    const targets = this.readTable(jt, m);
    this.tablesRead.set(key, targets);
    return targets;
  }

  private readonly tablesRead = new Map<string, number[] | undefined>();

  /**
   * A switch whose bound was not found (JumpTable.open). Its cases need no edge while they lie in the function,
   * which is decoded whole, but gcc moves cold cases to a separate part (`.cold`, profile-guided builds such as
   * Debian's python3.11 do it often) that only the table reaches. The table is read entry by entry while each
   * target is code of the module at which the call-frame information (.eh_frame) is the jump's own (a case runs
   * in the jump's frame, so every real entry passes) and, outside the function, lies in a part split from a
   * function (partOf); reading stops at the first entry that fails, past the table. Targets outside the function
   * are queued. Without call-frame information at the jump, or when the table is not in read-only memory of the
   * module, the switch stays inside its function as before (docs/analysis.md).
   */
  protected openTableEdge(jt: JumpTable, s: FunctionSummary, m: ModuleImage, from: Origin): void {
    const key = `${m.index}:${jt.site}`;
    let targets = this.tablesRead.get(key);
    if (!this.tablesRead.has(key)) {
      targets = this.readOpenTable(jt, s, m);
      this.tablesRead.set(key, targets);
    }
    if (!targets?.length) return;
    const bias = m.bias;
    for (const t of targets) {
      if (s.method === 'extent' && t >= s.start + bias && t < s.end + bias) continue;
      this.enqueue(t, 'jump table (no bound: cases in the same frame)', from);
    }
  }

  private readOpenTable(jt: JumpTable, s: FunctionSummary, m: ModuleImage): number[] | undefined {
    const cfi = cfiTableOf(m.elf);
    const frame = cfi?.rowAt(jt.site);
    if (!cfi || !frame?.cfa) return undefined;
    if (jt.entry === 8 && !this.space.liveMemory) return undefined;
    const at = jt.table + m.bias;
    const r = this.space.regionAt(at);
    if (!r || r.module !== m || r.write) return undefined;
    const out = new Set<number>();
    const inside = (link: number) => link >= s.start && link < s.end;
    const chunk = 64;
    for (let i = 0; i < MAX_OPEN_ENTRIES; i += chunk) {
      const first = at + i * jt.entry;
      const n = Math.min(chunk, MAX_OPEN_ENTRIES - i, Math.floor((r.end - first) / jt.entry));
      if (n <= 0) break;
      const length = n * jt.entry;
      const bytes = this.space.liveMemory ? this.liveBytes(first, length) : m.elf.tryReadVirtual(jt.table + i * jt.entry, length);
      if (!bytes || bytes.length < length) break;
      const view = new DataView(bytes.buffer, bytes.byteOffset, length);
      for (let k = 0; k < n; k++) {
        const t = tableEntry(view, k, jt.entry, at);
        if (!out.has(t) && !(this.sameFrame(m, cfi, frame, t) && (inside(t - m.bias) || this.partOf(m, cfi, s, t - m.bias)))) return [...out];
        out.add(t);
      }
    }
    return [...out];
  }

  /**
   * True when link-time `t`, outside the function `s`, lies in a part split from a function rather than in a
   * function of its own: a `.cold` symbol, an extent whose call-frame row at its start is not a function entry's
   * (a part that runs in its function's frame), or one `s` jumps into directly. Past the table, the next bytes (another
   * table, other data) often point at function entries, whose frame is a frameless jump's own: those end the read.
   * A frameless function's cold case that only its table names, in a stripped file, is the one left out.
   */
  private partOf(m: ModuleImage, cfi: CfiTable, s: FunctionSummary, t: number): boolean {
    const e = m.elf.functionAt(t);
    if (!e) return false;
    if (e.name !== undefined) return /\.cold(\.\d+)?$/.test(e.name);
    const row = cfi.rowAt(e.start);
    if (!row?.cfa || row.cfa.register !== DWARF_RSP || row.cfa.offset !== 8 || row.rules.size > 1) return true;
    return s.jumpsOut.some((j) => j >= e.start && j < e.end);
  }

  /** True when `t` is code of `m` whose call-frame row (CFA and saved registers) is `frame`. */
  private sameFrame(m: ModuleImage, cfi: CfiTable, frame: CfiRow, t: number): boolean {
    const link = t - m.bias;
    if (this.space.regionAt(t)?.module !== m || !m.elf.isCodeAddress(link)) return false;
    return sameRow(cfi.rowAt(link), frame);
  }

  private readTable(jt: JumpTable, m: ModuleImage): number[] | undefined {
    const at = jt.table + m.bias;
    const length = jt.count * jt.entry;
    const r = this.space.regionAt(at);
    if (!r || r.module !== m || r.write || at + length > r.end) return undefined;
    const bytes = this.space.liveMemory ? this.liveBytes(at, length) : jt.entry === 4 ? m.elf.tryReadVirtual(jt.table, length) : undefined;
    if (!bytes || bytes.length < length) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    const out = new Set<number>();
    for (let i = 0; i < jt.count; i++) {
      const t = tableEntry(view, i, jt.entry, at);
      if (!out.has(t) && !this.space.regionAt(t)?.exec) return undefined;
      out.add(t);
    }
    return [...out];
  }

  /**
   * The target(s) of a GOT slot (link-time address in `m`): the live value when the slot is bound; when it
   * is not (lazy binding, or no live memory), the symbol resolved by the dynamic linker's search order,
   * with every variant of an IFUNC.
   */
  protected resolveGotSlot(m: ModuleImage, slotLink: number, stub: PltStub | undefined, from: Origin): number[] {
    const slot = slotLink + m.bias;
    const reloc = m.elf.relocationAt(slotLink);
    const live = this.space.liveMemory ? this.space.readPointer(slot) : undefined;
    if (live !== undefined && live !== 0) {
      const lazy = lazyPltRange(m.elf);
      const pointsBack = lazy !== undefined && live - m.bias >= lazy.start && live - m.bias < lazy.end;
      if (!pointsBack) return [live];
      this.lazySlots++;
      this.addLazyTrampoline(m, from);
    }
    if (!reloc) return [];
    if (reloc.type === C.R_X86_64_IRELATIVE) {
      // A local IFUNC (resolved at load time even under lazy binding): without a live value, every variant.
      return this.ifuncVariants(m, reloc.addend);
    }
    const name = reloc.symbol?.name ?? stub?.symbol;
    if (!name) return [];
    return this.resolveSymbol(name, reloc.symbol?.version?.name);
  }

  /** True when a GOT slot's symbol is weak, defined by no loaded module, and the slot (when readable) holds 0. */
  protected weakUndefinedSlot(sym: ElfSymbol | undefined, slot: number): boolean {
    if (!sym || sym.defined || sym.bind !== C.STB_WEAK || !sym.name) return false;
    if (this.resolveSymbol(sym.name, sym.version?.name).length > 0) return false;
    return !this.space.liveMemory || this.space.readPointer(slot) === 0;
  }

  /** Resolves a symbol by the dynamic linker's search order (main executable, then load order). */
  protected resolveSymbol(name: string, version: string | undefined): number[] {
    for (const mod of this.space.modules()) {
      const sym = (version ? mod.elf.lookupSymbol(`${name}@${version}`) : undefined) ?? mod.elf.lookupSymbol(name);
      if (!sym || !sym.defined) continue;
      if (sym.type === C.STT_GNU_IFUNC) return this.ifuncVariants(mod, sym.value);
      return [sym.value + mod.bias];
    }
    return [];
  }

  protected ifuncRootTargets(resolver: number): number[] {
    const m = this.space.regionAt(resolver)?.module;
    return m ? this.ifuncVariants(m, resolver - m.bias) : [];
  }

  /** Every function an IFUNC resolver can return: the code addresses it takes (lea/mov imm). */
  protected ifuncVariants(m: ModuleImage, resolverLink: number): number[] {
    const chosen = this.space.ifuncChoice?.(m, resolverLink);
    if (chosen !== undefined) {
      this.hostIfuncChoices++;
      return [chosen + m.bias];
    }
    this.ifuncFallbacks++;
    const extent = m.elf.functionAt(resolverLink);
    let s: FunctionSummary;
    try {
      s = extent
        ? this.summarizer.summarizeExtent(m.elf.readVirtual(extent.start, extent.end - extent.start), extent.start, extent.end)
        : this.summarizer.summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), resolverLink);
    } catch (e) {
      if (e instanceof NativeError) return [];
      throw e;
    }
    const out = new Set<number>();
    const isPie = m.elf.isRelocatable;
    for (const ref of s.refs) {
      if (ref.kind === 'mem' || (ref.kind === 'imm' && isPie)) continue;
      const a = ref.kind === 'imm' ? ref.address : ref.address + m.bias;
      const r = this.space.regionAt(a);
      if (r?.exec) out.add(a);
    }
    // Helpers a resolver tail-calls to pick the variant are not read: their choices are not counted here.
    return [...out];
  }

  /**
   * Under lazy binding a not-yet-bound call runs the dynamic linker's trampoline (_dl_runtime_resolve_*,
   * which uses XSAVEC/XSAVE on this host) after migration: its code is part of the requirement.
   */
  protected addLazyTrampoline(m: ModuleImage, from: Origin): void {
    if (this.lazyTrampolineAdded) return;
    const gotPlt = m.elf.section('.got.plt');
    if (!gotPlt) return;
    const t = this.space.readPointer(gotPlt.addr + m.bias + 16);
    if (t !== undefined && t !== 0) {
      this.lazyTrampolineAdded = true;
      this.enqueue(t, 'lazy-binding trampoline', from);
    }
  }

  /** Sound mode: the address references of a visited function (see addressTaken.ts). */
  protected abstract referenceAll(s: FunctionSummary, m: ModuleImage | undefined, bias: number, from: string, origin: Origin): void;
  /** Called when execution first enters a module. */
  protected abstract enterModule(m: ModuleImage, origin: Origin): void;
  /** Sound mode: makes an address-taken function a root. */
  protected abstract rootTaken(address: number): void;
}

