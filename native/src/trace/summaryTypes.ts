// The shapes of a function summary (what execution path tracking records per function: features, edges, chains,
// references, unresolved sites); built by summary.ts and summaryState.ts.

import type { Feature } from '../features/vocabulary';

export const SITES_PER_FEATURE = 3;

export interface FeatureHits {
  count: number;
  /** Addresses of the first few instructions needing the feature. */
  sites: number[];
}

/**
 * A branch target computed from memory: start from `base` (an address in the module's address space),
 * then for each offset `d` in `derefs`, read the 8-byte pointer at (value + d). `call [rip+X]` is
 * {base: X, derefs: [0]}; `mov rax,[rip+X] ; call [rax+0x10]` is {base: X, derefs: [0, 0x10]};
 * `lea rax,[rip+F] ; call rax` is {base: F, derefs: []}.
 */
export interface Chain {
  /** Address of the call/jmp instruction. */
  site: number;
  base: number;
  derefs: number[];
  kind: 'call' | 'jmp';
  /** True when the final step went through a register (`call rax`), false for `call [mem]`. */
  viaRegister: boolean;
}

export type RefKind = 'lea' | 'imm' | 'mem';

export interface AddressRef {
  /** The referenced absolute address. */
  address: number;
  kind: RefKind;
  /**
   * A `mem` reference made by a general-purpose MOV (load or store of at most 8 bytes): the instruction
   * touches exactly the word at `address`, never its neighbours (SIMD and other instructions may touch more).
   */
  word?: true;
}

/**
 * A direct call whose first two arguments are addresses computed just before it (`lea rdi,[rip+O] ;
 * lea rsi,[rip+F] ; call T`): the shape of `pthread_once(&once, init)` and its wrappers. `ref` is the index in
 * `refs` of the `lea` that produced F, when F went straight into rsi and was not copied or stored elsewhere.
 */
export interface AddressArgCall {
  site: number;
  target: number;
  arg0: number;
  arg1: number;
  ref: number;
}

/**
 * An indirect jump through a table whose index is bounded just before it: `cmp idx, N ; ja default` (N+1 entries)
 * or a byte-wide zero extension (`movzx idx, r8`: 256). `entry` 4 is gcc's switch table of int32 offsets from the
 * table's own address (`movsxd r,[T+idx*4] ; add r,T ; jmp r`); 8, absolute pointers (`jmp [T+idx*8]`, CPython's
 * computed goto `mov r,[T+idx*8] ; jmp r`). The walk reads the table (only from memory nothing can write) and
 * follows every entry.
 */
export interface JumpTable {
  site: number;
  table: number;
  count: number;
  entry: 4 | 8;
  kind: 'call' | 'jmp';
  /** Shaped like a switch inside a known extent: plain EPT (the paper's) keeps taking it as one, not as a site. */
  switchShape?: true;
  /**
   * No bound was found (count is 0): the walk reads entries while each lands in the function or in a part split
   * from a function (a `.cold` part), so that cases moved out of the function are followed (walkEdges.ts).
   */
  open?: true;
}

export interface UnresolvedSite {
  site: number;
  kind: 'call' | 'jmp';
}

export interface FunctionSummary {
  /** First and one-past-last address decoded (the extent, or the span covered by descent). */
  start: number;
  end: number;
  /** 'extent' when a known function extent was decoded linearly; 'descent' otherwise; 'resume' for the part of a function a live frame can still reach (summarizeFrom). */
  method: 'extent' | 'descent' | 'resume';
  instructions: number;
  invalid: number;
  features: Map<Feature, FeatureHits>;
  /** Targets of direct calls. */
  calls: number[];
  /** Targets of direct jumps and conditional branches that leave the decoded extent (tail calls, cold parts). */
  jumpsOut: number[];
  chains: Chain[];
  refs: AddressRef[];
  unresolved: UnresolvedSite[];
  /**
   * Indirect jumps shaped like switch tables (a table load, no bound found) inside a function of known extent: taken
   * to stay inside it, and not counted as call sites. Those with a bound are jumpTables instead.
   */
  switches: number;
  /** Bounded jump tables (see JumpTable); absent when none. */
  jumpTables?: JumpTable[];
  /** Number of call instructions of each shape, for the call-site statistics. */
  directCallSites: number;
  /** The function asks the CPU what it supports (cpuid or xgetbv): a CPU-dispatch selector may be near. */
  probesCpu?: true;
  /** Direct calls with two computed addresses as arguments (see AddressArgCall); absent when none. */
  addressArgCalls?: AddressArgCall[];
}

/** Reads code bytes at an address; returns undefined when the range is not readable. */
export type CodeReader = (address: number, length: number) => Uint8Array | undefined;
