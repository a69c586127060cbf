// Function summaries: one pass of the decoder over a function (its whole extent, or by recursive descent
// when no extent is known) that records what execution path tracking needs — the CPU features of its
// instructions, where control can leave it (direct targets, memory-slot and register dispatch chains,
// unresolved indirect branches) and the addresses it references. A summary depends only on the code bytes,
// so it is cached per file and function and reused across analyses of live processes.

import { CALLER_SAVED_REGISTERS, CodeDecoder, type CodeBuffer, type InstructionView, Flow } from '../decoder/decoder';
import { WalkState } from './summaryState';
import type { CodeReader, FunctionSummary } from './summaryTypes';

export * from './summaryTypes';

const MAX_DESCENT_INSTRUCTIONS = 200_000;
const DESCENT_CHUNK = 4096;

/**
 * Builds summaries. Holds one decoder; call free() when done. Caller-saved registers are clobbered at
 * calls; tracked values expire after a short window and at every unconditional transfer, so a dispatch
 * chain is only reported when the load and the call are close together on a straight path.
 */
export class Summarizer {
  private readonly decoder = new CodeDecoder();
  private readonly callerSaved = new Set<number>(CALLER_SAVED_REGISTERS);

  get decodedInstructions(): number {
    return this.decoder.decoded;
  }

  free(): void {
    this.decoder.free();
  }

  /** Summarizes the function occupying [start, end) whose bytes are `bytes`. `entry` is where decoding starts. */
  summarizeExtent(bytes: Uint8Array | CodeBuffer, start: number, end: number): FunctionSummary {
    const s = emptySummary(start, end, 'extent');
    const state = new WalkState(s, this.callerSaved, true);
    const before = this.decoder.decoded;
    const invalidBefore = this.decoder.invalid;
    const visit = (v: InstructionView) => {
      state.step(v, true);
    };
    if (bytes instanceof Uint8Array) this.decoder.decodeLinear(bytes.subarray(0, end - start), start, visit);
    else this.decoder.decodeRange(bytes, start, end, visit);
    state.finish();
    s.instructions = this.decoder.decoded - before;
    s.invalid = this.decoder.invalid - invalidBefore;
    return s;
  }

  /**
   * Summarizes code with no known extent by recursive descent from `entry`: fall-through, conditional
   * and direct-jump targets are followed as part of the same unit; calls are recorded as calls.
   */
  summarizeDescent(read: CodeReader, entry: number): FunctionSummary {
    const s = emptySummary(entry, entry, 'descent');
    const span = this.descend(read, s, entry, undefined)!;
    // In descent mode every direct jump target was followed inside the unit, so nothing "leaves" it.
    s.jumpsOut = [];
    s.start = span.lo;
    s.end = span.hi;
    return s;
  }

  /**
   * Summarizes only the part of the function occupying [start, end) that control can still reach from `resume`,
   * a live frame's return address or a thread's pc: what ran before it and cannot run again (start-up code before
   * a loop) is left out. Recursive descent inside the extent (fall-through, conditional and direct-jump targets);
   * branches that leave the extent are jumpsOut, calls are calls. Undefined when the reachable part has an
   * indirect jump (a switch table, whose targets a descent cannot bound) or cannot be read: the caller then
   * summarizes the whole function, the safe side.
   */
  summarizeFrom(read: CodeReader, start: number, end: number, resume: number): FunctionSummary | undefined {
    const s = emptySummary(start, end, 'resume');
    return this.descend(read, s, resume, { start, end }) ? s : undefined;
  }

  /**
   * Recursive descent from `entry` into `s`: fall-through, conditional and direct-jump targets are followed as part
   * of the same unit, calls are recorded as calls. Without `within`, anything readable is followed and what cannot
   * be read or decoded within the budget is skipped; within an extent, only targets inside it are followed (the
   * others are jumpsOut), and an unreadable block, an indirect jump or the budget running out give undefined.
   * Returns the span decoded.
   */
  private descend(read: CodeReader, s: FunctionSummary, entry: number, within: { start: number; end: number } | undefined): { lo: number; hi: number } | undefined {
    const done = new Set<number>(); // decoded instruction addresses
    const pending: number[] = [entry];
    const queued = new Set<number>([entry]);
    const before = this.decoder.decoded;
    const invalidBefore = this.decoder.invalid;
    const inside = (a: number) => !within || (a >= within.start && a < within.end);
    let lo = entry;
    let hi = entry;
    let unbounded = false;
    while (pending.length > 0) {
      if (this.decoder.decoded - before >= MAX_DESCENT_INSTRUCTIONS) {
        if (within) return undefined;
        break;
      }
      const blockStart = pending.pop()!;
      const bytes = within ? read(blockStart, Math.min(DESCENT_CHUNK, within.end - blockStart)) : (read(blockStart, DESCENT_CHUNK) ?? readShort(read, blockStart));
      if (!bytes) {
        if (within) return undefined;
        continue;
      }
      const state = new WalkState(s, this.callerSaved);
      let lastEnd = blockStart;
      let ended = false;
      this.decoder.decodeLinear(bytes, blockStart, (v) => {
        if (done.has(v.ip)) {
          ended = true;
          return 'stop';
        }
        done.add(v.ip);
        lastEnd = v.nextIp;
        const flow = v.info.flow;
        if (within && flow === Flow.IndirectBranch) {
          unbounded = true;
          return 'stop';
        }
        const target = flow === Flow.ConditionalBranch || flow === Flow.UnconditionalBranch || flow === Flow.XbeginXabortXend ? v.directTarget() : undefined;
        state.step(v, within !== undefined);
        if (target !== undefined && inside(target) && !queued.has(target)) {
          queued.add(target);
          pending.push(target);
        }
        if (flow === Flow.UnconditionalBranch || flow === Flow.IndirectBranch || flow === Flow.Return || flow === Flow.Exception) {
          ended = true;
          return 'stop';
        }
        return undefined;
      });
      if (unbounded) return undefined;
      if (lastEnd > hi) hi = lastEnd;
      if (blockStart < lo) lo = blockStart;
      // The chunk ran out in the middle of a block: continue from where it stopped (inside the extent, if any).
      if (!ended && lastEnd > blockStart && (!within || lastEnd < within.end) && !queued.has(lastEnd)) {
        queued.add(lastEnd);
        pending.push(lastEnd);
      }
    }
    s.instructions = this.decoder.decoded - before;
    s.invalid = this.decoder.invalid - invalidBefore;
    return { lo, hi };
  }
}

function readShort(read: CodeReader, address: number): Uint8Array | undefined {
  // Near the end of a mapping a full chunk is not readable: try smaller reads.
  for (let len = DESCENT_CHUNK / 2; len >= 16; len /= 2) {
    const b = read(address, len);
    if (b) return b;
  }
  return undefined;
}

function emptySummary(start: number, end: number, method: FunctionSummary['method']): FunctionSummary {
  return {
    start,
    end,
    method,
    instructions: 0,
    invalid: 0,
    features: new Map(),
    calls: [],
    jumpsOut: [],
    chains: [],
    refs: [],
    unresolved: [],
    switches: 0,
    directCallSites: 0,
  };
}
