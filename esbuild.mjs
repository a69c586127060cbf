// The one build script: bundles the extension client, the language server and the CLI for Node (cjs,
// `vscode` external), and the webview UI for the browser, into dist/. Type-checking is separate (`tsc -b`).
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const dist = 'dist';

/** Node bundles: entry → output name. */
const nodeEntries = {
  // cli.js and server.js are small entry files that run cliMain.js and serverMain.js, the engine bundles, through
  // a V8 code cache (server/src/codeCache.ts).
  cli: 'server/src/cliBoot.ts',
  cliMain: 'server/src/cli.ts',
  server: 'server/src/serverBoot.ts',
  serverMain: 'server/src/server.ts',
  client: 'client/src/extension.ts',
};
/** Browser bundles. */
const browserEntries = {
  webview: 'webview/src/main.ts',
};

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
  // A bare import dropped as side-effect free is a setting that silently stops applying (server/src/jitFlags.ts
  // was, while package.json's sideEffects did not list it): fail the build instead.
  logOverride: { 'ignored-bare-import': 'error' },
};

/**
 * iced-x86's wasm (784 KB) is read and compiled when its module loads, which every module using its enums makes
 * happen at start: 15 ms of each language server and CLI start, also when no instruction is ever decoded (a server
 * that only answers lenses from its cache, `pygration host`). This makes that happen on the first call into the
 * wasm instead: every `wasm.` access goes through `(wasm ?? icedWasm())`, and `__wasm` (icedCalls.ts) is a getter.
 * The build fails if iced's module no longer ends the way this expects.
 */
const lazyIcedWasm = {
  name: 'lazy-iced-wasm',
  setup(build) {
    build.onLoad({ filter: /iced-x86[\\/]iced_x86\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      const tail = /\nconst path = require\('path'\)\.join\(__dirname, 'iced_x86_bg\.wasm'\);\nconst bytes = require\('fs'\)\.readFileSync\(path\);\n\nconst wasmModule = new WebAssembly\.Module\(bytes\);\nconst wasmInstance = new WebAssembly\.Instance\(wasmModule, imports\);\nwasm = wasmInstance\.exports;\nmodule\.exports\.__wasm = wasm;\s*$/;
      if (!/^let wasm;$/m.test(text) || !tail.test(text)) throw new Error(`${args.path}: not the iced-x86 module lazyIcedWasm expects (update esbuild.mjs)`);
      const body = text.replace(tail, '\n').replace(/\bwasm\./g, '(wasm ?? icedWasm()).');
      const init =
        '\nfunction icedWasm() {\n' +
        "  const bytes = require('fs').readFileSync(require('path').join(__dirname, 'iced_x86_bg.wasm'));\n" +
        '  wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;\n' +
        '  return wasm;\n' +
        '}\n' +
        "Object.defineProperty(module.exports, '__wasm', { get: () => wasm ?? icedWasm() });\n";
      return { contents: body + init, loader: 'js' };
    });
  },
};

const nodeBuild = {
  ...common,
  plugins: [lazyIcedWasm],
  entryPoints: nodeEntries,
  outdir: dist,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
};

const browserBuild = {
  ...common,
  entryPoints: browserEntries,
  outdir: dist,
  platform: 'browser',
  format: 'iife',
  target: 'chrome114',
};

/** Files the bundles load at run time from next to themselves. */
function copyRuntimeFiles() {
  fs.mkdirSync(dist, { recursive: true });
  // iced-x86 reads its wasm from __dirname, which is dist/ once bundled.
  fs.copyFileSync('node_modules/iced-x86/iced_x86_bg.wasm', path.join(dist, 'iced_x86_bg.wasm'));
  // The bytecode helper runs under the user's interpreter: ship it and its modules next to the bundles
  // (server/src/bytecode/helper.ts hands each to the interpreter as an open file).
  fs.mkdirSync(path.join(dist, 'python'), { recursive: true });
  for (const f of fs.readdirSync('server/python').filter((n) => /^pygration_\w+\.py$/.test(n))) {
    fs.copyFileSync(path.join('server/python', f), path.join(dist, 'python', f));
  }
  const cli = path.join(dist, 'cli.js');
  if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
}

/**
 * Compiles the thread freezer (native/ptrace/pygration-freeze.c) into dist/ with gcc, statically linked where
 * the C library allows it so the .vsix runs on any x86-64 Linux. Without gcc the analysis still works, with the
 * region-scan fallback and a note; `--production` (packaging) requires it.
 */
function buildFreezeHelper() {
  const src = 'native/ptrace/pygration-freeze.c';
  const out = path.join(dist, 'pygration-freeze');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) return;
  const cc = process.env.CC || 'gcc';
  const flags = ['-O2', '-s', '-Wall', '-Wextra', '-o', out, src];
  let r = spawnSync(cc, ['-static', ...flags], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) r = spawnSync(cc, flags, { stdio: ['ignore', 'inherit', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `${cc} exited with ${r.status}`;
    if (production) throw new Error(`cannot build ${out}: ${why} (install gcc: scripts/setup.sh)`);
    console.warn(`esbuild.mjs: ${out} not built (${why}); analyses will fall back to scanning stacks.`);
    return;
  }
  fs.chmodSync(out, 0o755);
}

const builds = [nodeBuild, browserBuild].filter((b) => Object.keys(b.entryPoints).length > 0);
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  copyRuntimeFiles();
  buildFreezeHelper();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyRuntimeFiles();
  buildFreezeHelper();
}
