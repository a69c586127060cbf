// The io classes' bases, which the interpreter links at start-up (not in its files): LINKED_BASES must say what
// every CPython 3.8–3.13 on the machine says (`__base__`), and a method a file object inherits from `_io._IOBase`
// (`__exit__`, `readlines`) must resolve at rest to the base's own function, as it does in a live process. And
// `_io.open` (what `open` is) resolves at rest in each: 3.8's PyInit__io reaches its PyModuleDef, named "io", through
// the GOT.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { LINKED_BASES } from '../../native/src/resolve/resolveTypes';
import { resolveNative, resolverFor, type NativeResolution } from '../../native/src/resolve/resolve';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { DEBIAN_PYTHON } from '../helpers/fixtures';
import { findPython } from '../helpers/pyenv';

/** Debian's python3 and every pyenv CPython 3.8–3.13 present. */
function interpreters(): string[] {
  const out = [DEBIAN_PYTHON];
  for (const v of ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13']) {
    const p = findPython(v);
    if (p) out.push(p);
  }
  return out;
}

/** tp_name → tp_name of its base, for every class of `_io` whose base is not `object`, as the interpreter has them. */
function liveBases(python: string): Record<string, string> {
  const code = [
    'import _io, json',
    'name = lambda c: c.__module__ + "." + c.__qualname__',
    'print(json.dumps({name(c): name(c.__base__) for c in vars(_io).values() if isinstance(c, type) and c.__base__ is not object and c.__module__ == "_io"}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', code], { encoding: 'utf8' })) as Record<string, string>;
}

function targetsOf(r: NativeResolution): number[] {
  assert.equal(r.status, 'resolved', r.status === 'unresolved' ? `${r.code}: ${r.reason}` : '');
  return (r as Extract<NativeResolution, { status: 'resolved' }>).targets.map((t) => t.address);
}

for (const python of interpreters()) {
  test(`the io classes' linked bases, an inherited method and _io.open at rest: ${python}`, () => {
    const live = liveBases(python);
    // Every io class the interpreter gives a base other than object is in the table, with that base (no
    // exception class: those are not _io's).
    for (const [type, base] of Object.entries(live)) {
      if (/Error$|Exception$/.test(type)) continue;
      assert.equal(LINKED_BASES[type], base, `${type}: the interpreter's base is ${base}`);
    }
    for (const [type, base] of Object.entries(LINKED_BASES)) assert.equal(live[type], base, `${type} in the table`);

    const space = new StaticAddressSpace([python]);
    try {
      for (const [type, name] of [
        ['_io.TextIOWrapper', '__exit__'],
        ['_io.BufferedReader', 'readlines'],
        ['_io.FileIO', '__enter__'],
      ]) {
        const inherited = resolveNative(space, { kind: 'method', type, name });
        const own = resolveNative(space, { kind: 'method', type: '_io._IOBase', name });
        assert.deepEqual(targetsOf(inherited), targetsOf(own), `${type}.${name} is _io._IOBase's`);
        assert.ok(inherited.status === 'resolved' && inherited.notes.some((n) => n.includes(`${name} is inherited from _io._IOBase`)), JSON.stringify(inherited));
      }
      const open = resolveNative(space, { kind: 'module-function', module: '_io', name: 'open' });
      assert.equal(targetsOf(open).length, 1);
      // A method the class defines itself stays its own.
      const own = targetsOf(resolveNative(space, { kind: 'method', type: '_io.TextIOWrapper', name: 'readline' }));
      assert.notDeepEqual(own, targetsOf(resolveNative(space, { kind: 'method', type: '_io._IOBase', name: 'readline' })));
    } finally {
      resolverFor(space).close();
      space.close();
    }
  });
}
