#!/usr/bin/env node
// The `pygration` command line: analyse a running process or one it starts, describe this host, list the
// instance catalog. Built to dist/cli.js. Output on stdout (text or --json); progress and errors on stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeProcess } from '../analyze';
import { type Catalog, defaultCatalog, loadCatalog } from '../catalog/catalog';
import { CancelledError, isNativeError } from '../errors';
import { featureLabel, sortFeatures, supportedLevel, x86Level } from '../features/vocabulary';
import { collectHost, hostFeatures } from '../features/host';
import type { AnalysisMode, AnalysisReport } from '../report';
import { VERSION } from '../version';
import { type ParsedArgs, UsageError, intOption, numberOption, parseArgs } from './args';
import { formatReport } from './format';
import { FRAMES_HELP, runFrames } from './frames';
import { PLAN_HELP, runPlan } from './plan';
import { Progress } from './progress';
import { OUTPUT_HELP, OUTPUT_VALUES, applyGate, outputOptions, renderReport } from './output';
import { GATE_EXIT_CODE } from '../export/gate';
import { catalogEntry } from '../catalog/hostEntry';
import { CATALOG_HELP, runCatalog } from './catalog';
import { ANALYZE_ALL_HELP, analyzeAll } from './analyzeAll';
import { EXPORT_HELP, runExport } from './export';

export const EXIT = { ok: 0, failed: 1, usage: 2, childFailed: 3, gate: GATE_EXIT_CODE, interrupted: 130 } as const;

/** A command contributed by a layer above the engine (e.g. `calls`, from server/): it gets its arguments. */
export interface ExtraCommand {
  /** One help paragraph (usage line first), inserted into --help. */
  help: string;
  run(args: string[], context: { isInterrupted: () => boolean }): Promise<number>;
}

const HELP = `pygration ${VERSION} — which x86 CPU features a running Python program really needs, and where it
could be live-migrated (CRIU) without dying of SIGILL.

Usage:
  pygration analyze --pid N | --all [--mode ept|ept-plain|full] [--strict] [--json | --format FORMAT] [--catalog FILE] [--no-full-scan] [--count-masked] [--verbose]
            [--require-compatible TYPE[,TYPE]] [--max-level vN] [--nfd-hidden LIST|none]
      Analyse a running process. ept (default): execution path tracking from the interpreter's entry point,
      its threads and stacks, sound for unresolved indirect calls; ept-plain: the paper's plain EPT;
      full: decode every executable mapping. Also runs a (cached) full scan for comparison unless
      --no-full-scan. In a Python process the C functions Python can call are roots when the Python code
      that ran or can still run (the program's files, its imports, the live frames) names them, calls them
      through a protocol or operator, or C code may look them up (the precise root policy, the default);
      it falls back to rooting every one of them (strict), and says why, when that code uses reflection
      (getattr with a computed name, eval, pickle.loads, ...). --strict asks for strict at once.
      --precise is accepted and is the default.
      Features reachable code uses that this host's CPUID hides while their instructions still run
      (masked: RDSEED, ADX, LZCNT under some hypervisors) are warnings; --count-masked counts them as
      required. Types of another CPU vendor that have every needed feature get their own verdict
      (feature-compatible, another vendor, unproven) and are not counted as compatible.
${ANALYZE_ALL_HELP}
${OUTPUT_HELP}
  pygration run [--ready-line TEXT | --after SECONDS] [--timeout SECONDS] [analyze options] -- COMMAND [ARGS...]
      Start COMMAND with LD_BIND_NOW=1 (so GOT slots are final), wait until it prints TEXT (or for SECONDS,
      default 2), analyse it, print the result and stop it.
  pygration demo [--json]
      Run the bundled example workload (a NumPy matrix multiplication under /usr/bin/python3) and analyse it.
  pygration host [--json | --catalog-entry NAME]
      This host's CPU, canonical features, the x86-64 level it runs, whether xtest executes, and the
      features CPUID reports but the kernel masks (counted as absent). --catalog-entry NAME prints this
      machine as one catalog row (JSON, provenance measured, with the host name and date): run it on each
      kind of host you own and collect the rows into a catalog file (docs/catalog.md).
  pygration instances [--catalog FILE] [--json]
      List the instance catalog (the shipped AWS EC2 catalog of 973 x86-64 types, each measured or derived, or FILE).
${CATALOG_HELP}
${EXPORT_HELP}
${PLAN_HELP}
${FRAMES_HELP}
  pygration --version | --help

Exit codes: 0 success; 1 the analysis failed (the process exited, permission denied, unsupported
process); 2 usage error; 3 the command started by 'run' exited or timed out before it was ready;
${GATE_EXIT_CODE} a CI gate (--require-compatible, --max-level) was not met; 130 interrupted (Ctrl-C).`;

