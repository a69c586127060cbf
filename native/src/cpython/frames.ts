// The live Python frames of every thread of a CPython 3.8–3.13 process, read from its memory the way py-spy does
// (_PyRuntime → interpreters → thread states → frames → code objects), without executing anything or ptrace.

import { NativeError } from '../errors';
import type { AddressSpace, ModuleImage } from '../space/space';
import { PY_VERSIONS, type PyVersion, versionFromFileName } from './abi';
import { dictStrKeys } from './dictKeys';
import { FRAME_LAYOUTS, type FrameLayout, type FrameOffsets, type Offsets } from './frameLayouts';
import { lineForOffset } from './lineTable';

export interface PythonFrame {
  /** co_filename. */
  file: string;
  /** co_name. */
  name: string;
  /** co_qualname (3.11+). */
  qualname?: string;
  /** co_firstlineno. */
  firstLineNo: number;
  /** Byte offset in co_code of the instruction the frame is executing (calling from), as frame.f_lasti; −1 before the first. */
  lasti: number;
  /** The source line of that instruction, from the code object's line table. */
  line?: number;
  /** True for a frame the interpreter entered from C (3.11: is_entry; 3.12+: it sits on a C-stack shim frame). */
  isEntry?: boolean;
  /** The address of the code object. */
  code: number;
}

export interface PythonThread {
  /** The native thread id (the TID under /proc/PID/task); undefined when it could not be read. */
  threadId?: number;
  /** PyThreadState.thread_id: the thread's pthread_t. */
  pthreadId: number;
  /** Index of the interpreter in the runtime's list (0 = the newest, the main one when there is one). */
  interpreter: number;
  /** Innermost first. */
  frames: PythonFrame[];
  /** False when the chain could not be followed to its end (a frame was unreadable or malformed). */
  complete: boolean;
  /**
   * True when two consecutive reads of the chain agreed (of three at most). A thread running Python code can
   * still agree by chance: this is no proof that it was idle, only that the frames were not caught mid-change.
   */
  stable: boolean;
}

export interface PythonFrames {
  version: PyVersion;
  /** The exact version from Py_Version (3.11+), e.g. `3.11.2`. */
  fullVersion?: string;
  /** The object that defines _PyRuntime (the executable or libpython) and the runtime's address. */
  runtimeModule: string;
  runtime: number;
  threads: PythonThread[];
  /** The names in the main interpreter's sys.modules (every module imported and not removed); undefined when unreadable (a note says why). */
  modules?: string[];
  notes: string[];
}

export interface ReadFramesOptions {
  /** The CPython version, when known better than the process's file names and Py_Version say. */
  version?: PyVersion;
  /** Frames read per thread at most (default 4096). */
  maxDepth?: number;
}

const MAX_THREADS = 4096;
const MAX_INTERPRETERS = 256;
const MAX_LINE_TABLE = 1 << 20;
/** glibc's struct pthread.tid on x86-64, used when libc does not export _thread_db_pthread_tid. */
const GLIBC_TID_OFFSET = 720;

/** Reads the live Python frames of every thread of the process behind `space`. */
export function readPythonFrames(space: AddressSpace, opts: ReadFramesOptions = {}): PythonFrames {
  if (!space.liveMemory) {
    const cause = (space as { memoryError?: NativeError }).memoryError;
    if (cause) throw cause;
    throw new NativeError('unsupported', `${space.description}: reading Python frames needs a live process's memory.`, { subject: space.description });
  }
  return new FrameReader(space, opts).read();
}

interface CodeInfo {
  file: string;
  name: string;
  qualname?: string;
  firstLineNo: number;
  /** Address of the first code unit, and the code's length in bytes. */
  codeStart: number;
  codeBytes: number;
  lineTable: Uint8Array;
}

class Unreadable extends Error {}

class FrameReader {
  private readonly notes: string[] = [];
  private readonly codes = new Map<number, CodeInfo>();
  private readonly maxDepth: number;
  private layout!: FrameLayout;
  private o!: FrameOffsets;
  private types: { code?: number; str?: number; bytes?: number } = {};
  /** The main interpreter (the oldest: the last in the runtime's list), as readThreads walked it; 0 before. */
  private mainInterp = 0;

  constructor(
    private readonly space: AddressSpace,
    private readonly opts: ReadFramesOptions,
  ) {
    this.maxDepth = opts.maxDepth ?? 4096;
  }

