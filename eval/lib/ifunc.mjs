// The widened oracle: the IFUNC-selected variants a live process calls (glibc's string functions and the like,
// chosen for this CPU by their resolvers and bound in GOT slots), and the features of their whole bodies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine } from './engine.mjs';

const hex = (n) => `0x${n.toString(16)}`;

/**
 * The name of the STT_GNU_IFUNC symbol of module `m` whose resolver is at link-time `resolver` (the addend of
 * an IRELATIVE relocation), or undefined.
 */
function ifuncNameForResolver(m, resolver, cache) {
  let map = cache.get(m);
  if (!map) {
    const { STT_GNU_IFUNC } = engine().elfConstants;
    map = new Map();
    for (const s of [...m.elf.dynamicSymbols(), ...m.elf.symtabSymbols()]) {
      if (s.type === STT_GNU_IFUNC && s.defined && s.name && !map.has(s.value)) map.set(s.value, s.name.replace(/@.*$/, ''));
    }
    cache.set(m, map);
  }
  return map.get(resolver);
}

/**
 * For a GOT slot relocation of module `m`, whether the dynamic linker bound it to the pick of an IFUNC resolver,
 * and which IFUNC: an IRELATIVE slot always is (the addend is the resolver); a JUMP_SLOT or GLOB_DAT slot is when
 * its symbol, looked up (with its version) in the module that defines the slot's live value, is STT_GNU_IFUNC
 * and the value is not the resolver itself. Returns the IFUNC's name, or undefined.
 */
function boundIfunc(space, m, rel, value, cache) {
  const C = engine().elfConstants;
  if (rel.type === C.R_X86_64_IRELATIVE) return ifuncNameForResolver(m, rel.addend, cache) ?? `IRELATIVE ${path.basename(m.path)}+${hex(rel.addend)}`;
  if (rel.type !== C.R_X86_64_JUMP_SLOT && rel.type !== C.R_X86_64_GLOB_DAT) return undefined;
  const name = rel.symbol?.name;
  const d = space.regionAt(value)?.module;
  if (!name || !d) return undefined;
  const def = (rel.symbol.version && d.elf.lookupSymbol(`${name}@${rel.symbol.version.name}`)) || d.elf.lookupSymbol(name);
  if (!def || def.type !== C.STT_GNU_IFUNC || def.value + d.bias === value) return undefined;
  return name;
}

/**
 * Every live GOT slot bound to an IFUNC resolver's pick, grouped by the pick (runtime address): the IFUNC
 * names and the slots (module, runtime address, relocation type). Slots that cannot be read, or whose value
 * lies in no executable region of a module, are left out.
 */
export function ifuncBindings(space) {
  const picks = new Map();
  const cache = new Map();
  const notes = [];
  for (const m of space.modules()) {
    let rels;
    try {
      rels = m.elf.gotSlotRelocations();
    } catch (e) {
      notes.push(`${m.path}: relocations unreadable (${e.message})`);
      continue;
    }
    for (const rel of rels.values()) {
      const slot = rel.offset + m.bias;
      const value = space.readPointer(slot);
      if (!value) continue;
      const region = space.regionAt(value);
      if (!region?.exec || !region.module) continue;
      const ifunc = boundIfunc(space, m, rel, value, cache);
      if (!ifunc) continue;
      let p = picks.get(value);
      if (!p) picks.set(value, (p = { address: value, module: region.module, ifuncs: new Set(), slots: [] }));
      p.ifuncs.add(ifunc);
      p.slots.push({ module: m.path, slot, type: rel.typeName });
    }
  }
  return { picks, notes };
}

/** True when link-time address `link` lies in a PLT section (a stub, not a body: the GOT slot decides where it goes). */
function inPlt(elf, link) {
  return ['.plt', '.plt.got', '.plt.sec'].some((name) => {
    const sec = elf.section(name);
    return sec !== undefined && sec.addr <= link && link < sec.addr + sec.size;
  });
}