const ANALYZE_VALUES = ['pid', 'mode', 'catalog', ...OUTPUT_VALUES] as const;
const ANALYZE_FLAGS = ['json', 'no-full-scan', 'count-masked', 'verbose', 'quiet', 'strict', 'precise'] as const;

let interrupted = false;

export interface MainHooks {
  /** Commands contributed by upper layers. */
  extra?: Record<string, ExtraCommand>;
  /** The process analysis to use (default: analyzeProcess; the server layer adds bytecode-tracking roots). */
  analyze?: typeof analyzeProcess;
}

let analyzeImpl: typeof analyzeProcess = analyzeProcess;

export async function main(argv: readonly string[], hooks: MainHooks = {}): Promise<number> {
  const extra = hooks.extra ?? {};
  analyzeImpl = hooks.analyze ?? analyzeProcess;
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const extraHelp = Object.values(extra).map((c) => c.help).join('\n');
    process.stdout.write(`${extraHelp ? HELP.replace('  pygration --version | --help', `${extraHelp}\n  pygration --version | --help`) : HELP}\n`);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  process.once('SIGINT', () => {
    interrupted = true;
  });
  // `pygration ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw e;
  });
  try {
    switch (command) {
      case 'analyze':
        return await cmdAnalyze(parseArgs(rest, { values: ANALYZE_VALUES, flags: [...ANALYZE_FLAGS, 'all'] }));
      case 'run':
        return await cmdRun(parseArgs(rest, { values: [...ANALYZE_VALUES, 'ready-line', 'after', 'timeout'], flags: ANALYZE_FLAGS }));
      case 'demo':
        return await cmdDemo(parseArgs(rest, { values: ['mode', 'catalog', ...OUTPUT_VALUES], flags: ANALYZE_FLAGS }));
      case 'host':
        return await cmdHost(parseArgs(rest, { values: ['catalog-entry'], flags: ['json'] }));
      case 'catalog':
        return runCatalog(rest);
      case 'export':
        return runExport(rest);
      case 'instances':
        return cmdInstances(parseArgs(rest, { values: ['catalog'], flags: ['json'] }));
      case 'frames':
        return runFrames(rest);
      case 'plan':
        return await runPlan(rest, { analyze: analyzeImpl, isInterrupted: () => interrupted });
      default:
        if (Object.prototype.hasOwnProperty.call(extra, command)) return await extra[command].run(rest, { isInterrupted: () => interrupted });
        throw new UsageError(`Unknown command '${command}'. Run 'pygration --help'.`);
    }
  } catch (e) {
    return reportError(e);
  }
}

export function reportError(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`pygration: ${e.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof CancelledError) {
    process.stderr.write('pygration: interrupted.\n');
    return EXIT.interrupted;
  }
  if (isNativeError(e)) {
    process.stderr.write(`pygration: ${e.describe()}\n`);
    return EXIT.failed;
  }
  if (e instanceof ChildError) {
    process.stderr.write(`pygration: ${e.message}\n`);
    return EXIT.childFailed;
  }
  process.stderr.write(`pygration: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.failed;
}

function modeOf(args: ParsedArgs): AnalysisMode {
  const m = args.options.get('mode') ?? 'ept';
  if (m !== 'ept' && m !== 'ept-plain' && m !== 'full') throw new UsageError(`--mode must be ept, ept-plain or full, not '${m}'.`);
  return m;
}

