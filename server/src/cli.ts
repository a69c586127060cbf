#!/usr/bin/env node
// Entry point of the bundled CLI (dist/cli.js): the engine's commands (native/src/cli/main.ts) plus
// `calls`, CPU features per Python call site (bytecode tracking + symbol resolution + EPT), and process
// analyses that add the program's bytecode-resolved native functions as roots; these live here because
// bytecode tracking belongs to the server layer.

import * as path from 'node:path';
import { main, EXIT, type ExtraCommand, reportError } from '../../native/src/cli/main';
import { UsageError, intOption, parseArgs } from '../../native/src/cli/args';
import { Progress } from '../../native/src/cli/progress';
import { defaultCatalog, loadCatalog } from '../../native/src/catalog/catalog';
import { effectiveRequirement, summarizeInstances } from '../../native/src/catalog/compat';
import { featureLabel, sortFeatures, x86Level } from '../../native/src/features/vocabulary';
import { collectHost, hostFeatures } from '../../native/src/host/host';
import { MAX_CALLS_FILE_BYTES, analyzeCallSites, oversizedFiles } from './callSites';
import { NativeError } from '../../native/src/errors';
import { analyzePythonProcess, moduleEnvironmentOf } from './processAnalysis';
import { catalogRarity, sortByRarity } from './presentation';

const CALLS_HELP = `  pygration calls FILE... [--python PATH | --pid N] [--json] [--catalog FILE] [--no-follow-imports] [--no-size-limit]
      CPU features per Python call site of FILE(s): bytecode tracking finds the calls, symbol resolution the
      native functions behind them (directly or through Python code), EPT their features. Static (files at
      rest, with this host's IFUNC choices) by default; --pid N resolves in that running process (exact).
      Also prints the whole program's requirement (call sites ∪ the interpreter's own). Files above
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
      const host = hostFeatures(await collectHost());
      // A live process's modules are looked up where it found them (its PYTHONPATH, venv, working directory).
      const where = pid !== undefined ? moduleEnvironmentOf(pid) : undefined;
      const r = await analyzeCallSites({
        python,
        files,
        pid,
        env: where?.env,
        cwd: where?.cwd,
        hostFeatures: host,
        followImports: !args.flags.has('no-follow-imports'),
        cancel: abort.signal,
        onProgress: (m) => progress.update(m),
      });
      try {
        progress.done();
        const rarity = catalogRarity(catalog);
        const required = sortFeatures(new Set([...r.callSiteRequired, ...(r.pvmRequired ?? [])]));
        const verdicts = summarizeInstances({ required, source: host, catalog });
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
              compatible: verdicts.compatible.length,
              criu: verdicts.criu.length,
              total: verdicts.total,
            },
            stats: { ...r.stats, modules: r.tracking.stats.modules },
            diagnostics: r.tracking.diagnostics.filter((d) => d.severity === 'error'),
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return EXIT.ok;
        }
        const lines: string[] = [];
        lines.push(`Python ${r.tracking.python.version} (${r.tracking.python.executable}): ${r.tracking.stats.modules} modules tracked, ${r.stats.callSites} call sites in ${files.length} file(s), ${r.stats.resolved} resolved to native code (${pid !== undefined ? 'live, exact' : 'static'}).`);
        for (const d of r.tracking.diagnostics) if (d.severity === 'error' && d.file && files.includes(path.resolve(d.file))) lines.push(`${d.file}:${d.line ?? '?'}: ${d.message}`);
        for (const s of sites) {
          const where = `${path.relative(process.cwd(), s.file)}:${s.line}:${s.column}`;
          const native = s.natives.length ? ` → ${s.natives.slice(0, 2).map((n) => `${n.symbol} (${n.library})`).join(', ')}${s.natives.length > 2 ? ` +${s.natives.length - 2}` : ''}` : '';
          const feats = s.origin === 'unknown' ? `unknown: ${s.reason}` : s.features.length ? s.features.map(featureLabel).join(' · ') : 'x86-64 baseline';
          lines.push(`${where}  ${s.qualifiedName ?? s.callee}${native}`);
          lines.push(`    ${s.origin === 'unknown' ? '' : `[${s.origin}] `}${feats}`);
        }
        lines.push('');
        lines.push(`Whole program (call sites ∪ the interpreter's own): ${effective.length ? `${x86Level(effective).name} — ${effective.map(featureLabel).join(', ')}` : 'x86-64 baseline'}`);
        lines.push(`Compatible with ${verdicts.compatible.length} of ${verdicts.total} instance types (CRIU would allow ${verdicts.criu.length}).`);
        process.stdout.write(`${lines.join('\n')}\n`);
        return EXIT.ok;
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

main(process.argv.slice(2), { extra: { calls }, analyze: (pid, options) => analyzePythonProcess(pid, options) }).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