  read(): PythonFrames {
    try {
      return this.readUnchecked();
    } catch (e) {
      if (!(e instanceof Unreadable)) throw e;
      throw new NativeError('malformed', `${this.space.description}: the interpreter's thread states cannot be followed (${e.message}).`, {
        subject: this.space.description,
        hint: 'The process may be starting or exiting, or its CPython build has a layout this reader does not know.',
      });
    }
  }

  private readUnchecked(): PythonFrames {
    const { module, runtime } = this.findRuntime();
    const { version, full } = this.findVersion(module);
    this.layout = FRAME_LAYOUTS[version];
    this.o = version === '3.13' ? this.debugOffsets(runtime, this.layout.offsets) : this.layout.offsets;
    const sym = (n: string) => {
      const s = module.elf.findSymbol(n);
      return s?.defined ? s.value + module.bias : undefined;
    };
    this.types = { code: sym('PyCode_Type'), str: sym('PyUnicode_Type'), bytes: sym('PyBytes_Type') };
    if (this.types.code === undefined) this.notes.push(`${module.path} does not define PyCode_Type: code objects are not type-checked.`);
    const threads = this.readThreads(runtime);
    const modules = this.readModules();
    return { version, fullVersion: full, runtimeModule: module.path, runtime, threads, modules, notes: this.notes };
  }

  /** The first loaded object (in load order, as the dynamic linker binds) that defines _PyRuntime. */
  private findRuntime(): { module: ModuleImage; runtime: number } {
    for (const m of this.space.modules()) {
      const s = m.elf.findSymbol('_PyRuntime');
      if (s?.defined && s.value !== 0) return { module: m, runtime: s.value + m.bias };
    }
    const named = this.nameVersion();
    const what = named ? `CPython ${named} is not supported` : 'is not a CPython process';
    throw new NativeError('unsupported', `${this.space.description} ${what}: no loaded object defines _PyRuntime.`, {
      subject: this.space.description,
      hint: 'Pick a process running CPython 3.8–3.13 (python3, or a program embedding libpython).',
    });
  }

  /** The version: the option, else Py_Version (3.11+), else the interpreter's or libpython's file name. */
  private findVersion(m: ModuleImage): { version: PyVersion; full?: string } {
    let full: string | undefined;
    let fromHex: string | undefined;
    const pv = m.elf.findSymbol('Py_Version');
    if (pv?.defined) {
      const b = this.space.readMemory(pv.value + m.bias, 4);
      if (b) {
        const hex = u32(b, 0);
        fromHex = `${hex >>> 24}.${(hex >>> 16) & 0xff}`;
        full = `${fromHex}.${(hex >>> 8) & 0xff}`;
      }
    }
    const main = this.space.mainModule();
    const named = versionFromFileName(m.path) ?? (main ? versionFromFileName(main.path) : undefined) ?? this.nameVersion();
    const found = this.opts.version ?? fromHex ?? named;
    if (!found || !PY_VERSIONS.includes(found as PyVersion)) {
      throw new NativeError('unsupported', `${this.space.description}: ${found ? `CPython ${found} is` : 'this CPython version is unknown and'} not supported (3.8–3.13, GIL builds).`, {
        subject: this.space.description,
      });
    }
    return { version: found as PyVersion, full };
  }

  /** `X.Y` from the first executable or library named python X.Y / libpythonX.Y (any version, for messages). */
  private nameVersion(): string | undefined {
    for (const m of this.space.modules()) {
      const v = /^(?:lib)?python(\d+\.\d+)/.exec(m.path.split('/').pop() ?? '');
      if (v) return v[1];
    }
    return undefined;
  }

