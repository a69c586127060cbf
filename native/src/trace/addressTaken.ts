// Execution path tracking, layer 3 of 3 (the sound mode): address-taken functions become roots once an
// indirect call cannot be resolved, narrowed by CPU-dispatch selectors, completed pthread_once initialisers,
// single-word loads and the live census (liveCensus.ts); static initializers' products are taken.

import * as C from '../elf/elfConstants';
import type { FunctionSummary } from './summary';
import { type ModuleImage, dataObjectExtent, isGotSlot, isInPlt, moduleFacts, u64 } from '../space/space';
import { cpuModelAddresses, MAX_INIT_FUNCTIONS, MAX_SLOT_MAP_SPAN, ONCE_FUNCTIONS, down8, runsOnlyAtLoad, staticPointer } from './eptUtil';
import { type LiveValues, type WrittenPointer, liveCensus, liveValuesOf } from './liveCensus';
import type { Origin, WorkItem } from './walkBase';
import { WalkEdges } from './walkEdges';
import { SIGNAL_INSTALL_DEPTH, SignalInstallers } from './signalHandlers';
import { pythonInitializers } from './pythonRoots';
import { readsArguments } from './argumentReads';
import { codeTouchesWord } from './onceControls';
import { TransformedProducts } from './transformedProducts';

/** The origin of every function the address-taken rule roots: its own tier, after the explicit roots' closure. */
const ADDRESS_TAKEN: Origin = { root: 'a function whose address is taken (an unresolved indirect call may reach it)', tier: 'addressTaken' };

export class AddressTakenWalk extends WalkEdges {
  /** Whether a selector function reads its arguments (argumentReads.ts), by its start. */
  private readonly selectorInput = new Map<number, boolean>();
  /** The address references of a function's summary, minus the tables it did not choose (unchosenTables). */
  protected referenceAll(s: FunctionSummary, m: ModuleImage | undefined, bias: number, from: string, origin: Origin): void {
    const isPieOrAnon = !m || m.elf.isRelocatable;
    const addresses: number[] = [];
    for (const ref of s.refs) {
      // Immediates are addresses only in position-dependent code.
      addresses.push(ref.kind === 'imm' && isPieOrAnon ? -1 : ref.kind === 'imm' ? ref.address : ref.address + bias);
    }
    const skip = m ? this.unchosenTables(s, m, addresses) : undefined;
    const done = m && s.addressArgCalls ? this.completedOnceInits(s, m) : undefined;
    for (let i = 0; i < s.refs.length; i++) {
      if (addresses[i] < 0 || skip?.has(addresses[i]) || done?.has(i)) continue;
      const ref = s.refs[i];
      if (ref.word) this.referenceWord(addresses[i], m, from);
      else this.reference(addresses[i], ref.kind, m, from);
    }
    // A completed initialiser is no possible target, but what it produced (stored on the heap) still is.
    if (m && done) {
      const inits = [...done].map((i) => addresses[i] - m.bias).filter((link) => this.space.regionAt(link + m.bias)?.module === m);
      if (inits.length) this.takeProducedBy(m, inits, from && `a completed pthread_once initialiser (via ${from})`, true, origin);
    }
  }