/** Link-time starts of the functions module `d` exports (.dynsym, defined, global or weak): API entry points. */
function exportedStarts(d, cache) {
  let set = cache.get(d);
  if (!set) {
    const C = engine().elfConstants;
    set = new Set();
    for (const s of d.elf.dynamicSymbols()) {
      if (s.defined && (s.type === C.STT_FUNC || s.type === C.STT_GNU_IFUNC) && (s.bind === C.STB_GLOBAL || s.bind === C.STB_WEAK)) set.add(s.value);
    }
    cache.set(d, set);
  }
  return set;
}

/** The function extent control reaches by running off link-time `end`: the next one, after nothing but NOPs. */
function fallThrough(d, end) {
  const { decodeOne } = engine();
  const nop = decodeOne(Uint8Array.of(0x90)).info.mnemonic;
  const next = d.elf.functions().find((f) => f.start >= end);
  if (!next || next.start - end > 64) return undefined;
  for (let a = end; a < next.start; ) {
    const bytes = d.elf.tryReadVirtual(a, Math.min(15, next.start - a));
    const ins = bytes && decodeOne(bytes, a);
    if (!ins || ins.info.mnemonic !== nop) return undefined;
    a += ins.length;
  }
  return next;
}

/**
 * The body of the variant starting at link-time `start` of module `d`: its extent (symbol or .eh_frame) and,
 * transitively, the extents its direct jumps (not calls) enter, unless the module exports that function (a tail
 * call into another API function such as __chk_fail is not this body). glibc's variants share code this way:
 * __mempcpy_*_erms sets its return value and jumps into __memmove_*_erms; __strcspn_sse42 falls back to
 * __strcspn_generic. Returns link-time [start, end) ranges, entry first.
 */
function bodyExtents(d, start, cache) {
  const { CodeDecoder, Flow } = engine();
  const entry = d.elf.functionAt(start);
  if (!entry) return [];
  const exported = exportedStarts(d, cache);
  const out = [];
  const seen = new Set();
  const work = [entry];
  const dec = new CodeDecoder();
  try {
    while (work.length) {
      const x = work.pop();
      if (seen.has(x.start)) continue;
      seen.add(x.start);
      out.push({ start: x.start, end: x.end, name: x.name });
      const bytes = d.elf.tryReadVirtual(x.start, x.end - x.start);
      if (!bytes) continue;
      let last;
      dec.decodeLinear(bytes, x.start, (v) => {
        const f = (last = v.info.flow);
        if (f !== Flow.UnconditionalBranch && f !== Flow.ConditionalBranch) return;
        const t = v.directTarget();
        if (t === undefined || (t >= x.start && t < x.end) || inPlt(d.elf, t)) return;
        const next = d.elf.functionAt(t);
        if (next && !seen.has(next.start) && !exported.has(next.start)) work.push(next);
      });
      // An entry that ends without a jump or return runs on into the code after it, over alignment padding:
      // __memmove_chk_*'s size check falls through into __memmove_*.
      if (last === Flow.Next || last === Flow.ConditionalBranch) {
        const next = fallThrough(d, x.end);
        if (next && !seen.has(next.start)) work.push(next);
      }
    }
  } finally {
    dec.free();
  }
  return out;
}

/** The GNU build-id of an ELF file as hex, or undefined. */
function buildId(elf) {
  const sec = elf.section('.note.gnu.build-id');
  if (!sec) return undefined;
  const b = elf.sectionData(sec);
  if (b.length < 16) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const namesz = dv.getUint32(0, true);
  const descsz = dv.getUint32(4, true);
  const off = 12 + ((namesz + 3) & ~3);
  if (off + descsz > b.length) return undefined;
  return Buffer.from(b.subarray(off, off + descsz)).toString('hex');
}

/**
 * Names of a stripped module's functions from its separate debug file (/usr/lib/debug/.build-id/xx/rest.debug,
 * Debian's -dbg packages), link-time start → name; empty when there is none. For the report only.
 */
