// Public surface of bytecode tracking (used by the language server and the CLI): the entry point, the session
// that keeps an interpreter warm, the cache, the result types and the lower layers for symbol resolution.

export { bytecodeTracking, BytecodeSession, type BytecodeTrackingOptions, type SessionOptions, type TrackingProgress } from './tracking';
export { BytecodeCache, type CachedModule } from './cache';
export { DiskCache, defaultCacheDir } from './diskCache';
export { PythonHelper, type DumpRequest } from './helper';
export { defaultHelperPath, type HelperOptions } from './helperLaunch';
export { Decoder, type DecodedCode } from './decode';
export { simulateModule, simulateModuleLazily, PendingBodies, type ModuleSummary, type SiteRecord, type ImportRecord, type SimulationStats } from './simulate';
export { Resolver, type Program, type ProgramModule, type Target, type TypeRef } from './naming';
export { CallGraphBuilder } from './callgraph';
export { CallGraph, buildEdges, callSitesOfFiles, isNativeCallee, reachableNative } from './callGraphQuery';
export { OPERATOR_SLOTS, KNOWN_RESULT_TYPES, STDLIB_RESULT_TYPES } from './knownTypes';
export { StdlibExports } from './stdlibExports';
export type * from './types';
export type { InterpreterInfo, IntrospectAnswer, ModuleKind, ModuleRecord, PyConst, RuntimeBinding } from './helperRecords';