  /**
   * A CPU-dispatch selector: a function that runs cpuid or xgetbv, references a family of same-sized data
   * objects of its module (at least two) and a variable whose live value points to some of them has chosen
   * those (OpenBLAS's gotoblas_dynamic_init picks one of ~40 per-CPU kernel tables by CPUID and stores it in
   * `gotoblas`; it runs again only while `gotoblas` is unset). The others are never used by this process,
   * even after a restore on another CPU, so their contents are not taken through this function (another
   * function that references them without choosing still takes them). Returns the absolute reference
   * addresses to skip.
   */
  protected unchosenTables(s: FunctionSummary, m: ModuleImage, addresses: number[]): Set<number> | undefined {
    // Only a choice made by the CPU is final (a mode switch chosen by input could choose again after a
    // restore): the function itself runs cpuid or xgetbv, or reads libgcc's CPU model that
    // __builtin_cpu_supports/__builtin_cpu_is test (a caller of such a function may choose by input).
    if (!this.space.liveMemory || s.refs.length < 3) return undefined;
    if (!s.probesCpu && !this.readsCpuModel(s, m)) return undefined;
    // A selector that reads its arguments chooses by them too: called again with others, it chooses another table.
    // Nor is a live frame resumed inside one (its registers hold its state, and it may not have chosen yet) proven.
    if (s.method === 'resume') return undefined;
    let input = this.selectorInput.get(s.start + m.bias);
    if (input === undefined) this.selectorInput.set(s.start + m.bias, (input = readsArguments(this.space, s.start + m.bias)));
    if (input) return undefined;
    // Data objects of m the function names (by address, or through a GOT slot), grouped by size; and the
    // live contents of the variables it reads or writes (a GOT slot stands for its variable).
    const families = new Map<number, { start: number; end: number; refs: number[] }[]>();
    const values: number[] = [];
    const word = (a: number): number | undefined => {
      const b = this.liveBytes(a, 8);
      return b && b.length === 8 ? u64(b) : undefined;
    };
    const member = (link: number, ref: number) => {
      const obj = dataObjectExtent(m.elf, link);
      if (!obj || obj.end - obj.start < 16) return;
      const size = obj.end - obj.start;
      const list = families.get(size) ?? [];
      const o = list.find((x) => x.start === obj.start);
      if (o) o.refs.push(ref);
      else list.push({ start: obj.start, end: obj.end, refs: [ref] });
      families.set(size, list);
    };
    for (let i = 0; i < s.refs.length; i++) {
      const a = addresses[i];
      if (a < 0) continue;
      const r = this.space.regionAt(a);
      if (!r || r.module !== m || r.exec) continue;
      if (s.refs[i].kind !== 'mem') {
        member(a - m.bias, a);
        continue;
      }
      if (isGotSlot(m.elf, down8(a) - m.bias)) {
        const x = word(down8(a));
        const t = x === undefined ? undefined : this.space.regionAt(x);
        if (x === undefined || t?.module !== m || t.exec) continue;
        member(x - m.bias, a);
        const content = word(down8(x));
        if (content !== undefined) values.push(content);
      } else {
        const content = word(down8(a));
        if (content !== undefined) values.push(content);
      }
    }
    if (!values.length) return undefined;
    let skip: Set<number> | undefined;
    for (const list of families.values()) {
      if (list.length < 2) continue;
      const chosen = list.filter((o) => values.some((v) => v >= o.start + m.bias && v < o.end + m.bias));
      if (chosen.length === 0 || chosen.length === list.length) continue;
      skip ??= new Set();
      for (const o of list) if (!chosen.includes(o)) for (const a of o.refs) skip.add(a);
      this.tablesNotChosen += list.length - chosen.length;
    }
    return skip;
  }

  /** True when the function reads `__cpu_model`/`__cpu_features2` (directly or through its GOT slot). */
  protected readsCpuModel(s: FunctionSummary, m: ModuleImage): boolean {
    const addrs = cpuModelAddresses(m.elf);
    // Immediates are addresses only in position-dependent code.
    const pic = m.elf.isRelocatable;
    return addrs.size > 0 && s.refs.some((r) => (r.kind !== 'imm' || !pic) && addrs.has(r.address));
  }

