// The analysis engine as the evaluation uses it: the compiled TypeScript under out/native and out/server
// (built by `npx tsc -b`), loaded once, plus JSON round-tripping of the source host description.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './build.mjs';

const OUT = path.join(REPO_ROOT, 'out', 'native', 'src');
const SERVER_OUT = path.join(REPO_ROOT, 'out', 'server', 'src');
let loaded;

/** The engine's functions; throws with a hint when the TypeScript build is missing. */
export function engine() {
  if (loaded) return loaded;
  for (const f of [path.join(OUT, 'analyze.js'), path.join(SERVER_OUT, 'processAnalysis.js')]) {
    if (!fs.existsSync(f)) throw new Error(`The engine is not built (${path.relative(REPO_ROOT, f)} is missing): run \`npx tsc -b\` first.`);
  }
  const require = createRequire(import.meta.url);
  const load = (p) => require(path.join(OUT, p));
  const analyze = load('analyze.js');
  const compat = load('catalog/compat.js');
  const catalog = load('catalog/catalog.js');
  const host = load('features/host.js');
  const ept = load('trace/ept.js');
  const pvm = load('trace/pvm.js');
  const decoder = load('decoder/decoder.js');
  const vocabulary = load('features/vocabulary.js');
  const pythonRoots = load('trace/pythonRoots.js');
  const elfFile = load('elf/elfFile.js');
  const byteSource = load('elf/byteSource.js');
  const processAnalysis = require(path.join(SERVER_OUT, 'processAnalysis.js'));
  const callSites = require(path.join(SERVER_OUT, 'callSites.js'));
  const bytecode = require(path.join(SERVER_OUT, 'bytecode', 'cache.js'));
  loaded = {
    analyzeProcess: analyze.analyzeProcess,
    analyzePythonProcess: processAnalysis.analyzePythonProcess,
    programOf: processAnalysis.programOf,
    analyzeCallSites: callSites.analyzeCallSites,
    BytecodeCache: bytecode.BytecodeCache,
    pythonEntryRoots: pythonRoots.pythonEntryRoots,
    shadowStackEnabled: analyze.shadowStackEnabled,
    describeSite: analyze.describeSite,
    compatibleInstances: compat.compatibleInstances,
    criuBaseline: compat.criuBaseline,
    criuInstructionFeatures: compat.criuInstructionFeatures,
    effectiveRequirement: compat.effectiveRequirement,
    defaultCatalog: catalog.defaultCatalog,
    collectHost: host.collectHost,
    hostFeatures: host.hostFeatures,
    executionPathTracking: ept.executionPathTracking,
    entryRoot: pvm.entryRoot,
    mainRoot: pvm.mainRoot,
    threadRoots: pvm.threadRoots,
    decodeOne: decoder.decodeOne,
    CodeDecoder: decoder.CodeDecoder,
    Flow: decoder.Flow,
    elfConstants: load('elf/elfConstants.js'),
    /** Opens an ELF file on disk (the caller closes it). */
    openElf: (file) => elfFile.ElfFile.open(byteSource.openFileSource(file)),
    BASELINE: vocabulary.BASELINE,
    sortFeatures: vocabulary.sortFeatures,
    x86Level: vocabulary.x86Level,
    ProcessView: load('space/processView.js').ProcessView,
    ProcessAddressSpace: load('space/processSpace.js').ProcessAddressSpace,
    hostToJson: (h) => ({ ...h, flags: [...h.flags] }),
    hostFromJson: (j) => ({ ...j, flags: new Set(j.flags) }),
  };
  return loaded;
}
