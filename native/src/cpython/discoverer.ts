// The validators of CPython's native tables: each candidate PyMethodDef, PyModuleDef, PyTypeObject (with its
// slot suites, tp_methods and tp_getset), PyType_Spec and _inittab entry is checked field by field.

import { DOTTED, LinkImage, type CodeRef } from '../elf/linkImage';
import {
  GETSETDEF,
  METHODDEF,
  MODULEDEF,
  NUMBER_SLOTS,
  SEQUENCE_SLOTS,
  MODULEDEF_SLOT,
  type SlotSuite,
  SUITE_FIELD,
  TYPE,
  TYPE_FUNCTION_SLOTS,
  TYPE_MIN_SIZE,
  TYPE_SLOT,
  TYPE_SPEC,
  TYPESLOT_NAMES,
  isValidMethodFlags,
  suiteSlots,
} from './abi';
import type { GetSetEntry, InittabEntry, MethodEntry, MethodTable, ModuleDefInfo, ModuleSlot, TypeInfo } from './tableTypes';

// Limits on what one table may hold, far above real tables: guards against reading runs of unrelated data.
export const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_TABLE = 4096;
export const MAX_GETSET = 1024;
export const MAX_SPEC_SLOTS = 128;
export const MAX_MODULE_SLOTS = 32;

/** The validators over one LinkImage, each candidate address checked once. */
export class Discoverer {
  private readonly entryCache = new Map<number, MethodEntry | null>();
  private readonly tableCache = new Map<number, MethodTable | null>();

  constructor(private readonly img: LinkImage) {}

  /** A valid PyMethodDef at `a`, or null. */
  entry(a: number): MethodEntry | null {
    const cached = this.entryCache.get(a);
    if (cached !== undefined) return cached;
    const out = this.readEntry(a);
    this.entryCache.set(a, out);
    return out;
  }

  private readEntry(a: number): MethodEntry | null {
    const img = this.img;
    const np = img.ptr(a + METHODDEF.ml_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !IDENT.test(name)) return null;
    const meth = img.code(a + METHODDEF.ml_meth);
    if (!meth) return null;
    if (img.relocs.has(a + METHODDEF.ml_flags)) return null;
    const flags = img.raw32(a + METHODDEF.ml_flags);
    const pad = img.raw32(a + METHODDEF.ml_flags + 4);
    if (flags === undefined || pad !== 0 || !isValidMethodFlags(flags)) return null;
    const docPtr = img.ptr(a + METHODDEF.ml_doc);
    if (docPtr !== 0 && !(docPtr > 0 && img.isDocString(docPtr))) return null;
    return { address: a, name, meth, flags, hasDoc: docPtr !== 0 };
  }

  /** A zero-terminated PyMethodDef array starting at `a` whose every entry is valid (an empty one included). */
  tableAt(a: number): MethodTable | null {
    const cached = this.tableCache.get(a);
    if (cached !== undefined) return cached;
    let out: MethodTable | null = null;
    const entries: MethodEntry[] = [];
    for (let i = 0; i < MAX_TABLE; i++) {
      const p = a + i * METHODDEF.size;
      if (this.img.isZero(p, METHODDEF.size)) {
        out = { address: a, entries };
        break;
      }
      const e = this.entry(p);
      if (!e) break;
      entries.push(e);
    }
    this.tableCache.set(a, out);
    return out;
  }