  /**
   * `pthread_once(&once, init)` (or a wrapper named in ONCE_FUNCTIONS) whose `once` control is already done
   * never calls `init` again, in this process or after a restore (the control is part of its memory). The
   * `lea` that produced `init` for such a call is then no address-taken reference (OpenSSL's RUN_ONCE
   * initialisers, which would otherwise root most of libcrypto). Returns the indices in `s.refs` to skip.
   */
  protected completedOnceInits(s: FunctionSummary, m: ModuleImage): Set<number> | undefined {
    if (!this.space.liveMemory) return undefined;
    let out: Set<number> | undefined;
    const pic = m.elf.isRelocatable;
    for (const c of s.addressArgCalls ?? []) {
      if (!ONCE_FUNCTIONS.has(this.calleeName(m, c.target) ?? '')) continue;
      // Code that reads or writes the control itself may reset it (`once = PTHREAD_ONCE_INIT`): init runs again.
      if (s.refs.some((r) => r.kind === 'mem' && r.address === c.arg0) || codeTouchesWord(m.elf, c.arg0)) continue;
      const control = this.liveBytes(c.arg0 + (pic ? m.bias : 0), 4);
      // glibc's pthread_once_t: bit 1 (__PTHREAD_ONCE_DONE) is set once the initialiser has returned.
      if (!control || control.length < 4 || (control[0] & 2) === 0) continue;
      (out ??= new Set()).add(c.ref);
      this.onceInitsSkipped++;
    }
    return out;
  }

  /** The name of a direct call's target (link-time, in `m`): the PLT stub's symbol or the function's own. */
  protected calleeName(m: ModuleImage, link: number): string | undefined {
    if (isInPlt(m.elf, link)) return m.elf.pltStubAt(link)?.symbol;
    const sym = m.elf.symbolize(link);
    return sym && sym.offset === 0 ? sym.name.replace(/@.*$/, '') : undefined;
  }

  // ------------------------------------------------------------------ sound mode: address-taken code
  //
  // Policy (module-local RTA): once any indirect call cannot be resolved, every function a module M can
  // produce a pointer to becomes a root — pointers to M's own code in M's visited code (lea/mov imm), every
  // code pointer (into M or another module: tables of imported functions, GOT slots loaded as values) in the
  // data objects M's visited code references (one level, no data-to-data chasing), and the live values of M's
  // writable data that point into M (function pointers written at run time, e.g. dispatch-selected variants;
  // the whole of every entered module's writable data is read, without a budget). Only modules that
  // execution already entered are considered. Calls from Python into extension modules are rooted by the
  // Python-callable roots and bytecode tracking, not here.

  protected reference(address: number, kind: 'lea' | 'imm' | 'mem', fromModule: ModuleImage | undefined, from: string): void {
    if (!fromModule) return;
    // Seen before from this module: taking and scanning are idempotent (and the why-text of the first wins).
    const seen = ((kind === 'mem' ? this.memRefsSeen : this.refsSeen)[fromModule.index] ??= new Set());
    if (seen.has(address)) return;
    seen.add(address);
    const r = this.space.regionAt(address);
    if (!r || r.module !== fromModule) return;
    if (r.exec) {
      if (kind !== 'mem' && this.keepProduct(address, address)) this.take(fromModule, address, from && `${kind} in ${from}`);
      return;
    }
    this.scanDataObject(fromModule, address - fromModule.bias, from && `data 0x${(address - fromModule.bias).toString(16)} via ${from}`);
  }

  /**
   * A general-purpose MOV loads or stores exactly the word at `address` (summary `word` refs): only the pointer held there
   * can come out of it, not its neighbours'. A code pointer is taken; a GOT slot stands for its symbol's object as in
   * scanDataObject. Other memory operands (SIMD loads, string instructions through a `lea`) keep reference()'s rule.
   */
  protected referenceWord(address: number, fromModule: ModuleImage | undefined, from: string): void {
    if (!fromModule) return;
    const seen = (this.wordRefsSeen[fromModule.index] ??= new Set());
    if (seen.has(address)) return;
    seen.add(address);
    const r = this.space.regionAt(address);
    if (!r || r.module !== fromModule || r.exec) return;
    const link = address - fromModule.bias;
    if (isGotSlot(fromModule.elf, down8(link))) {
      // The load produces the slot's value, as a `lea` of it would (keepProduct's `via`).
      this.scanDataObject(fromModule, link, from && `data 0x${link.toString(16)} via ${from}`, address);
      return;
    }
    let value: number | undefined;
    if (this.space.liveMemory) {
      const b = this.liveBytes(address, 8);
      value = b && b.length === 8 ? u64(b) : undefined;
    } else value = staticPointer(this.space, fromModule, link);
    if (value === undefined || value < 0x10000) return;
    const t = this.space.regionAt(value);
    if (t?.exec && t.module && this.keepProduct(value, address)) this.take(t.module, value, from && `word 0x${link.toString(16)} via ${from}`);
  }

