// Identifier strings of a module's read-only data (identifierStrings), and those its code points at as a call's second
// argument (`lea rsi,[rip+s]`) or makes a string object of (`lea rdi,[rip+s]` before a call of PyUnicode_FromString or
// PyUnicode_InternFromString): names its C code may pass to a lookup (PyObject_GetAttrString(module, "k_sha")), told
// apart from the ml_name strings of its own method tables, which only data (the PyMethodDef) points at. The same scan
// keeps where each `lea` is (resolve/ufuncLoops.ts finds the code that loads a name's string); dataPointersInto counts
// what the module's data points into a range (a method table: its module definition and type, or something else).

import * as C from '../elf/elfConstants';
import { NativeError } from '../errors';
import type { ElfFile } from '../elf/elfFile';
import type { PythonTables } from '../cpython/tableTypes';
import { upperBound } from '../upperBound';

const MAX_NAME = 64;

/**
 * What a module's .text points at with RIP-relative `lea`s: the names loaded into rsi, and every target (sorted), with
 * the address of the `lea` beside each (`sites`).
 */
interface CodeReferences {
  names: ReadonlySet<string>;
  /** The addresses loaded into rsi (or into rdi for a string maker) whose strings make `names`. */
  lookups: readonly number[];
  /** Set when the code could not be read (so nothing is known of what it refers to). */
  unreadable?: true;
  targets: Float64Array;
  sites: Float64Array;
}
const byFile = new WeakMap<ElfFile, CodeReferences>();

function referencesOf(elf: ElfFile): CodeReferences {
  let refs = byFile.get(elf);
  if (!refs) byFile.set(elf, (refs = scan(elf)));
  return refs;
}

/**
 * Which of `names` (identifiers) a string of `elf`'s .rodata spells at an address its .text loads into rsi, the second
 * argument of a call, with a RIP-relative `lea rsi,[rip+s]`: PyObject_GetAttrString(o, name), PyDict_GetItemString,
 * PyObject_CallMethod, PyModule_AddObject. Argument Clinic's error paths name the function in the first argument
 * (`_PyArg_CheckPositional("hexdigest", …)`), which does not count. A byte scan, not a decode: a match inside another
 * instruction only adds a name (the safe side). Computed once per file.
 */
export function codeReferencedNames(elf: ElfFile, names: Iterable<string>): Set<string> {
  const pointed = referencesOf(elf).names;
  const out = new Set<string>();
  for (const n of names) if (pointed.has(n)) out.add(n);
  return out;
}

/**
 * Whether `elf`'s .text computes an address in [start, end) (link-time) with a RIP-relative `lea`: code that takes a
 * method table's address or an entry's (`PyCFunction_New(&methods[1], …)`) may bind its functions under any name.
 * The same byte scan: a false match only says yes (the safe side).
 */
export function codeReferencesInto(elf: ElfFile, start: number, end: number): boolean {
  const t = referencesOf(elf).targets;
  const k = upperBound(t.length, (i) => t[i] >= start);
  return k < t.length && t[k] < end;
}

/**
 * Link addresses in .rodata where `name` ends a NUL-terminated string: a string of its own, or the tail of a longer one,
 * since the linker stores a string inside another that ends with it (Debian NumPy's ufunc name "sin" is the end of
 * "arcsin", NumPy 2's "matmul" the end of "Out of memory in matmul").
 */
export function stringAddresses(elf: ElfFile, name: string): readonly number[] {
  // Kept per file (a file is shared by the spaces of a process's successive analyses): asked again at each debug stop.
  let known = stringsOf.get(elf);
  if (!known) stringsOf.set(elf, (known = new Map()));
  let out = known.get(name);
  if (!out) known.set(name, (out = scanStrings(elf, name)));
  return out;
}

const stringsOf = new WeakMap<ElfFile, Map<string, number[]>>();

function scanStrings(elf: ElfFile, name: string): number[] {
  const sec = elf.section('.rodata');
  if (!sec || sec.size === 0) return [];
  // A view, not a copy (this runs for each name a resolver asks about); it is read before any other read of the file.
  const bytes = elf.sectionData(sec);
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from(`${name}\0`, 'latin1');
  const out: number[] = [];
  for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + 1)) out.push(sec.addr + i);
  return out;
}

/** Every target of the module's RIP-relative `lea`s (sorted, repeats kept; a byte scan: a false match only adds one). */
export function codeLeaTargets(elf: ElfFile): Float64Array {
  return referencesOf(elf).targets;
}

/** The link addresses of the `lea`s whose target is `target` (a byte scan: a false match only adds a site). */
export function codeLeaSites(elf: ElfFile, target: number): number[] {
  const { targets, sites } = referencesOf(elf);
  const out: number[] = [];
  for (let k = upperBound(targets.length, (i) => targets[i] >= target); k < targets.length && targets[k] === target; k++) out.push(sites[k]);
  return out;
}

