// The discovered-tables store on disk (native/src/trace/tablesStore.ts): a new process reads a module's Python
// tables (method tables, module definitions, types) and the names its C code may look up from it instead of working
// them out again, and never reads what another engine build or another version of the file stored.

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
import { cCallableNames } from '../../native/src/trace/pythonRoots';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { DEBIAN_INCLUDE, buildPyext, startPython } from './python-helpers';
import { DEBIAN_PYTHON } from '../helpers/fixtures';
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

test('the names C code may look up are worked out once per file: a new process reads them with the tables, the same names', { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, async () => {
  const ext = buildPyext(DEBIAN_INCLUDE, 'tables-store-names');
  const { proc } = await startPython(DEBIAN_PYTHON, 'import pyext_kernels\nprint(json.dumps({}))', [ext.dir]);
  const base = path.join(tmp, 'names-cache');
  /** cCallableNames of the process with a new store (and the in-process cache emptied: a new process). */
  const namesWith = (store?: DiskTablesStore) => {
    clearTablesCache();
    const view = new ProcessView(proc.pid);
    try {
      return cCallableNames(new ProcessAddressSpace(view), store);
    } finally {
      view.close();
      clearTablesCache();
    }
  };
  try {
    const fresh = namesWith();
    assert.ok(fresh.size > 100, `the interpreter and the extension's read-only strings give names: ${fresh.size}`);
    const first = new DiskTablesStore(base, 'engine-a');
    assert.deepEqual(namesWith(first), fresh);
    first.save();
    assert.ok(first.stats.saved > 0, 'the tables and their names were written');
    // A new process: every file's tables come from the disk, with their names, and give the same answer.
    const second = new DiskTablesStore(base, 'engine-a');
    assert.deepEqual(namesWith(second), fresh);
    assert.equal(second.stats.loaded, first.stats.saved, 'every file read from the disk');
    const kernels = tablesIn(ext.file, second);
    assert.ok(kernels.lookupNames && kernels.lookupNames.length > 0, 'the extension\'s names are stored with its tables');
    second.save();
    assert.equal(second.stats.saved, 0, 'nothing new to write: the names were read, not worked out');
  } finally {
    await proc.stop();
  }
});