  protected wordRefsSeen: Array<Set<number> | undefined> = [];

  protected readonly takenWhy = new Map<number, string>();

  protected take(m: ModuleImage, address: number, why: string): void {
    if (this.taken.has(address)) return;
    // IFUNC resolvers and Python module initialisers run only at load or import: never a call target after restore.
    if (runsOnlyAtLoad(m, address - m.bias)) return;
    // A pointer into .rodata that an old toolchain mapped executable is data, not a possible target.
    if (!m.elf.isCodeAddress(address - m.bias)) {
      this.notCode.add(address);
      return;
    }
    this.taken.add(address);
    if (why) this.takenWhy.set(address, why);
    if (this.unresolvedSeen) this.rootTaken(address);
  }

  protected rootTaken(address: number): void {
    if (this.takenRooted.has(address)) return;
    this.takenRooted.add(address);
    this.addressTakenRoots++;
    this.enqueue(address, `address taken${this.takenWhy.has(address) ? ` (${this.takenWhy.get(address)})` : ''}`, ADDRESS_TAKEN);
  }

  /** Code pointers of module `m` in the data object containing `link` become address-taken (`via`: see keepProduct). */
  protected scanDataObject(m: ModuleImage, link: number, why: string, via?: number): void {
    const obj = dataObjectExtent(m.elf, link);
    if (!obj) return;
    const visited = (this.dataVisited[m.index] ??= new Set());
    if (visited.has(obj.start)) return;
    visited.add(obj.start);
    // Rounded up without bitwise operators (link-time addresses may exceed 2^31).
    const start = Math.ceil(obj.start / 8) * 8;
    if (obj.end <= start) return;
    const end = this.boundedScanEnd(m, start, obj.end, 'A data object');
    // Scanned for a completed initialiser: the table's pointers count when a live word points into it.
    const objectLive = !this.productFilter || this.productFilter.pointsInto(obj.start + m.bias, obj.end + m.bias);
    const live = this.space.liveMemory ? this.liveBytes(start + m.bias, end - start) : undefined;
    // A slot's value is the same in every scan when it comes from the live regions (or, without live
    // memory, from the file): only then is it marked as read.
    const scanned = live || !this.space.liveMemory ? this.scannedSlots(m) : null;
    // Counted, not compared: past 2^53 `slot + 8` would equal `slot` (a crafted address) and never end.
    const slots = Math.floor((end - start) / 8);
    for (let k = 0; k < slots; k++) {
      const slot = start + k * 8;
      this.pollSlot();
      if (scanned) {
        const i = (slot - scanned.base) / 8;
        if (i >= 0 && i < scanned.seen.length) {
          if (scanned.seen[i]) continue;
          scanned.seen[i] = 1;
        }
      }
      if (this.options.gatedWords?.has(slot + m.bias)) continue;
      const value = live ? u64(live, slot - start) : staticPointer(this.space, m, slot);
      if (value === undefined || value < 0x10000) continue;
      // Pointers into other modules count too: a table of imported functions (libblas's gemm[] slots are
      // relocations to libopenblas's dgemm_nn…), or a callback another module's function was stored as.
      const r = this.space.regionAt(value);
      if (r?.exec && r.module) {
        if (objectLive || this.keepProduct(value, via)) this.take(r.module, value, why);
      }
      // A GOT slot stands for its symbol's address: `mov r,[rip+GOT(sym)]` is `lea r,[sym]` for an
      // interposable symbol (C++ vtables of shared objects are loaded so), so the object it names is scanned.
      else if (r?.module && !r.exec && obj.end - obj.start === 8 && isGotSlot(m.elf, obj.start)) this.scanDataObject(r.module, value - r.module.bias, why, via);
    }
  }

