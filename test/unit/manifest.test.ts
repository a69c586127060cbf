// The extension's manifest and package contents as users and VS Code read them (issue 14): workspace trust,
// extension kind, activation, context keys of the when clauses, the walkthrough, the icon, the changelog,
// the repository, and that every document a packaged document links to is packaged too (vsce's own list).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { CONTEXT_KEYS, Ids } from '../../client/src/logic/ids';
import { REPO_ROOT } from '../helpers/fixtures';

interface Manifest {
  icon?: string;
  repository?: { type: string; url: string } | string;
  extensionKind?: string[];
  activationEvents: string[];
  capabilities?: { untrustedWorkspaces?: { supported: boolean | 'limited'; description?: string; restrictedConfigurations?: string[] } };
  contributes: {
    commands: Array<{ command: string }>;
    configuration: { properties: Record<string, { scope?: string }> };
    menus: Record<string, Array<{ command: string; when?: string }>>;
    walkthroughs?: Array<{
      id: string;
      title: string;
      when?: string;
      steps: Array<{ id: string; title: string; description: string; media: { markdown?: string; image?: string; altText?: string }; completionEvents?: string[] }>;
    }>;
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
/** The files vsce packages (the .vscodeignore allowlist over what exists), relative, with '/'. */
let packaged: Set<string>;

before(async () => {
  // vsce's own listing: exactly what `npm run package` puts into the .vsix (PackageManager.None: no npm run).
  const { listFiles, PackageManager } = (await import('@vscode/vsce')) as unknown as {
    listFiles(o: { cwd: string; packageManager: number }): Promise<string[]>;
    PackageManager: { None: number };
  };
  packaged = new Set((await listFiles({ cwd: REPO_ROOT, packageManager: PackageManager.None })).map((f) => f.split(path.sep).join('/')));
});

test('workspace trust: limited support, with the settings that name programs or files restricted', () => {
  const trust = manifest.capabilities?.untrustedWorkspaces;
  assert.ok(trust, 'capabilities.untrustedWorkspaces is declared (else Restricted Mode disables the extension silently)');
  assert.equal(trust.supported, 'limited');
  assert.ok((trust.description ?? '').length > 40, 'limited support says what is limited');
  const restricted = trust.restrictedConfigurations ?? [];
  assert.ok(restricted.includes(Ids.setting.pythonPath), 'pygration.pythonPath is executed: restricted');
  assert.ok(restricted.includes(Ids.setting.catalogPath), 'pygration.catalogPath names a file: restricted');
  for (const key of restricted) assert.ok(key in manifest.contributes.configuration.properties, `${key} is a declared setting`);
});

test('platform: runs in the workspace extension host', () => {
  assert.deepEqual(manifest.extensionKind, ['workspace']);
});

test('activation: Python files, debug sessions and the serializer; never a workspaceContains glob or *', () => {
  assert.ok(!manifest.activationEvents.some((e) => e.startsWith('workspaceContains:')), manifest.activationEvents.join(', '));
  assert.ok(!manifest.activationEvents.includes('*'));
  assert.ok(manifest.activationEvents.includes('onLanguage:python'));
  // Commands activate on their own since VS Code 1.74 (engines.vscode is ^1.91): no onCommand events needed.
  assert.ok(!manifest.activationEvents.some((e) => e.startsWith('onCommand:')));
});

test("when clauses use only the extension's context keys (set with setContext) and VS Code's own", () => {
  const whens = [
    ...Object.values(manifest.contributes.menus).flatMap((entries) => entries.map((e) => e.when ?? '')),
    ...(manifest.contributes.walkthroughs ?? []).map((w) => w.when ?? ''),
    ...(manifest.contributes.walkthroughs ?? []).flatMap((w) => w.steps.flatMap((s) => (s.completionEvents ?? []).filter((c) => c.startsWith('onContext:')))),
  ].join(' ');
  const keys = new Set(Object.values(CONTEXT_KEYS) as string[]);
  // Command ids and the view type also appear in when clauses (activeWebviewPanelId == pygration.instances).
  const notKeys = new Set<string>([Ids.instanceViewType]);
  const used = new Set([...whens.matchAll(/pygration\.[A-Za-z.]+/g)].map((m) => m[0]).filter((k) => !notKeys.has(k)));
  for (const k of used) assert.ok(keys.has(k), `${k} is one of CONTEXT_KEYS`);
  for (const k of keys) assert.ok(used.has(k), `${k} is used by a when clause`);
  // Commands that need a report or live results are hidden until there is one.
  const palette = new Map(manifest.contributes.menus.commandPalette.map((e) => [e.command, e.when ?? '']));
  assert.match(palette.get(Ids.command.exportReport) ?? '', /pygration\.hasReport/);
  assert.match(palette.get(Ids.command.copyRestoreCommand) ?? '', /pygration\.hasReport/);
  assert.match(palette.get(Ids.command.clearLive) ?? '', /pygration\.hasLive/);
  // Before activation an unset key reads false: what must stay reachable then is guarded by a negative key.
  assert.equal(palette.get(Ids.command.analyzeProcess), `!${CONTEXT_KEYS.unsupportedPlatform}`);
});

test('walkthrough: four steps whose media exist and are packaged, completed by real events', () => {
  const [w] = manifest.contributes.walkthroughs ?? [];
  assert.ok(w, 'contributes.walkthroughs has the walkthrough');
  assert.equal(w.id, Ids.walkthrough);
  assert.deepEqual(
    w.steps.map((s) => s.id),
    ['openPythonFile', 'seeTheLenses', 'analyzeRunningProcess', 'readTheInstanceView'],
  );
  const commands = new Set(manifest.contributes.commands.map((c) => c.command));
  for (const s of w.steps) {
    const media = s.media.markdown ?? s.media.image;
    assert.ok(media, `${s.id} has media`);
    assert.ok(fs.existsSync(path.join(REPO_ROOT, media)), `${media} exists`);
    assert.ok(packaged.has(media), `${media} is packaged`);
    assert.ok((s.completionEvents ?? []).length > 0, `${s.id} can be completed`);
    for (const e of s.completionEvents ?? []) if (e.startsWith('onCommand:')) assert.ok(commands.has(e.slice('onCommand:'.length)), e);
    for (const m of s.description.matchAll(/\(command:([a-zA-Z.]+)/g)) if (m[1].startsWith('pygration.')) assert.ok(commands.has(m[1]), m[1]);
  }
  assert.ok(w.steps.some((s) => (s.completionEvents ?? []).includes(`onCommand:${Ids.command.analyzeProcess}`)), 'a step runs Analyze Running Process');
});

test('icon: a 128x128 PNG, packaged', () => {
  assert.ok(manifest.icon, 'package.json names an icon');
  const png = fs.readFileSync(path.join(REPO_ROOT, manifest.icon));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
  assert.ok(packaged.has(manifest.icon), `${manifest.icon} is packaged`);
});

test('CHANGELOG.md and the repository field are there', () => {
  assert.ok(packaged.has('CHANGELOG.md'), 'CHANGELOG.md is packaged');
  assert.match(fs.readFileSync(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'), /^# Changelog/);
  const repo = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  assert.match(repo ?? '', /^https:\/\/\S+$/, 'package.json has a repository URL');
});

/**
 * The relative link targets of a Markdown file (links and images; anchors and URLs left out). An escaped bracket
 * (`models\[…\](…)`, as the evaluation report writes a call site) is text, not a link.
 */
function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/!?(?<!\\)\[(?:\\.|[^\]\\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1].replace(/#.*$/, '');
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    out.push(decodeURI(target));
  }
  return out;
}

test('every document a packaged document links to is packaged (README, docs, changelog, walkthrough)', () => {
  const docs = [...packaged].filter((f) => f.endsWith('.md'));
  assert.ok(docs.includes('README.md') && docs.includes('docs/extension.md'));
  const missing: string[] = [];
  for (const doc of docs) {
    const text = fs.readFileSync(path.join(REPO_ROOT, doc), 'utf8');
    for (const link of relativeLinks(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(doc), link));
      if (!packaged.has(target)) missing.push(`${doc} → ${link}`);
    }
  }
  assert.deepEqual(missing, [], 'links to files the .vsix does not contain');
  // The check itself finds links: the README links to the user guide and its screenshots.
  assert.ok(relativeLinks(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')).includes('docs/extension.md'));
});