function scan(elf: ElfFile): CodeReferences {
  const names = new Set<string>();
  const lookups: number[] = [];
  const targets: number[] = [];
  const sites: number[] = [];
  const empty = new Float64Array(0);
  const none = { names, lookups, targets: empty, sites: empty };
  const text = elf.section('.text');
  if (!text || text.size > 256 * 1024 * 1024) return none;
  const rodata = elf.section('.rodata');
  let code: Uint8Array;
  let data: Uint8Array | undefined;
  try {
    code = elf.sectionData(text);
    data = rodata && rodata.size <= 64 * 1024 * 1024 ? elf.sectionData(rodata) : undefined;
  } catch (e) {
    if (e instanceof NativeError) return { ...none, unreadable: true };
    throw e;
  }
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (let i = 0; i + 7 <= code.length; i++) {
    if ((code[i] !== 0x48 && code[i] !== 0x4c) || code[i + 1] !== 0x8d || (code[i + 2] & 0xc7) !== 0x05) continue;
    const target = text.addr + i + 7 + view.getInt32(i + 3, true);
    targets.push(target);
    sites.push(text.addr + i);
    if (code[i] !== 0x48 || !data || !rodata) continue;
    if (code[i + 2] !== 0x35 && !(code[i + 2] === 0x3d && makesString(elf, code, text.addr, i + 7))) continue;
    lookups.push(target);
    const name = identifierAt(data, target - rodata.addr);
    if (name) names.add(name);
  }
  // Pairs (target, site), sorted by target.
  const order = Array.from(targets.keys()).sort((a, b) => targets[a] - targets[b]);
  return { names, lookups, targets: Float64Array.from(order, (i) => targets[i]), sites: Float64Array.from(order, (i) => sites[i]) };
}

/** Functions that make a string object of their first argument, which C code then looks attributes up by. */
const STRING_MAKERS = new Set(['PyUnicode_FromString', 'PyUnicode_InternFromString', 'PyUnicode_DecodeFSDefault']);
/** Bytes after a `lea rdi` within which the call that takes it is looked for. */
const CALL_REACH = 16;

/**
 * Whether a call of a STRING_MAKERS function (through the PLT, `call rel32`, or its GOT slot, `call [rip+x]`) starts
 * within CALL_REACH bytes of `from` (an offset in `code`, which starts at link address `base`). A byte scan: a false
 * match only makes a name count.
 */
function makesString(elf: ElfFile, code: Uint8Array, base: number, from: number): boolean {
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (let j = from; j < Math.min(code.length - 5, from + CALL_REACH); j++) {
    let symbol: string | undefined;
    if (code[j] === 0xe8) symbol = elf.pltStubAt(base + j + 5 + view.getInt32(j + 1, true))?.symbol;
    else if (code[j] === 0xff && code[j + 1] === 0x15 && j + 6 <= code.length) symbol = elf.relocationAt(base + j + 6 + view.getInt32(j + 2, true))?.symbol?.name;
    if (symbol !== undefined && STRING_MAKERS.has(symbol.replace(/@.*$/, ''))) return true;
  }
  return false;
}

/** The NUL-terminated identifier starting at `at` (2 to MAX_NAME characters, not starting with a digit), if any. */
function identifierAt(data: Uint8Array, at: number): string | undefined {
  if (at < 0 || at >= data.length) return undefined;
  let end = at;
  while (end < data.length && end - at <= MAX_NAME) {
    const c = data[end];
    if (c === 0) break;
    if (!isIdentByte(c)) return undefined;
    end++;
  }
  if (end >= data.length || data[end] !== 0 || end - at < 2 || isDigit(data[at])) return undefined;
  return Buffer.from(data.buffer, data.byteOffset + at, end - at).toString('latin1');
}

/**
 * Adds the identifier-like C strings of `bytes` to `out`: NUL-terminated runs of [A-Za-z0-9_] (and their suffixes) not
 * starting with a digit. Linkers merge a string into the tail of a longer one ("write" inside "_Py_write"), so a suffix
 * may be a string of its own; with `suffixReferenced`, a suffix counts only where something refers to its first byte
 * (given as an offset in `bytes`: rodataReferences), as code or data that uses a merged string does. With
 * `referenced`, any string counts only where that says so.
 */
