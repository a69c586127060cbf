// Whether a function reads a value its caller passed in an argument register: a CPU-dispatch selector that does
// (`select(max_level)`: cpuid, then min(the CPU's level, its argument)) chooses by its input as well, so another call
// with another argument chooses another table (addressTaken.ts, unchosenTables).

import * as iced from 'iced-x86';
import { CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import { type AddressSpace, isInPlt } from '../space/space';
import { ARGUMENTS, bit, CALLER_SAVED, decodeAnywhere, SYSCALL_ARGUMENTS } from './followValue';

/** Instructions followed before the answer is "reads them" (the safe side: the selector is not trusted). */
const MAX_STEPS = 8192;

const R = iced.Register;
const M = iced.Mnemonic;

/**
 * True when the code from `entry` may read an argument register before writing it: on any path, through direct
 * branches (also out of the function: a tail call), until a return. A direct call into the same module (not its PLT)
 * is followed into the callee with the argument registers still unwritten; any call clobbers the caller-saved
 * registers. An indirect call with some unwritten, an indirect jump, code that cannot be decoded or a path too long
 * answer true.
 */
export function readsArguments(space: AddressSpace, entry: number): boolean {
  const decoder = new CodeDecoder();
  const decode = decodeAnywhere(space, decoder);
  // A callee of the same module, not a PLT stub: followed. Another library's function reads the arguments it declares,
  // which the caller writes (a selector passing its own argument on unread to another library is not seen).
  const m = space.regionAt(entry)?.module;
  const own = (ip: number): boolean => m !== undefined && space.regionAt(ip)?.module === m && !isInPlt(m.elf, ip - m.bias);
  const seen = new Map<number, number>();
  const work: Array<{ ip: number; held: number }> = [{ ip: entry, held: ARGUMENTS }];
  let steps = 0;
  try {
    while (work.length > 0) {
      let { ip, held } = work.pop()!;
      for (;;) {
        if (held === 0) break;
        const before = seen.get(ip) ?? 0;
        if ((before | held) === before) break;
        seen.set(ip, before | held);
        if (++steps > MAX_STEPS) return true;
        let r: Step | undefined;
        if (!decode(ip, (v) => (r = step(v, held, own)))) return true;
        if (r === undefined || r === 'reads') return true;
        held = r.held;
        if (r.callee) work.push(r.callee);
        if (r.next.length === 0) break;
        for (const n of r.next.slice(1)) work.push({ ip: n, held });
        ip = r.next[0];
      }
    }
    return false;
  } finally {
    decoder.free();
  }
}

type Step = { held: number; next: number[]; callee?: { ip: number; held: number } } | 'reads';

/** One instruction: 'reads' when it reads a register still holding the caller's value, else what still holds one. */
function step(v: InstructionView, held: number, own: (ip: number) => boolean): Step {
  const uses = v.uses();
  for (const m of uses.memory) {
    if ((m.base >= 0 && bit(m.base) & held) || (m.index >= 0 && bit(m.index) & held)) return 'reads';
  }
  // xor r, r (and sub r, r) zero a register without reading it; cpuid's subleaf (ecx) matters only for the leaves
  // that have one, and a selector sets it for those (iced lists it read for every leaf).
  const zeroing = (v.info.mnemonic === M.Xor || v.info.mnemonic === M.Sub) && v.opCount() === 2 && v.opFullRegister(0) !== undefined && v.opFullRegister(0) === v.opFullRegister(1);
  const ignored = v.info.mnemonic === M.Cpuid ? bit(R.RCX) : 0;
  for (const r of uses.registers) if (r.read && bit(r.full) & held & ~ignored && !zeroing) return 'reads';
  let after = held;
  for (const r of uses.registers) {
    // A write of 32 bits or more replaces the value (a 32-bit write zeroes the upper half); a partial one keeps part.
    if (r.write && !r.conditional && r.size >= 4) after &= ~bit(r.full);
  }
  if (v.info.mnemonic === M.Syscall) return after & SYSCALL_ARGUMENTS ? 'reads' : { held: after, next: [v.nextIp] };
  switch (v.info.flow) {
    case Flow.Next:
      return { held: after, next: [v.nextIp] };
    case Flow.Call: {
      // The callee gets the argument registers still unwritten: followed into it (its returns end that path).
      const t = v.directTarget();
      if (t === undefined) return 'reads';
      const inModule = after & ARGUMENTS && own(t);
      return { held: after & ~CALLER_SAVED, next: [v.nextIp], callee: inModule ? { ip: t, held: after & ARGUMENTS } : undefined };
    }
    case Flow.IndirectCall:
      // A callee not known may read the arguments still unwritten.
      return after & ARGUMENTS ? 'reads' : { held: after & ~CALLER_SAVED, next: [v.nextIp] };
    case Flow.ConditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'reads' : { held: after, next: [v.nextIp, t] };
    }
    case Flow.UnconditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'reads' : { held: after, next: [t] };
    }
    case Flow.Return:
    case Flow.Interrupt:
    case Flow.Exception:
      return { held: 0, next: [] };
    default:
      // An indirect jump (a switch whose table is not followed here), or anything else: not proven.
      return 'reads';
  }
}