  /** 3.13: the offsets the process itself publishes in _Py_DebugOffsets, checked against the headers' table. */
  private debugOffsets(runtime: number, table: FrameOffsets): FrameOffsets {
    const d = table.debug!;
    const b = this.space.readMemory(runtime, d.size);
    if (!b || String.fromCharCode(...b.subarray(0, 8)) !== 'xdebugpy') {
      throw new NativeError('malformed', `${this.space.description}: _PyRuntime does not start with the _Py_DebugOffsets cookie "xdebugpy".`, { subject: this.space.description });
    }
    const v = u64(b, d.version);
    if (v >>> 24 !== 3 || ((v >>> 16) & 0xff) !== 13) {
      throw new NativeError('malformed', `${this.space.description}: _Py_DebugOffsets says version 0x${v.toString(16)}, not 3.13.`, { subject: this.space.description });
    }
    if (u64(b, d.free_threaded) !== 0) {
      throw new NativeError('unsupported', `${this.space.description}: a free-threaded CPython build; only GIL builds are supported.`, { subject: this.space.description });
    }
    const groups: Record<string, Record<string, number>> = {};
    for (const [k, v] of Object.entries(table)) if (k !== 'debug' && v) groups[k] = { ...(v as Offsets) };
    const differ: string[] = [];
    for (const [key, at] of Object.entries(d)) {
      const [group, field] = key.split('.');
      if (!field) continue;
      const value = u64(b, at);
      if (groups[group][field] !== value) differ.push(`${key} ${groups[group][field]}→${value}`);
      groups[group][field] = value;
    }
    if (differ.length) this.notes.push(`_Py_DebugOffsets differ from the 3.13.0 headers (${differ.join(', ')}); the process's values are used.`);
    return groups as unknown as FrameOffsets;
  }

  private readThreads(runtime: number): PythonThread[] {
    const o = this.o;
    const tids = this.taskIds();
    const tidOffset = this.layout.lastiUnit !== undefined ? this.pthreadTidOffset() : undefined;
    const out: PythonThread[] = [];
    let interp = this.ptr(runtime + o.runtime.interpreters_head, 'interpreters.head');
    const seenInterp = new Set<number>();
    for (let index = 0; interp !== 0 && !seenInterp.has(interp) && index < MAX_INTERPRETERS; index++) {
      seenInterp.add(interp);
      this.mainInterp = interp;
      let ts = this.ptr(interp + o.interp.threads_head, 'the thread-state list');
      const seen = new Set<number>();
      while (ts !== 0 && !seen.has(ts) && seen.size < MAX_THREADS) {
        seen.add(ts);
        const pthreadId = this.ptr(ts + o.tstate.thread_id, 'PyThreadState.thread_id');
        let threadId: number | undefined;
        if (o.tstate.native_thread_id !== undefined) threadId = this.ptr(ts + o.tstate.native_thread_id, 'native_thread_id');
        else if (tidOffset !== undefined) threadId = this.i32At(pthreadId + tidOffset);
        if (threadId !== undefined && tids && !tids.has(threadId)) {
          this.notes.push(`A thread state names thread ${threadId}, which is not a thread of the process (it may be exiting).`);
          if (tidOffset !== undefined) threadId = undefined;
        }
        out.push({ threadId, pthreadId, interpreter: index, ...this.stableChain(ts) });
        ts = this.ptr(ts + o.tstate.next, 'PyThreadState.next');
      }
      interp = this.ptr(interp + o.interp.next, 'PyInterpreterState.next');
    }
    return out;
  }

  /** The keys of the main interpreter's sys.modules; undefined, with a note, when unreadable. */
  private readModules(): string[] | undefined {
    const o = this.o;
    try {
      const dict = this.mainInterp === 0 ? 0 : this.ptr(this.mainInterp + o.interp.modules, 'the interpreter\'s sys.modules');
      if (dict === 0) throw new Unreadable('the interpreter has no sys.modules yet');
      const strOrUndefined = (a: number) => {
        try {
          return this.str(a);
        } catch (e) {
          if (e instanceof Unreadable) return undefined;
          throw e;
        }
      };
      return dictStrKeys(dict, this.layout, o, { ptr: (a, what) => this.ptr(a, what), bytesAt: (a, n) => this.bytesAt(a, n), strOrUndefined });
    } catch (e) {
      if (!(e instanceof Unreadable) && !(e instanceof RangeError)) throw e;
      this.notes.push(`sys.modules could not be read (${e.message}).`);
      return undefined;
    }
  }

  /** Reads a thread's chain until two consecutive reads agree (at most three reads). */
  private stableChain(ts: number): { frames: PythonFrame[]; complete: boolean; stable: boolean } {
    const key = (c: { frames: PythonFrame[]; complete: boolean }) => `${c.complete}:${c.frames.map((f) => `${f.code}@${f.lasti}`).join(',')}`;
    let last = this.chain(ts);
    for (let i = 0; i < 2; i++) {
      const next = this.chain(ts);
      if (key(next) === key(last)) return { ...next, stable: true };
      last = next;
    }
    return { ...last, stable: false };
  }

