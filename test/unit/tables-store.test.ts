// The discovered-tables store on disk (native/src/trace/tablesStore.ts): a new process reads a module's Python
// tables (method tables, module definitions, types) from it instead of discovering them again, and never reads
// what another engine build or another version of the file stored.

import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openFileSource } from '../../native/src/elf/byteSource';
import { ElfFile } from '../../native/src/elf/elfFile';
import { type PythonTables, cachedTables, clearTablesCache } from '../../native/src/cpython/tables';
import { fileIdentityOf } from '../../native/src/space/space';
import { DiskTablesStore } from '../../native/src/trace/tablesStore';
import { DEBIAN_INCLUDE, buildPyext } from './python-helpers';
import { skipUnless } from '../helpers/skip';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-tables-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** What discovery found (the fields; the lazily built lookups aside). */
function fields(t: PythonTables) {
  return { file: t.file, version: t.version, methodTables: t.methodTables, standalone: t.standaloneMethods, moduleDefs: t.moduleDefs, types: t.types, inittab: t.inittab, stats: t.stats };
}

/** The tables of `file` through cachedTables with `store`, the in-process cache emptied first (a new process). */
function tablesIn(file: string, store: DiskTablesStore) {
  clearTablesCache();
  const elf = ElfFile.open(openFileSource(file));
  try {
    return cachedTables(elf, fileIdentityOf(fs.statSync(file)), file, store);
  } finally {
    elf.close();
    clearTablesCache();
  }
}

test('a second process reads the tables it stored, equal to a discovery; another build or a changed file does not', { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, () => {
  const file = path.join(tmp, 'pyext_kernels.so');
  fs.copyFileSync(buildPyext(DEBIAN_INCLUDE, 'tables-store').file, file);
  const base = path.join(tmp, 'cache');

  const first = new DiskTablesStore(base, 'engine-a');
  const discovered = tablesIn(file, first);
  assert.ok(discovered.types.length > 0 && discovered.methodTables.length > 0, 'the fixture has types and method tables');
  assert.equal(first.stats.loaded, 0);
  first.save();
  assert.equal(first.stats.saved, 1);

  const second = new DiskTablesStore(base, 'engine-a');
  const loaded = tablesIn(file, second);
  assert.equal(second.stats.loaded, 1, 'read from the disk');
  assert.deepEqual(fields(loaded), fields(discovered));
  // The lookups built from the fields work on the loaded copy (a type's own method table is shared with the list).
  const t = discovered.types[0];
  assert.deepEqual(loaded.typesNamed(t.name), discovered.typesNamed(t.name));
  second.save();
  assert.equal(second.stats.saved, 0, 'nothing new to write');

  // Another engine build never reads them.
  const other = new DiskTablesStore(base, 'engine-b');
  tablesIn(file, other);
  assert.equal(other.stats.loaded, 0);

  // A changed file (a new mtime: a new identity) is discovered again.
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  const third = new DiskTablesStore(base, 'engine-a');
  assert.deepEqual(fields(tablesIn(file, third)).types, fields(discovered).types);
  assert.equal(third.stats.loaded, 0);
});
