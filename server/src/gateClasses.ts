// The class gate of Python-level reachability (pythonGate.ts): a method can run only on an instance of its class or
// a subclass, or through the class object; a class whose name no reachable code uses has neither.

import type { ProgramModule } from './bytecode/naming';
import { shortName } from './bytecode/simulate';
import type { ClassDef } from './bytecode/values';
import { BENIGN_DECORATORS, type Code, decoratorName } from './gateCodes';

/** Metaclasses that make no instance of the classes they build and keep them nowhere an instance could come from. */
const BENIGN_METACLASSES = new Set(['type', 'ABCMeta']);

/** Methods that run without an instance: when a subclass is created, a class body names them, or the class is subscripted. */
const CLASS_TIME = new Set(['__init_subclass__', '__set_name__', '__class_getitem__', '__prepare__', '__mro_entries__']);

/** Builtin classes a class may derive from: type builds them, and object.__init_subclass__ keeps nothing. */
export const BUILTIN_BASE = /^(object|int|float|complex|bool|str|bytes|bytearray|list|tuple|dict|set|frozenset|memoryview|property|staticmethod|classmethod|BaseException|Exception|[A-Z][A-Za-z]*(Error|Warning|Exit|Interrupt|Iteration))$/;

/**
 * Names whose use hands out classes no code names (a class's subclasses, every object the collector tracks): once
 * reachable code uses one, every class counts as having instances.
 */
export const CLASS_REFLECTION = new Set(['__subclasses__', 'get_objects', 'get_referrers', 'get_referents']);

interface ClassNode {
  module: ProgramModule;
  body: number;
  name: string;
  def: ClassDef;
  /** Every enclosing code object is a class body, up to the module body: the class statement ran on import. */
  topLevel: boolean;
  bodyReached: boolean;
  /** Its body defines `__init_subclass__`: it runs for each subclass created. */
  initSubclass: boolean;
  /** Why instances of it (or the class object) can exist; undefined while no reachable code can have one. */
  open?: string;
  /** Why the class object is gone (gateShadowed.ts): no name opens it. */
  dead?: string;
  /** Methods a name reached while the class could not run them: reached once it can. */
  parked: { code: Code; reason: string; depth: number }[];
}

/** The classes of a closure: which can have instances, and the methods waiting for that. */
export class ClassGate {
  private readonly byBody = new Map<ProgramModule, Map<number, ClassNode>>();
  private readonly byName = new Map<string, ClassNode[]>();
  private allOpen?: string;

  constructor(
    private readonly isLive: (m: ProgramModule) => boolean,
    /** Reaches a code object that was waiting, with the reason and depth it was named at. */
    private readonly release: (c: Code, reason: string, depth: number) => void,
  ) {}

  /** Indexes a module's classes (each class statement the simulation saw). */
  addModule(m: ProgramModule): void {
    const s = m.summary!;
    const nodes = new Map<number, ClassNode>();
    const initSubclass = new Set(s.facts.flatMap((f) => (f?.name === '__init_subclass__' ? [f.parent] : [])));
    for (const def of s.classes) {
      const f = s.facts[def.code];
      if (!f || f.role !== 'class') continue;
      let topLevel = true;
      for (let p = f.parent; p >= 0; p = s.facts[p]?.parent ?? -1) if (s.facts[p]?.role === 'function') topLevel = false;
      const node: ClassNode = { module: m, body: def.code, name: f.name, def, topLevel, bodyReached: false, initSubclass: initSubclass.has(def.code), parked: [] };
      nodes.set(def.code, node);
      let l = this.byName.get(f.name);
      if (!l) this.byName.set(f.name, (l = []));
      l.push(node);
    }
    this.byBody.set(m, nodes);
  }

  /** Classes that can have instances from the start: built or kept by code that ran (metaclass, decorator, `__init_subclass__` of a base). */
  openBorn(): void {
    for (const nodes of this.byBody.values()) {
      for (const n of nodes.values()) {
        const why = this.bornWhy(n);
        if (why) this.open(n, why, 0);
      }
    }
  }

