// Discovery of CPython's native tables in an ELF file: PyMethodDef arrays (and Cython's lone entries),
// PyModuleDef (single- and multi-phase), static PyTypeObject instances with their slot suites, tp_methods and
// tp_getset, and PyType_Spec (heap types). Pointers are read through the dynamic relocations in shared objects
// and as link-time values in non-PIE executables; every candidate is validated field by field. Cached per file.
// The image is elf/linkImage.ts, the validators cpython/discoverer.ts, the result types cpython/tableTypes.ts.

import * as fs from 'node:fs';
import { openFileSource } from '../elf/byteSource';
import { ElfFile } from '../elf/elfFile';
import { DOTTED, LinkImage } from '../elf/linkImage';
import { NativeError } from '../errors';
import { METHODDEF, MODULEDEF, TYPE, versionFromFileName } from './abi';
import { Discoverer, MAX_TABLE } from './discoverer';
import { PythonTables, type DiscoveryStats, type InittabEntry, type MethodEntry, type MethodTable, type ModuleDefInfo, type TypeInfo } from './tableTypes';

export type { CodeRef } from '../elf/linkImage';
export * from './tableTypes';

/**
 * Discovers the Python tables of an ELF file. Never throws for odd data (candidates that fail validation are
 * skipped); throws NativeError only when the file's own structure (relocations, sections) cannot be read.
 */
export function discoverTables(elf: ElfFile, file: string = elf.name): PythonTables {
  const t0 = performance.now();
  const img = new LinkImage(elf);
  const d = new Discoverer(img);
  const nameSlots = img.nameSlots(DOTTED);
  let scanned = 0;
  for (const c of img.scanChunks()) scanned += c.bytes.length;

  // PyMethodDef entries, grouped into zero-terminated arrays; the rest are standalone.
  const entries: MethodEntry[] = [];
  for (const p of nameSlots) {
    const e = d.entry(p);
    if (e) entries.push(e);
  }
  const tables: MethodTable[] = [];
  const standalone: MethodEntry[] = [];
  for (let i = 0; i < entries.length; ) {
    let j = i + 1;
    while (j < entries.length && entries[j].address === entries[j - 1].address + METHODDEF.size) j++;
    const run = entries.slice(i, j);
    const after = run[run.length - 1].address + METHODDEF.size;
    if (img.isZero(after, METHODDEF.size)) tables.push({ address: run[0].address, entries: run });
    else standalone.push(...run);
    i = j;
  }
  const tableByAddr = new Map(tables.map((t) => [t.address, t]));

  const moduleDefs: ModuleDefInfo[] = [];
  const types: TypeInfo[] = [];
  const seenTypes = new Set<number>();
  for (const p of nameSlots) {
    const m = d.moduleDef(p - MODULEDEF.m_name);
    if (m) moduleDefs.push(m);
    const t = d.typeObject(p - TYPE.tp_name);
    if (t && !seenTypes.has(t.address)) {
      seenTypes.add(t.address);
      types.push(t);
    }
    const s = d.typeSpec(p);
    if (s && !seenTypes.has(s.address)) {
      seenTypes.add(s.address);
      types.push(s);
    }
  }
  // Tables referenced by definitions are tables even when the scan saw them as a run (e.g. an empty one).
  for (const def of [...moduleDefs.map((m) => m.methods), ...types.map((t) => t.methods)]) {
    if (def && !tableByAddr.has(def.address)) {
      tableByAddr.set(def.address, def);
      tables.push(def);
    }
  }
  tables.sort((a, b) => a.address - b.address);
  const inTable = new Set<number>();
  for (const t of tables) for (const e of t.entries) inTable.add(e.address);
  const lone = standalone.filter((e) => !inTable.has(e.address));

  // Built-in module tables: runs of at least 4 {name, PyInit} pairs ending with a zero pair, with at least
  // one PyInit function (the interpreter's _PyImport_Inittab).
  const inittab: InittabEntry[] = [];
  const slotSet = new Set(nameSlots);
  for (const p of nameSlots) {
    if (slotSet.has(p - 16) && d.inittabEntry(p - 16)) continue; // not the start of a run
    const run: InittabEntry[] = [];
    for (let q = p; run.length < MAX_TABLE; q += 16) {
      const e = d.inittabEntry(q);
      if (!e) {
        if (run.length >= 4 && img.isZero(q, 16) && run.some((x) => x.init)) inittab.push(...run);
        break;
      }
      run.push(e);
    }
  }

  const stats: DiscoveryStats = { ms: performance.now() - t0, scannedBytes: scanned, nameSlots: nameSlots.length };
  return new PythonTables(file, versionFromFileName(file), tables, lone, moduleDefs, types, inittab, stats);
}

/**
 * Discovery results by file identity (device, inode, size, mtime, path); bounded, least recently used dropped
 * first. The bound is far above one process's modules: resolution scans every loaded extension in the same
 * order again and again, so a bound below their number (162 in the xgboost workload) drops each file just
 * before it is asked for again, and every scan rediscovers all of them.
 */
const cache = new Map<string, PythonTables>();
const CACHE_FILES = 2048;

/**
 * A second level of the discovery cache (trace/tablesStore.ts keeps one on disk): asked for a file the first
 * time this process needs its tables, and told of every file discovered here.
 */
export interface TablesStore {
  load(identity: string, file: string): PythonTables | undefined;
  discovered(identity: string, file: string, tables: PythonTables): void;
}

/** discoverTables, cached by a file identity such as ModuleImage.identity (and in `store`, when given). */
export function cachedTables(elf: ElfFile, identity: string, file: string = elf.name, store?: TablesStore): PythonTables {
  const hit = cache.get(identity);
  if (hit) {
    cache.delete(identity);
    cache.set(identity, hit);
    return hit;
  }
  let t: PythonTables | undefined;
  try {
    t = store?.load(identity, file);
  } catch {
    t = undefined;
  }
  if (!t) {
    t = discoverTables(elf, file);
    store?.discovered(identity, file, t);
  }
  if (cache.size >= CACHE_FILES) cache.delete(cache.keys().next().value as string);
  cache.set(identity, t);
  return t;
}

/** Drops cached discovery results (for benchmarks that measure cold runs). */
export function clearTablesCache(): void {
  cache.clear();
}

/** The identity key of a file on disk, as the address spaces compute it. */
export function fileIdentity(file: string): string {
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(file);
    st = fs.statSync(real);
  } catch (e) {
    throw new NativeError('io', `${file} cannot be read: ${(e as Error).message}`, { subject: file, cause: e });
  }
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${real}`;
}

/** Opens a file, discovers its tables (cached by identity) and closes it. */
export function discoverFile(file: string): PythonTables {
  const id = fileIdentity(file);
  const hit = cache.get(id);
  if (hit) return hit;
  const elf = ElfFile.open(openFileSource(file), file);
  try {
    return cachedTables(elf, id, file);
  } finally {
    elf.close();
  }
}
