#!/usr/bin/env node
// Entry point of the bundled CLI (dist/cli.js): the engine's commands (native/src/cli/main.ts) plus
// `calls`, CPU features per Python call site (bytecode tracking + symbol resolution + EPT), and process
// analyses that add the program's bytecode-resolved native functions as roots; these live here because
// bytecode tracking belongs to the server layer.

import './jitFlags';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectHost, defaultCatalog, DiskFullScanStore, DiskSummaryStore, effectiveRequirement, engineStamp, EXIT, featureLabel, fromSystemError, hostFeatures, intOption, loadCatalog, main, NativeError, parseArgs, Progress, reportError, sortFeatures, summarizeInstances, UsageError, x86Level, type ExtraCommand } from '../../native/src';
import { MAX_CALLS_FILE_BYTES, analyzeCallSites, oversizedFiles } from './callSites';
import { analyzePythonProcess } from './processAnalysis';
import { defaultCacheDir } from './bytecode/diskCache';
import { catalogRarity, sortByRarity, unknownCalleesText } from './presentation';

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
    const big = args.flags.has('no-size-limit') ? [] : oversizedFiles(files);
    if (big.length > 0) {
      const { file, bytes } = big[0];
      throw new NativeError('unsupported', `${file} is ${(bytes / 1024).toFixed(0)} KiB; calls analyses Python files of at most ${MAX_CALLS_FILE_BYTES / 1024} KiB, because its time and memory grow with the call sites (a generated 5 MB file took 48 s and 2.2 GB).`, {
        subject: file,
        hint: 'Pass --no-size-limit to analyse it anyway.',
      });
    }
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
        const status = unread.length ? EXIT.failed : EXIT.ok;
        const tellUnread = () => {
          if (unread.length) process.stderr.write(`pygration: ${unread.length === 1 ? `${unread[0].file} was` : `${unread.length} of the files were`} not analysed: ${unread.map((d) => d.message).join(' ')}${pid !== undefined ? ` The files are read as the user of process ${pid}.` : ''}\n`);
        };
        const rarity = catalogRarity(catalog);
        const required = sortFeatures(new Set([...r.callSiteRequired, ...(r.pvmRequired ?? [])]));
        const verdicts = summarizeInstances({ required, source: host, catalog, sourceVendor: hostInfo.vendor });
        const effective = effectiveRequirement(required, host);
        const sites = [...r.byFile.entries()].flatMap(([file, list]) =>
          list.map((s) => ({
            file,
            line: s.range.line + 1,
            column: s.range.character + 1,
            callee: s.callee,
            qualifiedName: s.qualifiedName,
            natives: s.natives,
            features: sortByRarity(s.features, rarity),
            origin: s.origin,
            reason: s.reason,
            masked: s.masked?.map((m) => m.feature),
            unknownCallees: s.unknownCallees,
          })),
        );
        if (args.flags.has('json')) {
          const out = {
            python: r.tracking.python,
            files,
            callSites: sites,
            program: {
              callSites: r.callSiteRequired,
              interpreter: r.pvmRequired ?? null,
              required: effective,
              level: x86Level(effective).name,
              // With lowerBound, `required` is a lower bound and `compatible` an upper bound: not a verdict.
              lowerBound: r.lowerBound,
              unknownCallSites: r.unknownCallSites,
              compatible: verdicts.compatible.length,
              criu: verdicts.criu.length,
              crossVendor: verdicts.crossVendor?.length ?? 0,
              total: verdicts.total,
            },
            notes: r.notes,
            stats: { ...r.stats, modules: r.tracking.stats.modules },
            diagnostics: r.tracking.diagnostics.filter((d) => d.severity === 'error'),
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          tellUnread();
          return status;
        }
        const lines: string[] = [];
        lines.push(`Python ${r.tracking.python.version} (${r.tracking.python.executable}): ${r.tracking.stats.modules} modules tracked, ${r.stats.callSites} call sites in ${files.length} file(s), ${r.stats.resolved} resolved to native code (${pid !== undefined ? 'live, exact' : 'static'}).`);
        for (const d of r.tracking.diagnostics) if (d.severity === 'error' && d.file && files.includes(path.resolve(d.file))) lines.push(`${d.file}:${d.line ?? '?'}: ${d.message}`);
        for (const s of sites) {
          const where = `${path.relative(process.cwd(), s.file)}:${s.line}:${s.column}`;
          const native = s.natives.length ? ` → ${s.natives.slice(0, 2).map((n) => `${n.symbol} (${n.library})`).join(', ')}${s.natives.length > 2 ? ` +${s.natives.length - 2}` : ''}` : '';
          let feats = s.origin === 'unknown' ? `unknown: ${s.reason}` : s.features.length ? s.features.map(featureLabel).join(' · ') : 'x86-64 baseline';
          // Some native callees behind the call are unknown: what the others need is a lower bound.
          if (s.origin !== 'unknown' && s.unknownCallees) feats = `at least ${feats} (${unknownCalleesText(s.unknownCallees)})`;
          lines.push(`${where}  ${s.qualifiedName ?? s.callee}${native}`);
          lines.push(`    ${s.origin === 'unknown' ? '' : `[${s.origin}] `}${feats}`);
          if (s.masked?.length) lines.push(`    warning: uses ${s.masked.map(featureLabel).join(', ')}, which this host's CPUID hides (masked; not counted)`);
        }
        lines.push('');
        const scope = pid !== undefined ? "call sites ∪ the live interpreter's own: entry point, threads and every C function Python can call" : "call sites ∪ the interpreter's own";
        const what = effective.length ? `${x86Level(effective).name} — ${effective.map(featureLabel).join(', ')}` : 'x86-64 baseline';
        const unknown = `${r.unknownCallSites} call site${r.unknownCallSites === 1 ? '' : 's'} unknown`;
        if (r.lowerBound) {
          lines.push(`Whole program (${scope}): at least ${what}; ${unknown}`);
          lines.push(`Not a verdict: could be compatible with at most ${verdicts.compatible.length} of ${verdicts.total} instance types — ${unknown}, so the requirement is a lower bound (CRIU would allow ${verdicts.criu.length}). Run the program and use --pid N for a verdict.`);
        } else {
          lines.push(`Whole program (${scope}): ${what}${r.unknownCallSites > 0 ? ` (${unknown}; the live interpreter's roots include every C function of the method tables and type slots, as analyze's do)` : ''}`);
          lines.push(`Compatible with ${verdicts.compatible.length} of ${verdicts.total} instance types (CRIU would allow ${verdicts.criu.length}).`);
        }
        if (r.notes.length) lines.push('', 'Notes:', ...r.notes.map((n) => `  - ${n}`));
        if (verdicts.crossVendor?.length) lines.push(`Feature-compatible, another vendor, unproven: ${verdicts.crossVendor.length} more type(s), not counted (docs/catalog.md, "Cross-vendor restores").`);
        process.stdout.write(`${lines.join('\n')}\n`);
        tellUnread();
        return status;
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
 * on disk, in the store the language server of the same build uses, and the full scan's per-file results: a
 * second analysis decodes only what is new.
 */
function openStores(): { summaries: DiskSummaryStore; fullScans: DiskFullScanStore } | undefined {
  const dir = defaultCacheDir();
  if (!dir || !fs.existsSync(path.join(__dirname, 'iced_x86_bg.wasm'))) return undefined;
  try {
    const stamp = () => engineStamp(__filename);
    // The comparison full scan of `analyze` (without --no-full-scan): per-file results on disk too.
    return { summaries: new DiskSummaryStore(dir, stamp), fullScans: new DiskFullScanStore(dir, stamp) };
  } catch {
    return undefined;
  }
}

const stores = openStores();
main(process.argv.slice(2), { extra: { calls }, analyze: (pid, options) => analyzePythonProcess(pid, { ...options, stores }) }).then(
  (code) => {
    process.exitCode = code;
    stores?.summaries.save();
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
