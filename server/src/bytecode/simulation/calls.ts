// Calls in the simulation: the handlers of keyword and star calls and of MAKE_FUNCTION, and what every call does
// (simulateCall: class statements, decorators, super(), importlib, interpreter facts; makeFunction, makeClass).

import type { DecodedCode } from '../decode';
import type { PyConst } from '../helperRecords';
import { constStrings, type Expr, type FunctionDef, moduleExpr, NULL, unknown } from '../values';
import { CONST_FALSE, CONST_TRUE } from './common';
import { gateFacts } from './gateFacts';
import { H } from './opcodes';
import { platformString } from './operators';
import type { CodeRole, SiteRecord, Simulator, State } from './types';

/** The opcodes stepCall handles (the core's dispatch table sends it no other). */
export const CALLS_OPS: readonly H[] = [H.CallFunctionKw, H.CallFunctionEx, H.CallKw, H.MakeFunction, H.SetFunctionAttribute];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepCall(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const idx = sim.codeIdx;
  const code = sim.code!;
  const role = sim.role!;
  const memo = sim.memo;
  const stack = st.stack;
  const arg = code.arg[i];
  const siteMap = sim.siteMap;
  const pop = sim.popFn;
  const popN = sim.popNFn;
  const v = sim.version;
  switch (sim.t.handler[op] as H) {
    case H.CallFunctionKw: {
      const items = popN(arg + 2);
      const names = items.pop()!;
      simulateCall(sim, idx, code, role, st, i, items, 1, arg, names.k === 'const' ? (constStrings(names.value) ?? null) : null, false, memo, siteMap);
      return 0;
    }
    case H.CallFunctionEx: {
      const count = 2 + (arg & 1) + (v >= 11 ? 1 : 0);
      const items = popN(count);
      const head = v >= 11 ? 2 : 1;
      simulateCall(sim, idx, code, role, st, i, items, head, 0, null, true, memo, siteMap);
      return 0;
    }
    case H.CallKw: {
      const items = popN(arg + 3);
      const names = items.pop()!;
      simulateCall(sim, idx, code, role, st, i, items, 2, arg, names.k === 'const' ? (constStrings(names.value) ?? null) : null, false, memo, siteMap);
      return 0;
    }
    case H.MakeFunction: {
      const items = popN(1 - effect);
      let codeIdx = -1;
      let qualConst: string | undefined;
      for (let k = items.length - 1; k >= 0; k--) {
        const it = items[k];
        if (it.k === 'code' && codeIdx < 0) codeIdx = it.index;
        else if (it.k === 'const' && typeof it.value === 'string' && qualConst === undefined && k === items.length - 1) qualConst = it.value;
      }
      if (codeIdx < 0 || codeIdx >= sim.codes.length) {
        stack.push(unknown('function of an unknown code object'));
        return 0;
      }
      stack.push(makeFunction(sim, idx, codeIdx, role, qualConst));
      return 0;
    }
    case H.SetFunctionAttribute: {
      const fn = pop();
      pop();
      stack.push(fn);
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}

export function makeFunction(sim: Simulator, parentIdx: number, codeIdx: number, parentRole: CodeRole, qualConst: string | undefined): Expr {
  let def = sim.summary.defs[codeIdx];
  if (!def) {
    const raw = sim.heads[codeIdx];
    const name = raw.name;
    const parentDef = parentRole.def;
    const prefix = parentRole.role === 'module' ? '' : parentRole.role === 'class' ? `${parentDef.qualname}.` : `${parentDef.qualname}.<locals>.`;
    const qualname = raw.qualname ?? qualConst ?? `${prefix}${name}`;
    const kind: FunctionDef['kind'] = name === '<lambda>' ? 'lambda' : /^<(list|set|dict|gen)comp>|^<genexpr>$/.test(name) ? 'comprehension' : parentRole.role === 'class' ? 'method' : 'function';
    def = { module: sim.input.module, qualname, code: codeIdx, line: raw.firstlineno, kind, cls: parentRole.role === 'class' ? parentRole.cls : null, decorators: [], returns: undefined, parent: parentIdx };
    sim.summary.defs[codeIdx] = def;
    sim.roles[codeIdx] = { def, role: 'function', cls: def.cls };
  }
  let e = sim.freshFunc.get(def);
  if (!e) {
    e = { k: 'func', def, fresh: true };
    sim.freshFunc.set(def, e);
  }
  return e;
}

export function simulateCall(
  sim: Simulator,
  idx: number,
  code: DecodedCode,
  role: CodeRole,
  st: State,
  i: number,
  items: Expr[],
  head: number,
  argc: number,
  kwnames: string[] | null,
  star: boolean,
  memo: (unknown[] | undefined)[],
  siteMap: Map<number, SiteRecord>,
): void {
  // The callable and its optional first argument. With a two-item head, CPython 3.11/3.12 hold
  // [NULL, callable] or [callable, self] and 3.13 holds [callable, NULL] or [callable, self]; 3.8-3.10
  // CALL_METHOD holds [NULL, callable] or [method, self]. A `self` that LOAD_METHOD/LOAD_ATTR pushed is the
  // object the attribute came from (already part of the callee); any other value there is a real first
  // argument (3.11+ compiles decorator application `deco(func)` as CALL 0 on [deco, func]).
  let callee: Expr = unknown('no callable');
  let self: Expr | null = null;
  let first: Expr | null = null;
  if (head === 1) callee = items[0] ?? callee;
  else if (items.length >= 2) {
    const [a, b] = items;
    let second: Expr;
    if (a.k === 'null') {
      callee = b;
      second = NULL;
    } else {
      callee = a;
      second = b;
    }
    if (second.k === 'self') self = second.obj;
    else if (second.k !== 'null') first = second;
  }
  const args = first ? [first, ...items.slice(head)] : items.slice(head);
  const positional = star ? [] : kwnames ? args.slice(0, args.length - kwnames.length) : args;
  const stack = st.stack;
  // Class statement: __build_class__(body, name, *bases).
  if (callee.k === 'buildclass') {
    const body = positional[0];
    if (body && body.k === 'func') {
      const cls = makeClass(sim, idx, body.def, positional.slice(2).map((b) => sim.settle(b)));
      // `class C(B, metaclass=M)`: the metaclass, and whether other keywords (or a star) went to it or a base.
      const kw = kwnames ?? [];
      if (cls.k === 'class') {
        const m = kw.indexOf('metaclass');
        if (m >= 0) cls.def.metaclass = sim.settle(args[args.length - kw.length + m]);
        if (star || kw.some((k) => k !== 'metaclass')) cls.def.keywords = true;
      }
      stack.push(cls);
      return;
    }
    stack.push(unknown('class of an unknown body'));
    return;
  }
  // Decorator application: one fresh function or class as the only argument.
  if (!star && !kwnames && positional.length === 1 && !self && applyDecorator(sim, idx, code, i, callee, positional[0], siteMap)) {
    stack.push(positional[0]);
    return;
  }
  const calleeS = sim.settle(callee);
  sim.noteCallee(i, calleeS);
  gateFacts(sim, code, i, role, calleeS, positional, args, star, kwnames);
  const result = knownResult(sim, idx, code, role, i, calleeS, positional, star, memo);
  const callExpr = callExpression(sim, i, calleeS, args, kwnames, star);
  // Calls that are compiler artefacts are not call sites: running a comprehension's code object (inlined
  // since 3.12) and the zero-argument super() that 3.12+ folds into LOAD_SUPER_ATTR.
  const comprehension = callee.k === 'func' && callee.fresh && callee.def.kind === 'comprehension' ? callee.def : undefined;
  if (comprehension && !star && !kwnames && positional.length === 1) {
    const at = comprehension.code;
    sim.callArgs.noteComprehension(at, sim.settle(positional[0]));
  }
  if (role.role === 'module') sim.callArgs.noteModuleCall(i, calleeS, positional, star || kwnames !== null || self !== null, (a) => sim.settle(a));
  const artefact = comprehension !== undefined || (result !== undefined && result.k === 'super');
  if (!artefact) sim.site(idx, code, i, { kind: 'call', callee: calleeS }, siteMap);
  stack.push(result ?? callExpr);
}

export function makeClass(sim: Simulator, idx: number, body: FunctionDef, bases: Expr[]): Expr {
  let cls = sim.classOfBody.get(body.code);
  if (!cls) {
    cls = { module: sim.input.module, qualname: body.qualname, code: body.code, line: body.line, bases, members: new Map(), instanceAttrs: new Map(), decorators: [], bodySeen: false };
    sim.classOfBody.set(body.code, cls);
    sim.summary.classes.push(cls);
    body.kind = 'class-body';
    body.cls = cls;
    sim.roles[body.code] = { def: body, role: 'class', cls };
  } else {
    for (const b of bases) if (!cls.bases.includes(b)) cls.bases.push(b);
  }
  let e = sim.freshClass.get(cls);
  if (!e) {
    e = { k: 'class', def: cls, fresh: true };
    sim.freshClass.set(cls, e);
  }
  return e;
}

/** Applies `callee` as a decorator when `target` is a fresh function or class (records it and its site). */
function applyDecorator(sim: Simulator, idx: number, code: DecodedCode, i: number, callee: Expr, target: Expr, siteMap: Map<number, SiteRecord>): boolean {
  if ((target.k !== 'func' && target.k !== 'class') || !target.fresh) return false;
  const decorator = sim.settle(callee);
  if (target.k === 'func') {
    if (!target.def.decorators.includes(decorator)) target.def.decorators.push(decorator);
    const q = sim.quick(decorator);
    const dname = q.k === 'builtin' || q.k === 'global' ? q.name : undefined;
    if (target.def.cls && (dname === 'staticmethod' || dname === 'classmethod')) target.def.kind = dname;
  } else if (!target.def.decorators.includes(decorator)) target.def.decorators.push(decorator);
  sim.site(idx, code, i, { kind: 'decorator', callee: decorator }, siteMap);
  return true;
}

/** A call's result known without running it: super() in a method, platform facts, importlib with a constant name. */
function knownResult(sim: Simulator, idx: number, code: DecodedCode, role: CodeRole, i: number, calleeS: Expr, positional: Expr[], star: boolean, memo: (unknown[] | undefined)[]): Expr | undefined {
  let result: Expr | undefined;
  // super() inside a method.
  if (positional.length === 0 && !star && sim.isBuiltinNamed(calleeS, 'super') && role.def.cls) {
    result = sim.memoized(memo, i, [calleeS], () => ({ k: 'super', cls: role.def.cls!, self: sim.instanceOf(role.def.cls!) }));
  }
  // sys.platform.startswith('aix') and friends: facts of the analysed interpreter.
  if (!result && !star && positional.length === 1 && positional[0].k === 'const' && typeof (positional[0] as { value: PyConst }).value === 'string' && calleeS.k === 'attr' && (calleeS.name === 'startswith' || calleeS.name === 'endswith')) {
    const subject = platformString(sim, calleeS.base);
    if (subject !== undefined) {
      const arg0 = (positional[0] as { value: string }).value;
      result = (calleeS.name === 'startswith' ? subject.startsWith(arg0) : subject.endsWith(arg0)) ? CONST_TRUE : CONST_FALSE;
    }
  }
  // importlib.import_module('x') / __import__('x') with a constant name.
  if (!result && positional.length >= 1 && positional[0].k === 'const' && typeof (positional[0] as { value: PyConst }).value === 'string') {
    const name = (positional[0] as { value: string }).value;
    if (sim.isModuleAttr(calleeS, 'importlib', 'import_module')) {
      const rel = name.startsWith('.') ? name.length - name.replace(/^\.+/, '').length : 0;
      const abs = sim.absoluteImport(name.replace(/^\.+/, ''), rel);
      sim.recordImport(idx, code, i, role, { module: abs.module, fromlist: null, level: rel, via: 'importlib', error: abs.error });
      result = abs.error ? unknown('bad relative import') : moduleExpr(abs.module);
    } else if (sim.isBuiltinNamed(calleeS, '__import__')) {
      sim.recordImport(idx, code, i, role, { module: name, fromlist: null, level: 0, via: 'importlib' });
      result = moduleExpr(name.split('.')[0]);
    }
  }
  return result;
}

/** The call's value (one object per instruction while its callee and settled arguments stay the same). */
function callExpression(sim: Simulator, i: number, calleeS: Expr, args: Expr[], kwnames: string[] | null, star: boolean): Expr {
  let callExpr: Expr | undefined = sim.memoOut[i];
  const prevArgs = sim.memoA[i] as Expr[] | undefined;
  let same = callExpr !== undefined && prevArgs !== undefined && prevArgs.length === args.length + 1 && prevArgs[0] === calleeS;
  for (let k = 0; same && k < args.length; k++) if (prevArgs![k + 1] !== sim.settle(args[k])) same = false;
  if (!same) {
    const settledArgs = new Array<Expr>(args.length);
    const key = new Array<Expr>(args.length + 1);
    key[0] = calleeS;
    for (let k = 0; k < args.length; k++) key[k + 1] = settledArgs[k] = sim.settle(args[k]);
    callExpr = { k: 'call', callee: calleeS, args: settledArgs, kwnames, star };
    sim.memoA[i] = key;
    sim.memoOut[i] = callExpr;
  }
  return callExpr!;
}