export function identifierStrings(bytes: Uint8Array, out: Set<string>, suffixReferenced?: (offset: number) => boolean, referenced?: (offset: number) => boolean): void {
  const n = bytes.length;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? bytes[i] : 0;
    if (isIdentByte(c)) continue;
    if (c === 0 && i - start >= 2 && i - start <= 64) {
      for (let k = start; i - k >= 2; k++) {
        if (isDigit(bytes[k]) || (referenced && !referenced(k))) continue;
        if (k === start || !suffixReferenced || suffixReferenced(k)) out.add(Buffer.from(bytes.buffer, bytes.byteOffset + k, i - k).toString('latin1'));
      }
    }
    start = i + 1;
  }
}

/** Which `.rodata` addresses a file refers to: by anything (`any`), or as a name a lookup takes (`lookup`). */
export interface RodataReferences {
  any(address: number): boolean;
  lookup(address: number): boolean;
}

/**
 * The link addresses inside `.rodata` that something in the file refers to. `any`: the targets of its code's
 * RIP-relative `lea`s; in a non-PIE executable, every 4-byte value of its code (an absolute `mov ecx, imm32`; a byte
 * scan); the 8-byte words of its data sections; and its dynamic relocations' targets (a PIC object's pointers are zero
 * in the file). `lookup`: those data words and relocations (a `_Py_Identifier`'s string, a keyword list), and code
 * that loads the address into rsi, the second argument of PyObject_GetAttrString(o, name), PyObject_CallMethod,
 * PyDict_GetItemString (`lea rsi`; non-PIE: `mov esi, imm32`, `mov rsi, imm32`), or into rdi for a call that makes a
 * string object of it (makesString); not a message's argument in another register. Over-counting only keeps a name.
 * Once per file.
 */
const rodataRefsByFile = new WeakMap<ElfFile, RodataReferences>();
export function rodataReferences(elf: ElfFile): RodataReferences {
  let known = rodataRefsByFile.get(elf);
  if (!known) rodataRefsByFile.set(elf, (known = referencedInRodata(elf)));
  return known;
}

const EVERY: RodataReferences = { any: () => true, lookup: () => true };

function referencedInRodata(elf: ElfFile): RodataReferences {
  const ro = elf.section('.rodata');
  if (!ro) return EVERY;
  const [lo, hi] = [ro.addr, ro.addr + ro.size];
  const any = new Set<number>();
  const lookup = new Set<number>();
  const add = (set: Set<number>, a: number) => {
    if (a >= lo && a < hi) set.add(a);
  };
  // The RIP-relative `lea`s (and those into rsi, or rdi for a string maker) from the module's one scan of its code.
  const refs = referencesOf(elf);
  // Unreadable: every string counts.
  if (refs.unreadable) return EVERY;
  for (const t of refs.targets) add(any, t);
  for (const t of refs.lookups) add(lookup, t);
  try {
    // A non-PIE executable's absolute forms: every 4-byte value, and `mov esi, imm32`, `mov edi, imm32` for a string
    // maker, `mov rsi, imm32`.
    const text = elf.section('.text');
    if (text && elf.header.type === C.ET_EXEC && text.size <= 256 * 1024 * 1024) {
      const code = elf.sectionData(text);
      const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
      // To the code's last 4-byte value (an instruction may end the section).
      for (let i = 0; i + 4 <= code.length; i++) {
        add(any, view.getUint32(i, true));
        const b = code[i];
        if (i + 5 <= code.length && (b === 0xbe || (b === 0xbf && makesString(elf, code, text.addr, i + 5)))) add(lookup, view.getUint32(i + 1, true));
        else if (i + 7 <= code.length && b === 0x48 && code[i + 1] === 0xc7 && code[i + 2] === 0xc6) add(lookup, view.getUint32(i + 3, true));
      }
    }
    const fromData = (a: number) => {
      add(any, a);
      add(lookup, a);
    };
    for (const name of ['.data.rel.ro', '.data', '.init_array', '.got']) {
      const sec = elf.section(name);
      if (!sec || sec.type === C.SHT_NOBITS || sec.size > 64 * 1024 * 1024) continue;
      const data = elf.sectionData(sec);
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i + 8 <= data.length; i += 8) fromData(Number(view.getBigUint64(i, true) & 0xffffffffffffn));
    }
    for (const r of elf.relocations()) fromData((r.symbol?.value ?? 0) + r.addend);
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
    // Unreadable: every string counts.
    return EVERY;
  }
  return { any: (a) => any.has(a), lookup: (a) => lookup.has(a) };
}

