// The bundled CLI (dist/cliMain.js, which dist/cli.js runs through the code cache, codeCache.ts): the engine's
// commands (native/src/cli/main.ts) plus `calls`, CPU features per Python call site (bytecode tracking + symbol
// resolution + EPT), and process analyses that add the program's bytecode-resolved native functions as roots; these
// live here because bytecode tracking belongs to the server layer.

import './jitFlags';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectHost, defaultCatalog, DiskFullScanStore, DiskSummaryStore, DiskTablesStore, engineStamp, EXIT, fromSystemError, hostFeatures, intOption, loadCatalog, main, NativeError, parseArgs, Progress, reportError, UsageError, type ExtraCommand } from '../../native/src';
import { MAX_CALLS_FILE_BYTES, analyzeCallSites, oversizedFiles } from './callSites';
import { DiskGateStore } from './gateStore';
import { analyzePythonProcess } from './processAnalysis';
import { defaultCacheDir } from './bytecode/diskCache';
import { callsJson, callsText } from './callsReport';

const CALLS_HELP = `  pygration calls FILE... [--python PATH | --pid N] [--json] [--catalog FILE] [--no-follow-imports] [--no-size-limit]
      CPU features per Python call site of FILE(s): bytecode tracking finds the calls, symbol resolution the
      native functions behind them (directly or through Python code), EPT their features. Static (files at
      rest, with this host's IFUNC choices) by default; --pid N resolves in that running process (exact),
      running its interpreter only if it is CPython 3.8+, as its user, without its start-up code.
      Also prints the whole program's requirement: call sites ∪ the interpreter's own (from its entry point at
      rest; with --pid, from the live process's roots as \`analyze\` takes them). While a call site is unknown,
      a static requirement is a lower bound: it says "at least", and no compatibility verdict is given.
      Exit 1 when a FILE is missing, not a regular file, or could not be read. Files above
      ${MAX_CALLS_FILE_BYTES / 1024} KiB are refused (a generated 5 MB file takes minutes and gigabytes); --no-size-limit analyses them anyway.`;

const calls: ExtraCommand = {
  help: CALLS_HELP,
  async run(argv, context) {
    const args = parseArgs(argv, { values: ['python', 'pid', 'catalog'], flags: ['json', 'no-follow-imports', 'quiet', 'no-size-limit'] });
    if (args.positional.length === 0) throw new UsageError('calls needs at least one Python file.');
    const pid = intOption(args, 'pid');
    if (pid !== undefined && args.options.has('python')) throw new UsageError('Give either --python or --pid, not both.');
    const python = pid !== undefined ? `/proc/${pid}/exe` : (args.options.get('python') ?? 'python3');
    const files = args.positional.map((f) => path.resolve(f));
    for (const f of files) checkPythonFile(f);
    if (!args.flags.has('no-size-limit')) refuseOversized(files);
    const catalog = args.options.has('catalog') ? loadCatalog(args.options.get('catalog')!) : defaultCatalog();
    const progress = new Progress(!args.flags.has('quiet'));
    const abort = new AbortController();
    const poll = setInterval(() => context.isInterrupted() && abort.abort(), 100);
    try {
      const hostInfo = await collectHost();
      const host = hostFeatures(hostInfo);
      // A live process's modules are looked up where it found them: the helper runs /proc/PID/exe as the
      // process's user and computes its sys.path (PYTHONPATH, venv, user site) without its start-up code.
      const r = await analyzeCallSites({
        python,
        files,
        pid,
        hostFeatures: host,
        hostVendor: hostInfo.vendor,
        followImports: !args.flags.has('no-follow-imports'),
        cancel: abort.signal,
        onProgress: (m) => progress.update(m),
        summaryStore: stores?.summaries,
      });
      try {
        progress.done();
        // A file given that the helper could not read (e.g. not readable by the live process's user, whose
        // uid the helper runs with) is a failure of the command, not a result: exit 1 after the output.
        const unread = r.tracking.diagnostics.filter((d) => d.code === 'load-error' && d.file && files.includes(path.resolve(d.file)));
        const run = { files, pid, catalog, host, vendor: hostInfo.vendor };
        process.stdout.write(args.flags.has('json') ? `${JSON.stringify(callsJson(r, run), null, 2)}\n` : `${callsText(r, run)}\n`);
        if (unread.length) process.stderr.write(`pygration: ${unread.length === 1 ? `${unread[0].file} was` : `${unread.length} of the files were`} not analysed: ${unread.map((d) => d.message).join(' ')}${pid !== undefined ? ` The files are read as the user of process ${pid}.` : ''}\n`);
        return unread.length ? EXIT.failed : EXIT.ok;
      } finally {
        r.close();
      }
    } catch (e) {
      if (abort.signal.aborted) {
        process.stderr.write('pygration: interrupted.\n');
        return EXIT.interrupted;
      }
      throw e;
    } finally {
      clearInterval(poll);
      progress.done();
    }
  },
};