function catalogOf(args: ParsedArgs): Catalog {
  const file = args.options.get('catalog');
  return file ? loadCatalog(file) : defaultCatalog();
}

/** Analyses one process with the command's options (the catalog given, cancellable with Ctrl-C). */
function analyzeWith(pid: number, args: ParsedArgs, catalog: Catalog, progress: Progress): Promise<{ report: AnalysisReport }> {
  return analyzeImpl(pid, {
    mode: modeOf(args),
    catalog,
    withFullScan: !args.flags.has('no-full-scan'),
    countMasked: args.flags.has('count-masked'),
    strict: args.flags.has('strict'),
    isCancelled: () => interrupted,
    onProgress: (m) => progress.update(m),
  });
}

async function analyzeAndPrint(pid: number, args: ParsedArgs): Promise<number> {
  const catalog = catalogOf(args);
  const output = outputOptions(args, catalog);
  const progress = new Progress(!args.flags.has('quiet'));
  try {
    const { report } = await analyzeWith(pid, args, catalog, progress);
    progress.done();
    process.stdout.write(renderReport(report, output, args.flags.has('verbose')));
    return applyGate(report, output);
  } finally {
    progress.done();
  }
}

async function cmdAnalyze(args: ParsedArgs): Promise<number> {
  const pid = intOption(args, 'pid');
  if (args.positional.length) throw new UsageError(`Unexpected argument '${args.positional[0]}'.`);
  if (args.flags.has('all')) {
    if (pid !== undefined) throw new UsageError('Give either --pid N or --all, not both.');
    const catalog = catalogOf(args);
    const output = outputOptions(args, catalog);
    return analyzeAll({
      output,
      verbose: args.flags.has('verbose'),
      quiet: args.flags.has('quiet'),
      isInterrupted: () => interrupted,
      analyze: (p, progress) => analyzeWith(p, args, catalog, progress),
      render: (report) => renderReport(report, output, args.flags.has('verbose')),
    });
  }
  if (pid === undefined) throw new UsageError('analyze needs --pid N (or --all).');
  return analyzeAndPrint(pid, args);
}

class ChildError extends Error {}

/** Starts `command` with LD_BIND_NOW=1 and resolves once it is ready (ready line seen or delay elapsed). */
function startChild(command: string[], readyLine: string | undefined, afterSeconds: number, timeoutSeconds: number): Promise<ChildProcess> {
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, LD_BIND_NOW: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(child);
    };
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      // The child's own output goes to our stderr so stdout stays clean for --json.
      process.stderr.write(d);
      if (readyLine !== undefined) {
        out = (out + d.toString()).slice(-readyLine.length - 4096);
        if (out.includes(readyLine)) settle();
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      keep(d);
      process.stderr.write(d);
    });
    child.once('error', (e) => settle(new ChildError(`could not start ${command[0]}: ${e.message}`)));
    // 'exit' can come before the last output has been read: the error (with that output) waits for 'close',
    // when both pipes have ended. A grandchild that keeps them open leaves it to the timer below.
    let exited: string | undefined;
    const exitError = () => new ChildError(`${command.join(' ')} exited (${exited}) before it was ready.${tail ? ` Last output:\n${tail}` : ''}`);
    child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
    child.once('close', (code, signal) => {
      exited ??= signal ?? `code ${code}`;
      settle(exitError());
    });
    const timer = setTimeout(
      () =>
        exited !== undefined
          ? settle(exitError())
          : readyLine !== undefined
            ? settle(new ChildError(`${command.join(' ')} did not print '${readyLine}' within ${timeoutSeconds} s.`))
            : settle(),
      readyLine !== undefined ? timeoutSeconds * 1000 : afterSeconds * 1000,
    );
    const poll = setInterval(() => {
      if (interrupted) settle(new CancelledError());
    }, 100);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