  /** A PyModuleDef at `d`, or null. */
  moduleDef(d: number): ModuleDefInfo | null {
    const img = this.img;
    if (d < 0 || img.relocs.has(d)) return null;
    const refcnt = img.raw64(d);
    if (refcnt === undefined || refcnt < 1 || refcnt > 0xffff_ffff) return null;
    // ob_type, m_init, m_index and m_copy are NULL/0 in the file (PyModuleDef_HEAD_INIT).
    if (!img.isZero(d + 8, 32)) return null;
    const np = img.ptr(d + MODULEDEF.m_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    if (!img.optionalString(d + MODULEDEF.m_doc)) return null;
    const size = img.smallSigned(d + MODULEDEF.m_size);
    if (size === undefined || size < -1) return null;
    for (const f of [MODULEDEF.m_traverse, MODULEDEF.m_clear, MODULEDEF.m_free]) if (img.code(d + f) === undefined) return null;
    const mp = img.ptr(d + MODULEDEF.m_methods);
    const sp = img.ptr(d + MODULEDEF.m_slots);
    if (mp < 0 || sp < 0 || (mp === 0 && sp === 0)) return null;
    let methods: MethodTable | undefined;
    if (mp !== 0) {
      if (!img.isData(mp)) return null;
      const t = this.tableAt(mp);
      if (!t) return null;
      methods = t;
    }
    const slots: ModuleSlot[] = [];
    if (sp !== 0) {
      if (!img.isData(sp)) return null;
      let ok = false;
      for (let i = 0; i < MAX_MODULE_SLOTS; i++) {
        const s = sp + i * MODULEDEF_SLOT.size;
        if (img.relocs.has(s)) return null;
        const id = img.raw32(s);
        const pad = img.raw32(s + 4);
        if (id === undefined || pad !== 0) return null;
        if (id === 0) {
          if (img.ptr(s + MODULEDEF_SLOT.value) !== 0) return null;
          ok = true;
          break;
        }
        if (id > 16) return null;
        if (id === 1 || id === 2) {
          const f = img.code(s + MODULEDEF_SLOT.value);
          if (!f) return null;
          slots.push({ slot: id, func: f });
        } else {
          const v = img.int64(s + MODULEDEF_SLOT.value);
          if (v === undefined || v > 0xffff) return null;
          slots.push({ slot: id, value: v });
        }
      }
      if (!ok) return null;
    }
    return { address: d, name, size, methods, slots, multiPhase: sp !== 0 };
  }

  /** A static PyTypeObject at `t`, or null. */
  typeObject(t: number): TypeInfo | null {
    const img = this.img;
    const head = this.typeHeader(t);
    if (!head) return null;
    const { name, basicsize, itemsize, flags } = head;
    const slots = new Map<string, CodeRef>();
    for (const f of TYPE_FUNCTION_SLOTS) {
      if (f === 'tp_vectorcall' && !sameChunk(img, t, t + TYPE.tp_vectorcall + 7)) continue;
      const c = img.code(t + TYPE[f]);
      if (c === undefined) return null;
      if (c) slots.set(f, c);
    }
    const suites: TypeInfo['suites'] = {};
    const suiteAddrs: Array<[Exclude<SlotSuite, 'type'>, number]> = [];
    for (const [suite, field] of Object.entries(SUITE_FIELD) as Array<[Exclude<SlotSuite, 'type'>, string]>) {
      const r = img.dataRef(t + TYPE[field as keyof typeof TYPE]);
      if (r === undefined) return null;
      if (r?.kind === 'local') suiteAddrs.push([suite, r.address]);
    }
    let methods: MethodTable | undefined;
    const mr = img.dataRef(t + TYPE.tp_methods);
    if (mr === undefined || mr?.kind === 'external') return null;
    if (mr) {
      const tab = this.tableAt(mr.address);
      if (!tab) return null;
      methods = tab;
    }
    const mem = img.dataRef(t + TYPE.tp_members);
    if (mem === undefined) return null;
    const gr = img.dataRef(t + TYPE.tp_getset);
    if (gr === undefined || gr?.kind === 'external') return null;
    let getset: GetSetEntry[] = [];
    if (gr) {
      const g = this.getsetAt(gr.address);
      if (!g) return null;
      getset = g;
    }
    const base = img.dataRef(t + TYPE.tp_base);
    if (base === undefined) return null;
    if (!this.suiteSlots(suiteAddrs, slots, suites)) return null;
    return {
      address: t,
      source: 'static',
      name,
      basicsize,
      itemsize,
      flags,
      slots,
      suites,
      methods,
      getset,
      base: base ?? undefined,
    };
  }
  /** The fixed fields of a candidate static type object at `t`, validated; null when one is not plausible. */
  private typeHeader(t: number): { name: string; basicsize: number; itemsize: number; flags: number } | null {
    const img = this.img;
    if (t < 0 || img.relocs.has(t)) return null;
    const refcnt = img.raw64(t);
    if (refcnt === undefined || refcnt < 1 || refcnt > 0xffff_ffff) return null;
    if (img.int64(t + 16) !== 0) return null; // ob_size
    if (img.dataRef(t + 8) === undefined) return null; // ob_type: NULL or &PyType_Type (or a metatype)
    // The whole object through tp_finalize must lie in the same data chunk.
    if (img.raw64(t + TYPE_MIN_SIZE - 8) === undefined || !sameChunk(img, t, t + TYPE_MIN_SIZE - 1)) return null;
    const np = img.ptr(t + TYPE.tp_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    const basicsize = img.smallSigned(t + TYPE.tp_basicsize);
    const itemsize = img.smallSigned(t + TYPE.tp_itemsize);
    if (basicsize === undefined || basicsize < 0 || basicsize > 1 << 24) return null;
    if (itemsize === undefined || itemsize < 0 || itemsize > 1 << 16) return null;
    const vco = img.smallSigned(t + TYPE.tp_vectorcall_offset);
    if (vco === undefined || vco < 0 || vco > 1 << 24) return null;
    const flags = img.int64(t + TYPE.tp_flags);
    if (flags === undefined || flags > 0xffff_ffff) return null;
    if (!img.optionalString(t + TYPE.tp_doc)) return null;
    for (const f of ['tp_weaklistoffset', 'tp_dictoffset'] as const) {
      const v = img.smallSigned(t + TYPE[f]);
      if (v === undefined || Math.abs(v) > 1 << 24) return null;
    }
    // Runtime-only fields are NULL in the file.
    for (const f of ['tp_dict', 'tp_bases', 'tp_mro', 'tp_cache', 'tp_subclasses', 'tp_weaklist'] as const) if (!img.isZero(t + TYPE[f], 8)) return null;
    return { name, basicsize, itemsize, flags };
  }

  /** Reads the slot suites into `slots` and `suites`: every field a function pointer or NULL; false when one is not. */
  private suiteSlots(suiteAddrs: Array<[Exclude<SlotSuite, 'type'>, number]>, slots: Map<string, CodeRef>, suites: TypeInfo['suites']): boolean {
    const img = this.img;
    for (const [suite, addr] of suiteAddrs) {
      for (const [n, off] of SUITE_OFFSETS[suite]) {
        // am_send is new in 3.10: an older module's PyAsyncMethods ends before it.
        if (suite === 'async' && n === 'am_send' && !sameChunk(img, addr, addr + off + 7)) continue;
        const c = img.code(addr + off);
        if (c === undefined) {
          if (suite === 'async' && n === 'am_send') continue;
          return false;
        }
        if (c) slots.set(n, c);
      }
      suites[suite] = addr;
    }
    return true;
  }


  /** An _inittab entry {name, initfunc} at `a` (initfunc may be NULL), or null. */
  inittabEntry(a: number): InittabEntry | null {
    const img = this.img;
    const np = img.ptr(a);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !IDENT.test(name)) return null;
    const init = img.code(a + 8);
    if (init === undefined) return null;
    return { address: a, name, init: init ?? undefined };
  }

  /** A NULL-name-terminated PyGetSetDef array at `a`, or null. */
  getsetAt(a: number): GetSetEntry[] | null {
    const img = this.img;
    const out: GetSetEntry[] = [];
    for (let i = 0; i < MAX_GETSET; i++) {
      const g = a + i * GETSETDEF.size;
      const np = img.ptr(g + GETSETDEF.name);
      if (np === 0) return out;
      if (np < 0) return null;
      const name = img.cstring(np);
      if (name === null || !IDENT.test(name)) return null;
      const get = img.code(g + GETSETDEF.get);
      const set = img.code(g + GETSETDEF.set);
      if (get === undefined || set === undefined) return null;
      if (!img.optionalString(g + GETSETDEF.doc)) return null;
      out.push({ address: g, name, get: get ?? undefined, set: set ?? undefined });
    }
    return null;
  }

  /** A PyType_Spec at `s`, or null. */
  typeSpec(s: number): TypeInfo | null {
    const img = this.img;
    const np = img.ptr(s + TYPE_SPEC.name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    if (img.relocs.has(s + TYPE_SPEC.basicsize) || img.relocs.has(s + TYPE_SPEC.flags)) return null;
    const bs = img.raw32(s + TYPE_SPEC.basicsize);
    const is = img.raw32(s + TYPE_SPEC.itemsize);
    const flags = img.raw32(s + TYPE_SPEC.flags);
    const pad = img.raw32(s + TYPE_SPEC.flags + 4);
    if (bs === undefined || is === undefined || flags === undefined || pad !== 0) return null;
    const basicsize = bs | 0;
    const itemsize = is | 0;
    if (Math.abs(basicsize) > 1 << 24 || Math.abs(itemsize) > 1 << 16) return null;
    const sp = img.ptr(s + TYPE_SPEC.slots);
    if (sp <= 0 || !img.isData(sp)) return null;
    const slots = new Map<string, CodeRef>();
    let methods: MethodTable | undefined;
    let getset: GetSetEntry[] = [];
    let base: CodeRef | undefined;
    let count = 0;
    let ok = false;
    for (let i = 0; i < MAX_SPEC_SLOTS; i++) {
      const e = sp + i * TYPE_SLOT.size;
      if (img.relocs.has(e)) return null;
      const id = img.raw32(e);
      const epad = img.raw32(e + 4);
      if (id === undefined || epad !== 0) return null;
      if (id === 0) {
        ok = img.ptr(e + TYPE_SLOT.pfunc) === 0;
        break;
      }
      const slot = TYPESLOT_NAMES.get(id);
      if (!slot) return null;
      const at = e + TYPE_SLOT.pfunc;
      if (slot === 'tp_doc') {
        if (!img.optionalString(at)) return null;
      } else if (slot === 'tp_methods') {
        const r = img.dataRef(at);
        if (!r || r.kind !== 'local') return null;
        const t = this.tableAt(r.address);
        if (!t) return null;
        methods = t;
      } else if (slot === 'tp_getset') {
        const r = img.dataRef(at);
        if (!r || r.kind !== 'local') return null;
        const g = this.getsetAt(r.address);
        if (!g) return null;
        getset = g;
      } else if (slot === 'tp_members' || slot === 'tp_bases') {
        if (img.dataRef(at) === undefined) return null;
      } else if (slot === 'tp_base') {
        const r = img.dataRef(at);
        if (r === undefined) return null;
        base = r ?? undefined;
      } else {
        const c = img.code(at);
        if (c === undefined) return null;
        if (c) slots.set(slot, c);
      }
      count++;
    }
    if (!ok || count === 0) return null;
    return { address: s, source: 'spec', name, basicsize, itemsize, flags, slots, suites: {}, methods, getset, base };
  }
}

const SUITE_ORDER: Record<Exclude<SlotSuite, 'type'>, readonly string[]> = {
  number: NUMBER_SLOTS,
  sequence: SEQUENCE_SLOTS,
  mapping: ['mp_length', 'mp_subscript', 'mp_ass_subscript'],
  async: ['am_await', 'am_aiter', 'am_anext', 'am_send'],
  buffer: ['bf_getbuffer', 'bf_releasebuffer'],
};

/** Per suite: [slot name, offset] for every function slot, in field order. */
const SUITE_OFFSETS = Object.fromEntries(
  (Object.keys(SUITE_ORDER) as Array<Exclude<SlotSuite, 'type'>>).map((suite) => [
    suite,
    suiteSlots(suite).map((n) => [n, SUITE_ORDER[suite].indexOf(n) * 8] as [string, number]),
  ]),
) as Record<Exclude<SlotSuite, 'type'>, Array<[string, number]>>;

function sameChunk(img: LinkImage, a: number, b: number): boolean {
  return img.raw32(a) !== undefined && img.raw32(b - 3) !== undefined && chunkStart(img, a) === chunkStart(img, b - 3);
}

function chunkStart(img: LinkImage, a: number): number | undefined {
  for (const c of img.data) if (a >= c.start && a < c.end) return c.start;
  return undefined;
}