/** Throws NativeError('unsupported') for the first file above the size limit of `calls`. */
function refuseOversized(files: string[]): void {
  const big = oversizedFiles(files);
  if (big.length > 0) {
    const { file, bytes } = big[0];
    throw new NativeError('unsupported', `${file} is ${(bytes / 1024).toFixed(0)} KiB; calls analyses Python files of at most ${MAX_CALLS_FILE_BYTES / 1024} KiB, because its time and memory grow with the call sites (a generated 5 MB file took 48 s and 2.2 GB).`, {
      subject: file,
      hint: 'Pass --no-size-limit to analyse it anyway.',
    });
  }
}

/**
 * A file `calls` can analyse: exists, is (or links to) a regular file, readable. Throws NativeError (exit 1)
 * saying what the path is instead: a missing file, a directory, a symbolic link loop, a device.
 */
function checkPythonFile(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new NativeError('io', `${file} is a symbolic link loop (too many levels of symbolic links); calls needs a Python file.`, { subject: file, cause: e });
    if (code === 'ENOENT') {
      let dangling = false;
      try {
        dangling = fs.lstatSync(file).isSymbolicLink();
      } catch {
        // Nothing at that path at all.
      }
      throw new NativeError('io', dangling ? `${file} is a symbolic link to ${fs.readlinkSync(file)}, which does not exist.` : `${file} does not exist.`, { subject: file, cause: e });
    }
    if (code === 'ENOTDIR') throw new NativeError('io', `${file} does not exist (a part of the path is not a directory).`, { subject: file, cause: e });
    throw fromSystemError(e, file);
  }
  if (st.isDirectory()) throw new NativeError('io', `${file} is a directory; calls needs Python files (e.g. ${path.join(file, '*.py')}).`, { subject: file });
  if (!st.isFile()) throw new NativeError('io', `${file} is not a regular file; calls needs Python files.`, { subject: file });
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    throw fromSystemError(e, file);
  }
}

/**
 * The bundled CLI (dist/, where esbuild.mjs puts the engine bundles and iced's wasm) keeps function summaries
 * on disk, in the store the language server of the same build uses, the full scan's per-file results and the
 * precise gate's fallbacks: a second analysis decodes only what is new.
 */
function openStores(): { summaries: DiskSummaryStore; fullScans: DiskFullScanStore; tables: DiskTablesStore; gate: DiskGateStore } | undefined {
  const dir = defaultCacheDir();
  if (!dir || !fs.existsSync(path.join(__dirname, 'iced_x86_bg.wasm'))) return undefined;
  try {
    // Computed once for the four stores (it hashes the engine bundles, about 23 ms).
    let memo: string | undefined;
    const stamp = () => (memo ??= engineStamp(__filename));
    // The comparison full scan of `analyze` (without --no-full-scan): per-file results on disk too.
    return { summaries: new DiskSummaryStore(dir, stamp), fullScans: new DiskFullScanStore(dir, stamp), tables: new DiskTablesStore(dir, stamp), gate: new DiskGateStore(dir, stamp) };
  } catch {
    return undefined;
  }
}

const stores = openStores();
main(process.argv.slice(2), { extra: { calls }, analyze: (pid, options) => analyzePythonProcess(pid, { ...options, stores, gateStore: stores?.gate, siteFeatures: false }) }).then(
  (code) => {
    process.exitCode = code;
    stores?.summaries.save();
    stores?.tables.save();
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
