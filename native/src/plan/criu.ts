// The CRIU command lines that carry out a migration plan: pre-dump rounds with --track-mem over a page
// server then the final dump (pre-copy), one dump (stop-and-copy), or a lazy-pages dump served to the
// destination's lazy-pages daemon (post-copy), and the restore with the --cpu-cap our verdict allows.

import { readStat } from '../space/procfs';
import type { CriuStep, Strategy } from './types';

export type { CriuStep } from './types';

export interface CriuCommandOptions {
  pid: number;
  strategy: Strategy;
  /** Live pre-copy rounds (pre-dumps) before the final dump, for pre-copy. */
  preCopyRounds?: number;
  /** Restore flags from the compatibility verdict (criuAdvice), e.g. ['--cpu-cap=none']. */
  restoreFlags?: string[];
  /** The process has a controlling terminal: dump and restore need --shell-job. */
  shellJob?: boolean;
  /** Image directory on both hosts (default /var/lib/pygration/PID). */
  imagesDir?: string;
  /** Port of the page server / lazy-pages connection (default 27000). */
  port?: number;
}

/** Whether the process has a controlling terminal (field 7, tty_nr, of /proc/PID/stat is not 0). */
export function hasControllingTerminal(pid: number): boolean {
  try {
    return Number(readStat(pid).fields[7 - 3]) !== 0;
  } catch {
    return false;
  }
}

/**
 * The commands, in order. `$DST` and `$SRC` stand for the destination's and the source's addresses.
 * Pre-copy with k rounds: k `criu pre-dump --track-mem` (each after the first with --prev-images-dir of
 * the previous), then `criu dump` of what is left; every dump sends its pages to a page server on the
 * destination, which serves one dump and exits, so it is started again for each.
 */
export function criuCommands(o: CriuCommandOptions): CriuStep[] {
  const img = o.imagesDir ?? `/var/lib/pygration/${o.pid}`;
  const port = o.port ?? 27000;
  const shell = o.shellJob ? ' --shell-job' : '';
  const restoreFlags = o.restoreFlags?.length ? ` ${o.restoreFlags.join(' ')}` : '';
  const steps: CriuStep[] = [];
  const server = (dir: string, prev?: string): CriuStep => ({
    host: 'destination',
    command: `mkdir -p ${dir} && criu page-server -D ${dir}${prev ? ` --prev-images-dir ${prev}` : ''} --port ${port}`,
    comment: 'Receives the pages of the next dump (serves one dump, then exits).',
  });
  const toServer = `--page-server --address $DST --port ${port}`;
  switch (o.strategy) {
    case 'stop-and-copy': {
      const dir = `${img}/1`;
      steps.push(server(dir));
      steps.push({ host: 'source', command: `mkdir -p ${dir} && criu dump -t ${o.pid} -D ${dir}${shell} ${toServer}`, comment: 'Stops the process and sends all its memory; the process is not resumed on the source.' });
      steps.push({ host: 'source', command: `rsync -a ${dir}/ $DST:${dir}/`, comment: 'Copies the non-memory images (CPU state, files, mappings).' });
      steps.push({ host: 'destination', command: `criu restore -D ${dir}${shell}${restoreFlags}` });
      break;
    }
    case 'pre-copy': {
      const k = Math.max(1, o.preCopyRounds ?? 1);
      steps.push({ host: 'source', command: 'criu check --feature mem_dirty_track', comment: 'Pre-dumps with --track-mem need soft-dirty tracking in the source kernel.' });
      for (let i = 1; i <= k + 1; i++) {
        const dir = `${img}/${i}`;
        const prev = i > 1 ? `../${i - 1}` : undefined;
        steps.push(server(dir, prev));
        const verb = i <= k ? 'pre-dump' : 'dump';
        steps.push({
          host: 'source',
          command: `mkdir -p ${dir} && criu ${verb} -t ${o.pid} -D ${dir}${prev ? ` --prev-images-dir ${prev}` : ''} --track-mem${shell} ${toServer}`,
          comment:
            i === 1
              ? 'Round 1: copies all memory while the process runs (it is frozen only briefly to collect its pages) and starts tracking writes.'
              : i <= k
                ? `Round ${i}: copies only the pages written since the previous round.`
                : 'Stop-and-copy: stops the process and sends the pages written since the last round.',
        });
      }
      const last = `${img}/${k + 1}`;
      steps.push({ host: 'source', command: `rsync -a ${last}/ $DST:${last}/`, comment: 'Copies the non-memory images of the final dump.' });
      steps.push({ host: 'destination', command: `criu restore -D ${last}${shell}${restoreFlags}` });
      break;
    }
    case 'post-copy': {
      const dir = `${img}/1`;
      steps.push({ host: 'destination', command: 'criu check --feature uffd-noncoop', comment: 'Lazy restore needs userfaultfd in the destination kernel.' });
      steps.push({
        host: 'source',
        command: `mkdir -p ${dir} && criu dump -t ${o.pid} -D ${dir}${shell} --lazy-pages --address 0.0.0.0 --port ${port}`,
        comment: 'Stops the process, writes its state without its memory, and waits to serve the pages.',
      });
      steps.push({ host: 'source', command: `rsync -a ${dir}/ $DST:${dir}/`, comment: 'Copies the non-memory images while the dump waits.' });
      steps.push({ host: 'destination', command: `criu lazy-pages --page-server --address $SRC --port ${port} -D ${dir} &`, comment: 'Fetches pages on fault and pushes the rest in the background.' });
      steps.push({ host: 'destination', command: `criu restore -D ${dir}${shell} --lazy-pages${restoreFlags}`, comment: 'Resumes the process at once; missing pages arrive as it touches them.' });
      break;
    }
  }
  return steps;
}
