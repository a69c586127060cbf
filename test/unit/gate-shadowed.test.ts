// Dead top-level definitions in the precise root policy's reachability (server/src/gateShadowed.ts): a stdlib
// module's own class or function that its C accelerator binds over (operator.py's attrgetter under `from _operator
// import *`) is reached by no name, unless something could hand it out or have kept it (object.__subclasses__(), a
// load by the module's body). Real interpreters: Debian's python3 and each pyenv CPython.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { bytecodeTracking } from '../../server/src/bytecode';
import type { ProgramModule } from '../../server/src/bytecode/naming';
import { shadowedDefinitions } from '../../server/src/gateShadowed';
import { pythonReachability } from '../../server/src/pythonGate';
import { DEBIAN_PYTHON, FIXTURE_SRC } from '../helpers/fixtures';
import { pyenvInterpreters } from './python-helpers';

const GATE = path.join(FIXTURE_SRC, 'python', 'gate');

async function reachOf(script: string, python = DEBIAN_PYTHON) {
  const file = path.join(GATE, script);
  const tracking = await bytecodeTracking({ python, files: [file], followImports: true, cacheDir: null });
  return pythonReachability(tracking, { files: [file], exhaustive: true });
}

const operatorSites = (sites: string[]) => sites.filter((s) => / at operator\.py:\d+/.test(s));

for (const python of [{ label: 'Debian python3', executable: DEBIAN_PYTHON }, ...pyenvInterpreters().map((i) => ({ label: `Python ${i.version}`, executable: i.python }))]) {
  test(`shadowed: operator.py's own attrgetter is dead under _operator's, so its computed getattr forces no fallback (${python.label})`, async () => {
    const reach = await reachOf('shadow_attrgetter.py', python.executable);
    assert.deepEqual(operatorSites(reach.reflections), [], 'no reflection site in operator.py');
    assert.equal(reach.strictReason, undefined, `precise: ${reach.strictReason}`);
    for (const m of ['__init__', '__call__']) assert.ok(!reach.whyCode.has(`operator:attrgetter.${m}`), `attrgetter.${m} is not reachable: ${reach.whyCode.get(`operator:attrgetter.${m}`)}`);
    assert.match(reach.notes.join('\n'), /top-level definition\(s\) of standard-library modules are dead, bound over by C code/);
  });
}

test('shadowed: object.__subclasses__() can hand out the class before the collector frees it: its methods and their reflection stay', async () => {
  const reach = await reachOf('shadow_subclasses.py');
  assert.ok(reach.whyCode.has('operator:attrgetter.__init__'), 'attrgetter.__init__ reachable');
  assert.ok(operatorSites(reach.reflections).length > 0, `operator.py's getattr by a computed name is a site: ${reach.reflections.join('; ')}`);
  assert.ok(reach.strictReason);
});

test('shadowed: a definition the module body loads (operator.py\'s `__add__ = add`) stays reachable by the alias', async () => {
  const reach = await reachOf('shadow_alias.py');
  assert.ok(reach.whyCode.has('operator:add'), `operator.py's add reachable: ${[...reach.whyCode.keys()].filter((k) => k.startsWith('operator:')).slice(0, 8).join(', ')}`);
});

for (const python of [{ label: 'Debian python3', executable: DEBIAN_PYTHON }, ...pyenvInterpreters().map((i) => ({ label: `Python ${i.version}`, executable: i.python }))]) {
  test(`__all__: the strings a module body only puts in __all__ name nothing; the same string loaded for more still does (${python.label})`, async () => {
    const reach = await reachOf('all_prog.py', python.executable);
    for (const f of ['exported_only', 'exported_too', 'appended', 'extended']) assert.ok(!reach.whyCode.has(`all_lib:${f}`), `all_lib.${f} is not reachable: ${reach.whyCode.get(`all_lib:${f}`)}`);
    assert.match(reach.whyCode.get('all_lib:looked_up') ?? '', /string `looked_up`/);
  });
}

test('__all__: a module with a __getattr__ keeps the strings of its __all__ as names (a star import hands them to the hook)', async () => {
  const reach = await reachOf('all_hookprog.py');
  assert.ok(reach.names.has('hooked_kernel'), 'hooked_kernel is a name');
  for (const f of ['plain_one', 'other_one']) assert.match(reach.whyCode.get(`all_hooklib:${f}`) ?? '', /string `/, `all_hooklib.${f} is reachable by its string`);
});

test('shadowed: a definition is dead unless the body may have kept it: loaded by the body or by a function it runs, or above a Python import', async () => {
  const file = path.join(GATE, 'shadow_local.py');
  const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [file], followImports: true, cacheDir: null });
  const graph = tracking.graph as unknown as { closureModules(): ProgramModule[] };
  const m = graph.closureModules().find((x) => x.file === file)!;
  m.pending?.complete();
  const modules = new Map(graph.closureModules().map((x) => [x.name, x]));
  // The helper answers for the standard library only: here every name is said to be bound over by a built-in C module.
  const dead = shadowedDefinitions(m, (_mod, _file, name) => ({ kind: 'native-function', module: '_fake', name, builtin: true }), modules, undefined);
  const names = [...dead.keys()].map((i) => m.summary!.facts[i]!.name).sort();
  assert.deepEqual(names, ['by_later', 'later']);
});