  /** The slot map of `m`'s data sections (null when their span is too large to map). */
  protected scannedSlots(m: ModuleImage): { base: number; seen: Uint8Array } | null {
    let s = this.slotsScanned[m.index];
    if (s === undefined) {
      const secs = moduleFacts(m.elf).dataSections;
      s = null;
      if (secs.length > 0) {
        const base = secs[0].addr & ~7;
        const end = Math.max(...secs.map((x) => x.addr + x.size));
        if (end - base <= MAX_SLOT_MAP_SPAN) s = { base, seen: new Uint8Array(Math.ceil((end - base) / 8)) };
      }
      this.slotsScanned[m.index] = s;
    }
    return s;
  }

  /** When execution first enters a module: its writable data's live code pointers are address-taken. */
  protected enterModule(m: ModuleImage, origin: Origin): void {
    if (this.enteredModules.has(m.index)) return;
    this.enteredModules.add(m.index);
    if (!this.rta) return;
    this.takeInitProduced(m, origin);
    if (!this.space.liveMemory) return;
    const why = `live pointer in ${m.path.split('/').pop()} writable data`;
    for (const w of this.writtenPointers(m)) {
      if (w.addressable) this.take(m, w.value, this.options.recordVisited ? why : '');
      else this.unaddressedSkipped++;
    }
  }


  // ------------------------------------------------------------------ sound mode: unaddressable variables
  //
  // A pointer written at run time into a variable is taken (rule 3 above) because code the walk does not see may
  // read it through a pointer to the variable (NumPy's ufunc objects on the heap point to the loop tables it
  // filled at import). When no word of the process's memory points into the variable (or up to an object window
  // before it) and its value lies nowhere else, only instructions naming the variable can read it: the walk takes
  // its value where it visits them (referenceWord), and code that computes its address takes the whole window
  // (reference). Such a pointer is left out here. One pass over the readable memory answers this for every
  // module at once (the live census).

  /** Run-time-written pointers per module index, with whether something can address them; computed once. */
  protected census: Map<number, Array<{ slot: number; value: number; addressable: boolean }>> | undefined;

  protected writtenPointers(m: ModuleImage): Array<{ slot: number; value: number; addressable: boolean }> {
    this.census ??= liveCensus({ space: this.space, liveBytes: (a, n) => this.liveBytes(a, n), pollSlot: () => this.pollSlot(), isCancelled: this.options.isCancelled });
    return this.census.get(m.index) ?? [];
  }

  /**
   * What the module's static initializers (.init_array, .preinit_array) and the functions they call in the module
   * produce as pointers is address-taken, without rooting the initializers (they ran at load time and never run after a
   * restore). They store factories and callbacks where no scan sees them: C++ registries keep them on the heap
   * (xgboost's dmlc registries, eval finding N3). Their references are treated as a visited function's are (selectors
   * included, see unchosenTables). A Python extension module's initialisers (PyInit_*, its PyModuleDef's Py_mod_create
   * and Py_mod_exec functions; the interpreter's built-in modules') ran at import, the same way.
   */
  protected takeInitProduced(m: ModuleImage, origin: Origin): void {
    const pending: number[] = [];
    for (const sec of m.elf.sections) {
      if (sec.type !== C.SHT_INIT_ARRAY && sec.type !== C.SHT_PREINIT_ARRAY) continue;
      if (!Number.isSafeInteger(sec.addr + sec.size)) continue;
      const slots = Math.floor((this.boundedScanEnd(m, sec.addr, sec.addr + sec.size, 'An initializer array') - sec.addr) / 8);
      for (let k = 0; k < slots; k++) {
        const slot = sec.addr + k * 8;
        this.pollSlot();
        const v = staticPointer(this.space, m, slot);
        if (v !== undefined && this.space.regionAt(v)?.module === m) pending.push(v - m.bias);
      }
    }
    // Only in a live process: at rest no module was imported yet and nothing they stored can be checked, and taking
    // all they name made the interpreter's own requirement (behind the lenses) swallow every call site's features.
    const python = this.space.liveMemory ? [...pythonInitializers(m)] : [];
    if (pending.length) this.takeProducedBy(m, pending, this.options.recordVisited ? `a static initializer of ${m.path.split('/').pop()}` : '', false, origin);
    if (python.length) this.takeProducedBy(m, python, this.options.recordVisited ? `a Python module initialiser of ${m.path.split('/').pop()}` : '', false, origin);
  }

