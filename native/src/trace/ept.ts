// Execution path tracking (paper Algorithm 2, extended): a breadth-first walk over the functions reachable
// from a set of roots in an address space, collecting the CPU features of every instruction on the way.
// Edges: direct calls/jumps, PLT stubs through the live GOT, bypass-PLT `call [rip+X]`, data slots and
// two-step dispatch tables read from live memory. In the default sound mode, unresolved indirect branches
// make every address-taken function of the modules entered a root (module-local RTA, see below).
//
// The walker is built in three layers: walkBase.ts (state, queues, result), walkEdges.ts (visiting functions and
// following resolved edges) and addressTaken.ts (the sound mode's address-taken roots, with liveCensus.ts);
// this file is the entry point and re-exports the public types (eptTypes.ts) and the summary cache.

import type { AddressSpace } from '../space/space';
import type { EptOptions, EptResult, Root } from './eptTypes';
import { AddressTakenWalk } from './addressTaken';

export type { EptMode, EptOptions, EptResult, FeatureEvidence, Root, Site, UnresolvedCall, VisitedFunction } from './eptTypes';
export { type SummaryStore, cachedSummariesOf, clearSummaryCache } from './summaryCache';

/**
 * Runs execution path tracking over `space` from `roots`. Never throws for a single bad function or
 * unreadable page: those are counted and reported in notes.
 */
export function executionPathTracking(space: AddressSpace, roots: readonly Root[], options: EptOptions = {}): EptResult {
  return new AddressTakenWalk(space, options).run(roots);
}

/**
 * executionPathTracking that yields to the event loop about every `sliceMs` of work, so that a server
 * answers requests ($/cancelRequest) and a CLI sees Ctrl-C while a long walk runs.
 */
export function executionPathTrackingAsync(space: AddressSpace, roots: readonly Root[], options: EptOptions = {}, sliceMs = 50): Promise<EptResult> {
  return new AddressTakenWalk(space, options).runAsync(roots, sliceMs);
}