  private bornWhy(n: ClassNode): string | undefined {
    // A class statement in a function binds a local: the function can hand the class out with no name a gate sees.
    if (!n.topLevel) return `class ${n.name} is defined in a function, which can hand it out by no name`;
    const deco = n.def.decorators.find((d) => !BENIGN_DECORATORS.has(decoratorName(d) ?? ''));
    if (deco) return `class ${n.name} is decorated by ${decoratorName(deco) ?? 'an unknown decorator'}, which may keep it`;
    // A base's metaclass or __init_subclass__ may make or keep instances of each subclass it builds (enum members).
    const seen = new Set<ClassNode>();
    const todo = [n];
    while (todo.length) {
      const c = todo.pop()!;
      if (seen.has(c)) continue;
      seen.add(c);
      const who = `class ${c.name}${c === n ? '' : `, a base of ${n.name},`}`;
      if (c.def.keywords) return `${who} is built with keywords or an unknown metaclass`;
      const metas = c.def.metaclass ? (c.def.metaclass.k === 'union' ? c.def.metaclass.items : [c.def.metaclass]).map((m) => shortName(m)) : [];
      const odd = metas.findIndex((m) => !BENIGN_METACLASSES.has(m ?? ''));
      if (odd >= 0) return `${who} has the metaclass ${metas[odd] ?? 'of an unknown value'}`;
      if (c !== n && c.initSubclass) return `${c.name}.__init_subclass__ runs for its subclass ${n.name}`;
      for (const b of c.def.bases) {
        const name = shortName(b);
        const found = this.byName.get(name ?? '') ?? [];
        // A base the closure does not define (an extension's type, a class built at run time) may have a metaclass or
        // an __init_subclass__ that keeps instances; the interpreter's own types have neither.
        if (!found.length && !(name !== undefined && BUILTIN_BASE.test(name))) return `${who} has a base the gate does not see (${name ?? 'a computed value'})`;
        todo.push(...found);
      }
    }
    return undefined;
  }

  /** The class a method belongs to when it must wait for the class to have instances; undefined when it need not. */
  private waitsFor(c: Code): ClassNode | undefined {
    if (c.facts.role !== 'function' || CLASS_TIME.has(c.facts.name)) return undefined;
    const n = this.byBody.get(c.module)?.get(c.facts.parent);
    return n && !this.available(n) ? n : undefined;
  }

  private available(n: ClassNode): boolean {
    return (this.allOpen !== undefined || n.open !== undefined) && (n.bodyReached || (n.topLevel && this.isLive(n.module)));
  }

  /**
   * Whether a name may reach this code object now: a method waits (and is kept) until its class can have instances.
   * `reason` and `depth` are kept for when it is reached.
   */
  admits(c: Code, reason: string, depth: number): boolean {
    const n = this.waitsFor(c);
    if (!n) return true;
    n.parked.push({ code: c, reason, depth });
    return false;
  }

  /** A name reachable code uses: classes of that name can have instances. */
  onName(name: string, reason: string, depth: number): void {
    if (CLASS_REFLECTION.has(name) && this.allOpen === undefined) {
      this.allOpen = `reachable code uses \`${name}\`, which hands out classes no code names`;
      for (const nodes of this.byBody.values()) for (const n of nodes.values()) this.flush(n, depth);
    }
    for (const n of this.byName.get(name) ?? []) this.open(n, `class ${name} is named: ${reason}`, depth);
  }

  /** A global load of the name in a module's code: that module's classes of the name can have instances. */
  onNameIn(name: string, m: ProgramModule, reason: string, depth: number): void {
    for (const n of this.byName.get(name) ?? []) if (n.module === m) this.open(n, `class ${name} is named: ${reason}`, depth);
  }

  /** A method that is a root (a live frame runs it): its class has an instance, or the class object is at hand. */
  openOf(c: Code, why: string): void {
    const n = c.facts.role === 'function' ? this.byBody.get(c.module)?.get(c.facts.parent) : undefined;
    if (!n) return;
    n.bodyReached = true;
    n.dead = undefined;
    this.open(n, why, 0);
    this.flush(n, 0);
  }

  /** A top-level class its module bound over by C code (gateShadowed.ts): names of it reach the C object, not it. */
  kill(m: ProgramModule, body: number, why: string): void {
    const n = this.byBody.get(m)?.get(body);
    if (n) n.dead = why;
  }

  /** A class body was reached (its class statement runs). */
  onReach(c: Code, depth: number): void {
    if (c.facts.role !== 'class') return;
    const n = this.byBody.get(c.module)?.get(c.index);
    if (!n || n.bodyReached) return;
    n.bodyReached = true;
    this.flush(n, depth);
  }

  /** A module became live: its top-level classes ran. */
  onLive(m: ProgramModule, depth: number): void {
    for (const n of this.byBody.get(m)?.values() ?? []) this.flush(n, depth);
  }

  private open(n: ClassNode, why: string, depth: number): void {
    if (n.open !== undefined || n.dead !== undefined) return;
    n.open = why;
    // An instance of a subclass is an instance of each base: their methods run on it.
    for (const b of n.def.bases) for (const bn of this.byName.get(shortName(b) ?? '') ?? []) this.open(bn, `a subclass of ${bn.name} can have instances (${n.name})`, depth);
    this.flush(n, depth);
  }

  private flush(n: ClassNode, depth: number): void {
    if (!this.available(n) || !n.parked.length) return;
    const parked = n.parked.splice(0);
    for (const p of parked) this.release(p.code, `${p.reason}; ${this.allOpen ?? n.open}`, Math.max(p.depth, depth));
  }
}