  /** Functions of each module already read by takeProducedBy (link-time starts), shared by every caller. */
  protected readonly producedSeen: Array<Set<number> | undefined> = [];

  /**
   * Takes the pointers that functions of `m` which ran already and never run again (static initializers, completed
   * pthread_once initialisers) and the functions they call in `m` produced, without rooting them: what they stored
   * may still be called. `viaPlt` also follows calls through `m`'s PLT that land in `m` (its exported functions).
   */
  protected takeProducedBy(m: ModuleImage, pending: number[], why: string, viaPlt: boolean, origin: Origin): void {
    this.asProducts(() => this.produce(m, pending, why, viaPlt, origin));
  }

  /**
   * Runs `take` with what it references taken as the products of code that ran: with live memory, they count only
   * where they are still stored (see keepProduct), and these references are tracked apart from visited code's, which
   * takes them whole.
   */
  private asProducts(take: () => void): void {
    const outermost = this.productFilter === undefined && this.space.liveMemory;
    if (outermost) {
      this.productFilter = this.live();
      this.swapReferenceSets();
    }
    try {
      take();
    } finally {
      if (outermost) {
        this.swapReferenceSets();
        this.productFilter = undefined;
      }
    }
  }

  private produce(m: ModuleImage, pending: number[], why: string, viaPlt: boolean, origin: Origin): void {
    const seen = (this.producedSeen[m.index] ??= new Set());
    while (pending.length && seen.size < MAX_INIT_FUNCTIONS) {
      const link = pending.pop()!;
      const extent = m.elf.functionAt(link);
      const start = extent ? extent.start : link;
      if (seen.has(start)) continue;
      seen.add(start);
      const s = this.summaryOf(m, link, extent);
      if (!s) continue;
      // A function that installs signal handlers hands their addresses to the kernel, where no word of live memory
      // shows them: its references are taken whole, whether or not memory still holds them.
      const filter = this.productFilter;
      if (filter && this.installsSignalHandlers(m, s, SIGNAL_INSTALL_DEPTH)) this.productFilter = undefined;
      const outer = this.productOf;
      this.productOf = s.start + m.bias;
      try {
        this.referenceAll(s, m, m.bias, why && `${why} (0x${start.toString(16)})`, origin);
      } finally {
        this.productFilter = filter;
        this.productOf = outer;
      }
      for (const t of [...s.calls, ...s.jumpsOut]) {
        if (!isInPlt(m.elf, t)) {
          if (this.space.regionAt(t + m.bias)?.module === m) pending.push(t);
          continue;
        }
        if (!viaPlt) continue;
        const stub = m.elf.pltStubAt(t);
        if (!stub) continue;
        for (const target of this.resolveGotSlot(m, stub.gotSlot, stub, origin)) if (this.space.regionAt(target)?.module === m) pending.push(target - m.bias);
      }
    }
    if (pending.length) {
      this.notes.push(`The initializers of ${m.path.split('/').pop()} call more than ${MAX_INIT_FUNCTIONS} functions; only the pointers the first ${MAX_INIT_FUNCTIONS} produce were taken.`);
    }
  }