  private chain(ts: number): { frames: PythonFrame[]; complete: boolean } {
    const frames: PythonFrame[] = [];
    try {
      if (this.o.frame) this.legacyChain(ts, frames);
      else this.interpreterChain(ts, frames);
      return { frames, complete: true };
    } catch (e) {
      if (!(e instanceof Unreadable)) throw e;
      return { frames, complete: false };
    }
  }

  /** 3.8–3.10: PyThreadState.frame → PyFrameObject.f_back → … */
  private legacyChain(ts: number, frames: PythonFrame[]): void {
    const f = this.o.frame!;
    let frame = this.ptr(ts + this.o.tstate.frame, 'PyThreadState.frame');
    const seen = new Set<number>();
    while (frame !== 0) {
      if (seen.has(frame) || frames.length >= this.maxDepth) throw new Unreadable('frame chain loops or is too deep');
      seen.add(frame);
      const codeAddr = this.ptr(frame + f.f_code, 'f_code');
      const code = this.codeInfo(codeAddr);
      const raw = this.i32At(frame + f.f_lasti);
      if (raw === undefined || raw * this.layout.lastiUnit! >= code.codeBytes) throw new Unreadable('f_lasti outside the code');
      frames.push(this.frameOf(codeAddr, code, raw < 0 ? -1 : raw * this.layout.lastiUnit!));
      frame = this.ptr(frame + f.f_back, 'f_back');
    }
  }

  /** 3.11+: (cframe →) current_frame → _PyInterpreterFrame.previous → …, skipping C-stack shim frames. */
  private interpreterChain(ts: number, frames: PythonFrame[]): void {
    const o = this.o;
    const f = o.iframe!;
    let frame =
      o.cframe !== undefined
        ? this.ptr(this.ptr(ts + o.tstate.cframe, 'PyThreadState.cframe') + o.cframe.current_frame, 'current_frame')
        : this.ptr(ts + o.tstate.current_frame, 'current_frame');
    const seen = new Set<number>();
    while (frame !== 0) {
      if (seen.has(frame) || frames.length >= this.maxDepth) throw new Unreadable('frame chain loops or is too deep');
      seen.add(frame);
      const owner = this.bytesAt(frame + f.owner, 1)[0];
      const previous = this.ptr(frame + f.previous, 'previous');
      if (o.owner!.cstack !== undefined && owner === o.owner!.cstack) {
        if (frames.length) frames[frames.length - 1].isEntry = true;
        frame = previous;
        continue;
      }
      const codeAddr = this.ptr(frame + f.code, 'f_code');
      const code = this.codeInfo(codeAddr);
      const lasti = this.ptr(frame + f.instr, 'instr') - code.codeStart;
      if (lasti < -2 || lasti >= code.codeBytes || lasti % 2 !== 0) throw new Unreadable('instruction pointer outside the code');
      const fr = this.frameOf(codeAddr, code, Math.max(lasti, -1));
      if (f.is_entry !== undefined && this.bytesAt(frame + f.is_entry, 1)[0] !== 0) fr.isEntry = true;
      frames.push(fr);
      frame = previous;
    }
  }

  private frameOf(address: number, c: CodeInfo, lasti: number): PythonFrame {
    const out: PythonFrame = { file: c.file, name: c.name, firstLineNo: c.firstLineNo, lasti, code: address };
    if (c.qualname !== undefined) out.qualname = c.qualname;
    const line = lineForOffset(this.layout.lineTable, c.lineTable, c.firstLineNo, lasti);
    if (line !== undefined) out.line = line;
    return out;
  }

