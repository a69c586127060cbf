// Builds a .vsix offline with @vscode/vsce: the extension in this repository (`npm run package`) for the
// linux-x64 target (the only platform it runs on), or with --helper the test-only E2E helper extension.
// Usage: node scripts/package.mjs [--helper] [--out DIR] [--json]
//   Prints the .vsix path as the last stdout line (with --json: {"path","bytes","files","ms"}).
//   Exit 0: packaged. Exit 2: the extension is not packageable yet (the reason is printed). Exit 1: error.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const helper = args.includes('--helper');
const json = args.includes('--json');
const outIndex = args.indexOf('--out');
const outDir = path.resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : path.join(repo, 'out', 'vsix'));

/** Thrown when the repository's extension cannot be packaged yet; exits with 2, not 1. */
class NotPackageable extends Error {}

/** vsce logs progress and warnings on stdout; keep stdout for our one result line. */
function withStdoutOnStderr(fn) {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
  return fn().finally(() => {
    process.stdout.write = write;
  });
}

/** The platform of the repository's .vsix: the engine decodes x86-64 code and reads Linux's /proc. */
export const TARGET = 'linux-x64';

/**
 * Runs vsce's packager (no network: no publishing, no dependency install) on an extension folder; with a
 * target, the .vsix installs only on that platform (`name-target-version.vsix`, vsce's naming).
 */
async function vsix(cwd, manifest, target) {
  const { createVSIX } = require('@vscode/vsce');
  fs.mkdirSync(outDir, { recursive: true });
  const packagePath = path.join(outDir, target ? `${manifest.name}-${target}-${manifest.version}.vsix` : `${manifest.name}-${manifest.version}.vsix`);
  fs.rmSync(packagePath, { force: true });
  await withStdoutOnStderr(() =>
    createVSIX({
      cwd,
      packagePath,
      // Runtime code is bundled by esbuild, so node_modules is never shipped (and `npm list` never runs).
      dependencies: false,
      allowMissingRepository: true,
      ...(target ? { target } : {}),
      // Relative links stay relative: every document they point to is packaged (.vscodeignore), so they
      // resolve inside the installed extension, offline, whatever the repository's hosting.
      rewriteRelativeLinks: false,
      skipLicense: !fs.existsSync(path.join(cwd, 'LICENSE')) && !fs.existsSync(path.join(cwd, 'LICENSE.md')),
    }),
  );
  return packagePath;
}

/** The repository's extension: production bundles via esbuild.mjs, then vsce with the .vscodeignore allowlist. */
async function packageRepo() {
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  if (!fs.existsSync(path.join(repo, 'client', 'src'))) {
    throw new NotPackageable('client/src does not exist yet, so there is no extension entry point to bundle.');
  }
  if (!manifest.main) throw new NotPackageable('package.json has no "main" entry.');
  execFileSync(process.execPath, [path.join(repo, 'esbuild.mjs'), '--production'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  const main = path.resolve(repo, manifest.main);
  if (!fs.existsSync(main) && !fs.existsSync(`${main}.js`)) {
    throw new NotPackageable(`package.json "main" is ${manifest.main}, which esbuild.mjs did not build.`);
  }
  // esbuild.mjs --production fails without it; check anyway, since a .vsix without it silently loses exact thread roots.
  if (!fs.existsSync(path.join(repo, 'dist', 'pygration-freeze'))) {
    throw new Error('dist/pygration-freeze (the thread freezer, built with gcc by esbuild.mjs) is missing.');
  }
  if (!fs.existsSync(path.join(repo, '.vscodeignore'))) {
    throw new NotPackageable('.vscodeignore is missing: without the allowlist the whole repository would be packaged.');
  }
  return vsix(repo, manifest, TARGET);
}

/** The helper extension: bundled from TypeScript into a staging folder under out/, then packaged. */
async function packageHelper() {
  const src = path.join(repo, 'test', 'e2e', 'helper-extension');
  const stage = path.join(repo, 'out', 'e2e-helper-extension');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
  for (const f of ['package.json', 'README.md']) fs.copyFileSync(path.join(src, f), path.join(stage, f));
  await esbuild.build({
    entryPoints: [path.join(src, 'src', 'extension.ts')],
    outfile: path.join(stage, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    logLevel: 'warning',
    legalComments: 'none',
  });
  const manifest = JSON.parse(fs.readFileSync(path.join(stage, 'package.json'), 'utf8'));
  return vsix(stage, manifest);
}

const started = Date.now();
try {
  const packagePath = helper ? await packageHelper() : await packageRepo();
  const bytes = fs.statSync(packagePath).size;
  const files = Number(execFileSync('unzip', ['-Z1', packagePath], { encoding: 'utf8' }).trim().split('\n').length);
  const result = { path: packagePath, bytes, files, ms: Date.now() - started };
  console.error(`package: ${packagePath} (${files} files, ${(bytes / 1024).toFixed(1)} KiB, ${result.ms} ms)`);
  console.log(json ? JSON.stringify(result) : packagePath);
} catch (e) {
  if (e instanceof NotPackageable) {
    console.error(`package: the extension is not packageable yet: ${e.message}`);
    if (json) console.log(JSON.stringify({ notPackageable: e.message }));
    process.exit(2);
  }
  console.error(`package: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
