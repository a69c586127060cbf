// A real process analysed as the product analyses it: started from a built fixture, analysed live (no comparison full
// scan) with this host's features, and stopped whatever happens.

import { analyzeProcess } from '../../native/src/analyze';
import { collectHost } from '../../native/src/features/host';
import { startProcess } from './fixtures';

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
