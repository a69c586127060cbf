// A real process analysed as the product analyses it: started from a built fixture, analysed live (no comparison full
// scan) with this host's features, and stopped whatever happens.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost } from '../../native/src/features/host';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC, startProcess } from './fixtures';

export type AnalysisReport = Awaited<ReturnType<typeof analyzeProcess>>['report'];

/**
 * Starts `program` with `args` (it prints READY when set up), runs `before` on its pid if given (checks of the process
 * itself), analyses it and stops it. Returns the report.
 */
export async function analyzeFixture(program: string, args: string[], before?: (pid: number) => void): Promise<AnalysisReport> {
  const proc = await startProcess(program, args);
  try {
    before?.(proc.pid);
    return (await analyzeProcess(proc.pid, { host: await collectHost(), withFullScan: false })).report;
  } finally {
    await proc.stop();
  }
}

/**
 * A Python extension and the program that uses it, analysed: builds the C fixture `source` with `flags` as
 * `<dir>/<module>.cpython-311-x86_64-linux-gnu.so` under FIXTURE_OUT, writes `program` beside it (it gets the directory
 * as argv[1] and prints READY), runs it under Debian's python3 with LD_BIND_NOW=1, and analyses it live.
 */
export async function analyzeExtensionProgram(source: string, module: string, dir: string, flags: string[], program: string): Promise<AnalysisReport> {
  const out = path.join(FIXTURE_OUT, dir);
  buildC(source, { shared: true, flags, outName: `${dir}/${module}.cpython-311-x86_64-linux-gnu.so` });
  const file = path.join(out, 'program.py');
  fs.writeFileSync(file, program);
  const proc = await startProcess(DEBIAN_PYTHON, [file, out], { env: { ...process.env, LD_BIND_NOW: '1' } });
  try {
    return (await analyzeProcess(proc.pid, { host: await collectHost(), withFullScan: false })).report;
  } finally {
    await proc.stop();
  }
}