async function cmdRun(args: ParsedArgs): Promise<number> {
  if (args.rest.length === 0) throw new UsageError("run needs a command after '--', e.g. pygration run -- python3 app.py");
  if (args.options.has('pid')) throw new UsageError('run starts its own process: --pid is not allowed.');
  const readyLine = args.options.get('ready-line');
  const after = numberOption(args, 'after');
  if (readyLine !== undefined && after !== undefined) throw new UsageError('Give either --ready-line or --after, not both.');
  const timeout = numberOption(args, 'timeout') ?? 120;
  modeOf(args); // validate before starting anything
  const child = await startChild(args.rest, readyLine, after ?? 2, timeout);
  try {
    return await analyzeAndPrint(child.pid!, args);
  } finally {
    await stopChild(child);
  }
}

async function cmdDemo(args: ParsedArgs): Promise<number> {
  const script = path.resolve(__dirname, '..', 'examples', 'matmul.py');
  if (!fs.existsSync(script)) throw new UsageError(`The bundled example ${script} is missing (run from a built checkout).`);
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) throw new UsageError('The demo needs Debian\'s /usr/bin/python3 with python3-numpy (apt-get install python3-numpy).');
  process.stderr.write(`Starting the example workload: ${python} ${path.relative(process.cwd(), script)}\n`);
  const child = await startChild([python, script], 'READY', 0, 120);
  try {
    return await analyzeAndPrint(child.pid!, args);
  } finally {
    await stopChild(child);
  }
}

async function cmdHost(args: ParsedArgs): Promise<number> {
  const host = await collectHost();
  const entryName = args.options.get('catalog-entry');
  if (entryName !== undefined) {
    if (args.flags.has('json')) throw new UsageError('--catalog-entry prints JSON already; leave out --json.');
    if (!/^\S+$/.test(entryName)) throw new UsageError(`--catalog-entry: '${entryName}' is not a valid instance name (no spaces).`);
    process.stdout.write(`${JSON.stringify(catalogEntry(entryName, host), null, 2)}\n`);
    return EXIT.ok;
  }
  const features = sortFeatures(hostFeatures(host));
  // The level this host runs: one missing feature (a masked LZCNT, say) lowers it, whatever else it has.
  const level = supportedLevel(features);
  const extras = x86Level(features).extras;
  if (args.flags.has('json')) {
    process.stdout.write(
      `${JSON.stringify({ cpu: host.cpu, vendor: host.vendor, features, xtest: host.xtest, level: level.name, levelExtras: extras, levelMissing: level.missing, masked: host.masked, probeError: host.probeError }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  process.stdout.write(
    [
      `CPU: ${host.cpu} (${host.vendor})`,
      `x86-64 level: ${level.name}${extras.length ? ` + ${extras.length} more` : ''}${level.missing.length && level.level < 4 ? ` (not x86-64-v${level.level + 1}: no ${level.missing.map(featureLabel).join(', ')})` : ''}`,
      ...(host.masked.length ? [`Masked (CPUID reports them, the kernel does not; counted as absent): ${host.masked.map(featureLabel).join(', ')}`] : []),
      `xtest executes: ${host.xtest ? 'yes' : 'no'}${host.probeError ? ` (probe failed: ${host.probeError})` : ''}`,
      `Features (${features.length}): ${features.map(featureLabel).join(', ')}`,
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}

function cmdInstances(args: ParsedArgs): number {
  const catalog = catalogOf(args);
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
    return EXIT.ok;
  }
  const measured = catalog.instances.filter((i) => i.provenance?.kind === 'measured').length;
  const derived = catalog.instances.filter((i) => i.provenance?.kind === 'derived').length;
  const lines = [
    `${catalog.name}: ${catalog.instances.length} instance types${measured + derived ? ` (${measured} measured, ${derived} derived from the CPU's micro-architecture, not measured)` : ''}`,
  ];
  for (const i of catalog.instances) {
    const p = i.provenance ? `  [${i.provenance.kind === 'measured' ? 'measured' : `derived: ${i.provenance.basis}`}]` : '';
    lines.push(`${i.name.padEnd(24)} ${i.vcpu.toString().padStart(4)} vCPU ${`${i.memoryGiB}`.padStart(7)} GiB  ${x86Level(i.features).name}  ${i.cpu} (${i.generation})${p}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