/** [0-9]. */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** [A-Za-z0-9_]: a byte of a C identifier. */
function isIdentByte(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

const dataPointers = new WeakMap<ElfFile, Float64Array>();

/**
 * Whether anything but `holders` words of data pointing at `start` refers to [start, end): code that takes an address
 * in it (codeReferencesInto), or data the loader relocates to point into it (`static PyMethodDef *kept = &m[2]`), or at
 * its start more often than its known holders (a table's PyModuleDef and types).
 */
export function referencedBeyond(elf: ElfFile, start: number, end: number, holders: number): boolean {
  if (codeReferencesInto(elf, start, end)) return true;
  const held = dataPointersInto(elf, start, end);
  return held.inside > 0 || held.atStart > holders;
}

/** How many words of `elf`'s data the loader relocates to point at `start` exactly, and into (start, end). */
function dataPointersInto(elf: ElfFile, start: number, end: number): { atStart: number; inside: number } {
  let sorted = dataPointers.get(elf);
  if (!sorted) {
    const addends: number[] = [];
    for (const r of elf.relocations()) if (r.type === C.R_X86_64_RELATIVE) addends.push(r.addend);
    sorted = Float64Array.from(addends).sort();
    dataPointers.set(elf, sorted);
  }
  const s = sorted;
  let k = upperBound(s.length, (i) => s[i] >= start);
  let atStart = 0;
  let inside = 0;
  for (; k < s.length && s[k] < end; k++) {
    if (s[k] === start) atStart++;
    else inside++;
  }
  return { atStart, inside };
}

/**
 * The identifier strings of section `name` of `elf` (identifierStrings). In `.rodata` a merged string's tail counts
 * where the file refers to it, and with `lookupsOnly` any string only where a lookup takes it (rodataReferences); data
 * holds no merged strings, but a static string object's header may run into its text, so there every tail counts.
 * Unreadable or huge: none.
 */
export function sectionIdentifiers(elf: ElfFile, name: string, into: Set<string>, lookupsOnly = false): void {
  const sec = elf.section(name);
  if (!sec || sec.size > 64 * 1024 * 1024) return;
  try {
    const bytes = elf.sectionData(sec);
    if (name !== '.rodata') return identifierStrings(bytes, into);
    const refs = rodataReferences(elf);
    const at = (test: (a: number) => boolean) => (k: number) => test(sec.addr + k);
    if (lookupsOnly) identifierStrings(bytes, into, undefined, at(refs.lookup));
    else identifierStrings(bytes, into, at(refs.any));
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
  }
}

/** The identifier strings of a 3.11+ interpreter's _PyRuntime (its _Py_ID objects); without it, of its whole `.data`. */
export function runtimeIdentifiers(elf: ElfFile, into: Set<string>): void {
  const runtime = elf.findSymbol('_PyRuntime');
  try {
    if (runtime !== undefined && runtime.size > 0) return identifierStrings(elf.readVirtual(runtime.value, runtime.size), into);
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
  }
  sectionIdentifiers(elf, '.data', into);
}

/**
 * The names of trace/pythonRoots.ts cCallableNames one module's C code may look up, from its file: `interp` when it is
 * the interpreter; `tables`, its Python tables, when they can be read.
 */
export function moduleLookupNames(elf: ElfFile, file: string, interp: boolean, tables: PythonTables | undefined): Set<string> {
  const found = new Set<string>();
  // 3.11+ interpreters look names up through _Py_ID static string objects (in their data), so their
  // read-only strings are ml_names and messages; older ones through C strings that may share ml_names'.
  const version = /python(\d+)\.(\d+)/.exec(file.split('/').pop() ?? '');
  const staticIds = interp && version !== null && (Number(version[1]) > 3 || Number(version[2]) >= 11);
  // Its read-only strings; a 3.11+ interpreter's only as its code passes them to lookups (its own go through _Py_ID).
  sectionIdentifiers(elf, '.rodata', found, staticIds);
  if ((!interp || staticIds) && tables) {
    const own = new Set<string>();
    for (const t of tables.methodTables) for (const e of t.entries) own.add(e.name);
    for (const e of tables.standaloneMethods) own.add(e.name);
    for (const t of tables.types) {
      for (const e of t.methods?.entries ?? []) own.add(e.name);
      for (const g of t.getset) own.add(g.name);
    }
    // Unless its code points at the string too: then C code looks the name up (and may bind what it finds under
    // another name, which the gate cannot see).
    const looked = interp ? new Set<string>() : codeReferencedNames(elf, own);
    for (const n of own) if (!looked.has(n)) found.delete(n);
  }
  if (interp) {
    sectionIdentifiers(elf, '.data.rel.ro', found);
    // 3.11+ keeps the static string objects C code looks names up by (_Py_ID, _Py_STR) in _PyRuntime; the rest of
    // its data is mostly the deep-frozen start-up modules' code (site's `main`, os's `popen`): names of Python code,
    // not C lookups. The import machinery among them, which C code calls, is tracked as Python code instead
    // (closedReachability in the server).
    if (staticIds) runtimeIdentifiers(elf, found);
    else sectionIdentifiers(elf, '.data', found);
  }
  return found;
}