function debugNames(d, cache) {
  if (cache.has(d.path)) return cache.get(d.path);
  const names = new Map();
  cache.set(d.path, names);
  const id = buildId(d.elf);
  const file = id && path.join('/usr/lib/debug/.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
  if (!file || !fs.existsSync(file)) return names;
  const { openElf, elfConstants: C } = engine();
  let dbg;
  try {
    dbg = openElf(file);
    for (const s of dbg.symtabSymbols()) if (s.type === C.STT_FUNC && s.defined && s.name && !names.has(s.value)) names.set(s.value, s.name);
  } catch {
    /* an unreadable debug file only costs the names */
  } finally {
    dbg?.close();
  }
  return names;
}

/** Sorted runtime addresses → how many lie in [start, end). */
function countIn(sorted, start, end) {
  const lower = (x) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return lower(end) - lower(start);
}

/** Runtime GOT slot → how many executed instructions of PLT stubs jump through it (from decodeTrace's instructions). */
function pltSlotsRun(space, instructions) {
  const out = new Map();
  for (const ins of instructions) {
    if (!ins.plt) continue;
    const m = space.regionAt(ins.address)?.module;
    if (!m) continue;
    const link = ins.address - m.bias;
    const stub = m.elf.pltStubs().find((s) => link >= s.address && link < s.address + s.size);
    if (stub) out.set(stub.gotSlot + m.bias, (out.get(stub.gotSlot + m.bias) ?? 0) + 1);
  }
  return out;
}

/**
 * The widened oracle over decodeTrace's result: every IFUNC-selected variant bound in a live GOT slot that the
 * oracle saw called — an instruction of its entry function executed, or a PLT stub through one of its slots did
 * — with the features of its whole body (every instruction of its extent and of the internal extents its direct
 * jumps enter or it falls through into, see bodyExtents: other arguments take other paths through it). Variants
 * bound but not seen are listed with `seen` 0 and add nothing. Features are raw (the caller intersects them with
 * the source and removes the baseline). Names come from the symbol table, else from a separate debug file.
 */
export function ifuncVariants(decoded) {
  const { describeSite, CodeDecoder } = engine();
  const space = decoded.space;
  const { picks, notes } = ifuncBindings(space);
  const executed = decoded.instructions.map((i) => i.address).sort((a, b) => a - b);
  const viaPlt = pltSlotsRun(space, decoded.instructions);
  const names = new Map();
  const exportCache = new Map();
  /** @type {Map<string, {count: number, sites: object[], functions: Map<string, number>}>} */
  const features = new Map();
  const variants = [];
  const dec = new CodeDecoder();
  try {
    for (const p of [...picks.values()].sort((a, b) => a.address - b.address)) {
      const d = p.module;
      const bias = d.bias;
      const body = bodyExtents(d, p.address - bias, exportCache);
      const entry = body[0];
      const inBody = entry ? countIn(executed, entry.start + bias, entry.end + bias) : 0;
      const plt = p.slots.reduce((s, x) => s + (viaPlt.get(x.slot) ?? 0), 0);
      const label = `${path.basename(d.path)}+${hex(p.address - bias)}`;
      const v = {
        variant: label,
        address: hex(p.address),
        name: entry?.name ?? debugNames(d, names).get(p.address - bias) ?? null,
        ifuncs: [...p.ifuncs].sort(),
        slots: p.slots.map((s) => ({ module: path.basename(s.module), type: s.type })),
        extents: body.map((x) => `${hex(x.start)}-${hex(x.end)}`),
        seen: { instructions: inBody, pltStubs: plt },
        features: [],
      };
      variants.push(v);
      if (inBody === 0 && plt === 0) continue;
      const own = new Set();
      const key = v.name ? `${label} (${v.name})` : label;
      for (const x of body) {
        const bytes = d.elf.tryReadVirtual(x.start, x.end - x.start);
        if (!bytes) continue;
        dec.decodeLinear(bytes, x.start + bias, (ins) => {
          for (const f of ins.info.features) {
            own.add(f);
            let ev = features.get(f);
            if (!ev) features.set(f, (ev = { count: 0, sites: [], functions: new Map() }));
            ev.count++;
            ev.functions.set(key, (ev.functions.get(key) ?? 0) + 1);
            if (ev.sites.length < 3) ev.sites.push({ ...describeSite(space, ins.ip), at: `${path.basename(d.path)}+${hex(ins.ip - bias)}`, variant: v.name ?? label, ifunc: v.ifuncs.join('/') });
          }
        });
      }
      v.features = [...own].sort();
    }
  } finally {
    dec.free();
  }
  return { variants, features, notes };
}
