// The engine's public face: everything the language server, the CLI entry and the extension client use from
// native/, by stage (space → cpython → resolve → trace → analyze → catalog, plan, cli). They import only this.

// The report and the shared vocabulary.
export type { AnalysisMode, AnalysisReport, FeatureSite, InstanceVerdict, Vendor } from './report';
export { CancelledError, NativeError, fromSystemError, isNativeError } from './errors';
export { FEATURES, featureLabel, isBaseline, sortFeatures, x86Level, type Feature } from './features/vocabulary';
export { collectHost, hostFeatures, probeFeatures, type HostInfo } from './features/host';
export { formatDuration, formatRate } from './units';

// elf/: ELF files on disk or in a process.
export { openFileSource } from './elf/byteSource';
export { ElfFile } from './elf/elfFile';

// space/: the address spaces the analyses walk (a live process, files at rest, an overlay) and /proc.
export type { AddressSpace } from './space/space';
export { fileIdentityOf } from './space/space';
export { ProcessAddressSpace } from './space/processSpace';
export { StaticAddressSpace } from './space/staticSpace';
export { OverlaySpace, realPath } from './space/overlay';
export { prefetchExportedIfuncs } from './space/hostIfunc';
export { ProcessView } from './space/processView';
export { listProcesses, pythonVersionOf } from './space/list';
export { procPath, processExists, readCmdline, readCwd, readEnviron, readExe, readProcText, readStat, readStatus } from './space/procfs';

// cpython/: the interpreter's structures (live frames).
export { readPythonFrames } from './cpython/frames';

// resolve/: Python names to native symbols.
export { NativeResolver, describeRequest, type NativeRequest, type NativeResolution } from './resolve/resolve';

// trace/: execution path tracking, its roots and its caches.
export { executionPathTracking, type EptResult, type Root, type SummaryStore } from './trace/ept';
export { destructorRoots, entryRoot, mainRoot } from './trace/pvm';
export { cCallableNames, isDunder } from './trace/pythonRoots';
export { DiskSummaryStore, engineStamp } from './trace/summaryStore';
export { DiskFullScanStore } from './trace/fullScanStore';
export { DiskTablesStore } from './trace/tablesStore';
export { StampedDir } from './trace/stampedDir';
export type { TablesStore } from './cpython/tables';

// The whole analysis of a process.
export { analyzeProcess, describeSite, processRoots, pythonVersion, shadowStackEnabled, type AnalyzeOptions, type ProcessAnalysis } from './analyze';
export { StopWalkCache } from './trace/stopWalk';

// catalog/: instance types and the compatibility verdicts.
export { defaultCatalog, loadCatalog, type Catalog } from './catalog/catalog';
export { criuAdvice, effectiveRequirement, maskedFeatures, summarizeInstances } from './catalog/compat';

// plan/: live-migration planning.
export { PLAN_DEFAULTS, attachMigrationPlan } from './plan/attach';
export { parseRate } from './plan/bandwidth';
export { criuCommands, hasControllingTerminal } from './plan/criu';
export { sampleDirtyPages } from './plan/sampler';
export type { MigrationEstimate, Strategy } from './plan/types';

// cli/: the engine's commands, extended by the server's CLI entry.
export { UsageError, intOption, parseArgs } from './cli/args';
export { EXIT, main, reportError, type ExtraCommand } from './cli/main';
export { Progress } from './cli/progress';
export { VERSION } from './version';