  private codeInfo(addr: number): CodeInfo {
    const cached = this.codes.get(addr);
    if (cached) return cached;
    const c = this.o.code;
    this.checkType(addr, this.types.code, 'a code object');
    const firstLineNo = this.i32At(addr + c.co_firstlineno);
    if (firstLineNo === undefined) throw new Unreadable('co_firstlineno');
    let codeStart: number;
    let codeBytes: number;
    if (c.co_code_adaptive !== undefined) {
      codeStart = addr + c.co_code_adaptive;
      codeBytes = this.ptr(addr + this.o.object.ob_size, 'ob_size') * 2;
    } else {
      const bytes = this.ptr(addr + c.co_code, 'co_code');
      this.checkType(bytes, this.types.bytes, 'a bytes object');
      codeStart = bytes + this.o.bytes.ob_sval;
      codeBytes = this.ptr(bytes + this.o.object.ob_size, 'ob_size');
    }
    const info: CodeInfo = {
      file: this.str(this.ptr(addr + c.co_filename, 'co_filename')),
      name: this.str(this.ptr(addr + c.co_name, 'co_name')),
      qualname: c.co_qualname !== undefined ? this.str(this.ptr(addr + c.co_qualname, 'co_qualname')) : undefined,
      firstLineNo,
      codeStart,
      codeBytes,
      lineTable: this.bytesObject(this.ptr(addr + c.line_table, 'line table')),
    };
    this.codes.set(addr, info);
    return info;
  }

  /** A str object's text: compact ASCII, or compact UCS1/UCS2/UCS4 data after PyCompactUnicodeObject. */
  private str(addr: number): string {
    this.checkType(addr, this.types.str, 'a str object');
    const u = this.o.unicode;
    const length = this.ptr(addr + u.length, 'str length');
    const state = u32(this.bytesAt(addr + u.state, 4), 0);
    if ((state & u.compact_mask) === 0 || length > 1 << 20) throw new Unreadable('a non-compact or huge str');
    if (state & u.ascii_mask) return Buffer.from(this.bytesAt(addr + u.ascii_size, length)).toString('latin1');
    const kind = (state & u.kind_mask) / (u.kind_mask & -u.kind_mask);
    if (kind !== 1 && kind !== 2 && kind !== 4) throw new Unreadable('str kind');
    const data = this.bytesAt(addr + u.compact_size, length * kind);
    if (kind === 1) return Buffer.from(data).toString('latin1');
    if (kind === 2) return Buffer.from(data).toString('utf16le');
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCodePoint(u32(data, i * 4));
    return s;
  }

  private bytesObject(addr: number): Uint8Array {
    this.checkType(addr, this.types.bytes, 'a bytes object');
    const size = this.ptr(addr + this.o.object.ob_size, 'bytes size');
    if (size > MAX_LINE_TABLE) throw new Unreadable('bytes object too large');
    return size === 0 ? new Uint8Array(0) : this.bytesAt(addr + this.o.bytes.ob_sval, size);
  }

  private checkType(addr: number, type: number | undefined, what: string): void {
    if (addr === 0) throw new Unreadable(`NULL where ${what} was expected`);
    if (type !== undefined && this.ptr(addr + this.o.object.ob_type, 'ob_type') !== type) throw new Unreadable(`not ${what}`);
  }

  /** The TIDs of the process, when the space is a live process's. */
  private taskIds(): Set<number> | undefined {
    const view = (this.space as { view?: { threads(): number[] } }).view;
    try {
      return view ? new Set(view.threads()) : undefined;
    } catch (e) {
      if (e instanceof NativeError && e.kind === 'gone') throw e;
      return undefined;
    }
  }

  /** glibc's offset of struct pthread.tid, from libc's _thread_db_pthread_tid descriptor (size, count, offset). */
  private pthreadTidOffset(): number {
    for (const m of this.space.modules()) {
      const s = m.elf.lookupSymbol('_thread_db_pthread_tid');
      if (!s?.defined) continue;
      const b = this.space.readMemory(s.value + m.bias, 12);
      if (b && u32(b, 0) === 32) return u32(b, 8);
    }
    this.notes.push(`libc does not describe struct pthread (_thread_db_pthread_tid): its tid is read at glibc's offset ${GLIBC_TID_OFFSET}.`);
    return GLIBC_TID_OFFSET;
  }

  private bytesAt(addr: number, length: number): Uint8Array {
    const b = this.space.readMemory(addr, length);
    if (!b || b.length < length) throw new Unreadable(`unreadable memory at 0x${addr.toString(16)}`);
    return b;
  }

  private i32At(addr: number): number | undefined {
    const b = this.space.readMemory(addr, 4);
    return b && b.length === 4 ? u32(b, 0) | 0 : undefined;
  }

  /** A pointer (or unsigned long) the structure walk needs. */
  private ptr(addr: number, what: string): number {
    const v = this.space.readPointer(addr);
    if (v === undefined) throw new Unreadable(`${what} at 0x${addr.toString(16)} is unreadable`);
    return v;
  }
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
}