  /** Which functions install signal handlers, and what helpers ran before a resume point (signalHandlers.ts). */
  private readonly signals = new SignalInstallers(this.space, (m, t) => this.summaryOf(m, t));

  protected installsSignalHandlers(m: ModuleImage, s: FunctionSummary, depth: number): boolean {
    return this.signals.installs(m, s, depth);
  }

  /**
   * A live frame's function ran up to its resume point and resumes there: what the part before produced is, as for
   * an initialiser that ran, a possible target only while live memory holds it (keepProduct), and the resumed part,
   * walked as visited code, takes its own references whole. Unless the function installs signal handlers: the
   * kernel keeps those, so its references are all taken, as before.
   */
  protected override referenceBeforeResume(whole: FunctionSummary, m: ModuleImage, from: string, item: WorkItem): void {
    if (this.installsSignalHandlers(m, whole, SIGNAL_INSTALL_DEPTH)) this.referenceAll(whole, m, m.bias, from, item);
    else {
      const outer = this.productOf;
      this.productOf = whole.start + m.bias;
      this.asProducts(() => this.referenceAll(whole, m, m.bias, from, item));
      this.productOf = outer;
    }
  }

  protected override ranBeforeResume(m: ModuleImage, whole: FunctionSummary, item: WorkItem): void {
    for (const s of this.signals.installersCalledBy(m, whole)) {
      this.referenceAll(s, m, m.bias, this.options.recordVisited ? `${m.path.split('/').pop()}:0x${s.start.toString(16)} (installs signal handlers before a resume point)` : '', item);
    }
  }

  // ------------------------------------------------------------------ sound mode: live products

  /** Set while the products of initialisers that already ran are taken: only live ones are kept. */
  private productFilter: LiveValues | undefined;
  private productOf: number | undefined; // the function (absolute start) whose references are taken as products
  protected readonly transformed = new TransformedProducts(this.space, (m) => this.moduleCode(m));
  private liveCache: LiveValues | undefined;
  private readonly notLive = new Set<number>();
  /** The reference and data-object sets of product walks (kept apart: visited code takes objects whole). */
  private productSets = { refs: [] as Array<Set<number> | undefined>, memRefs: [] as Array<Set<number> | undefined>, wordRefs: [] as Array<Set<number> | undefined>, data: [] as Array<Set<number> | undefined>, slots: [] as Array<{ base: number; seen: Uint8Array } | null | undefined> };

  /** The census of live memory's module pointers and mangled code pointers, read once per walk. */
  protected live(): LiveValues {
    this.liveCache ??= liveValuesOf(this.space, this.options.isCancelled);
    return this.liveCache;
  }

  private swapReferenceSets(): void {
    const p = this.productSets;
    [this.refsSeen, p.refs] = [p.refs, this.refsSeen];
    [this.memRefsSeen, p.memRefs] = [p.memRefs, this.memRefsSeen];
    [this.wordRefsSeen, p.wordRefs] = [p.wordRefs, this.wordRefsSeen];
    [this.dataVisited, p.data] = [p.data, this.dataVisited];
    [this.slotsScanned, p.slots] = [p.slots, this.slotsScanned];
  }

  /**
   * True unless a code pointer produced by an initialiser that already ran is stored nowhere in live memory:
   * it can then be called only if code that runs again produces it, and the walk takes it there.
   */
  private keepProduct(address: number, via?: number): boolean {
    if (!this.productFilter || this.productFilter.has(address)) return true;
    // Its producer (a `lea` of it, a load of the word `via`) may keep it transformed (an offset), where no word shows it.
    if (via !== undefined && this.productOf !== undefined && this.transformed.transforms(this.productOf, via)) return ++this.productsTransformed > 0;
    if (!this.notLive.has(address)) {
      this.notLive.add(address);
      this.productsNotLive++;
    }
    return false;
  }
}
