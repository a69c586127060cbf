// The fleet agent's DaemonSet (docs/kubernetes/pygration-daemonset.yaml) checked offline: it parses, has the
// shape Kubernetes requires, the least privilege docs/kubernetes.md describes, the same text as the doc, and
// the command it runs is one the built CLI accepts (run in an empty PID namespace: no Python process there).

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, haveCommand } from '../helpers/fixtures';
import { hostSkipUnless } from '../helpers/skip';

// js-yaml (a devDependency of eslint) parses YAML offline; it ships no types.
const yaml = createRequire(__filename)('js-yaml') as { loadAll(text: string): unknown[] };
const FILE = path.join(REPO_ROOT, 'docs', 'kubernetes', 'pygration-daemonset.yaml');
const text = fs.readFileSync(FILE, 'utf8');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('the DaemonSet manifest', () => {
  const docs = yaml.loadAll(text) as any[];
  const ds = docs[0];
  const pod = ds.spec.template.spec;
  const agent = pod.containers[0];

  test('is one apps/v1 DaemonSet whose selector matches its pod template', () => {
    assert.equal(docs.length, 1);
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(ds.kind, 'DaemonSet');
    assert.match(ds.metadata.name, DNS_LABEL);
    assert.match(ds.metadata.namespace, DNS_LABEL);
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(ds.spec.template.metadata.labels[k], v, `selector ${k}`);
    assert.equal(pod.containers.length, 1);
    for (const c of pod.containers) {
      assert.match(c.name, DNS_LABEL);
      assert.equal(typeof c.image, 'string');
      for (const e of c.env ?? []) assert.equal(typeof e.value, 'string', `env ${e.name} is a string`);
      for (const m of c.volumeMounts ?? []) assert.ok(pod.volumes.some((v: any) => v.name === m.name), `volume ${m.name} is declared`);
      assert.ok(c.resources?.limits?.memory, 'a memory limit');
    }
  });

  test('sees the node\'s processes with the least privilege docs/kubernetes.md lists', () => {
    assert.equal(pod.hostPID, true);
    assert.equal(pod.hostNetwork, undefined);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.nodeSelector['kubernetes.io/arch'], 'amd64');
    const sc = agent.securityContext;
    assert.equal(sc.privileged, false);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    assert.deepEqual([...sc.capabilities.add].sort(), ['DAC_READ_SEARCH', 'SETGID', 'SETUID', 'SYS_PTRACE']);
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'kubernetes.md'), 'utf8');
    for (const cap of sc.capabilities.add) assert.match(doc, new RegExp(cap.replace('SYS_', '(CAP_SYS_)?')), `docs/kubernetes.md explains ${cap}`);
    // /tmp is the only writable place, and the xtest probe executes a file there.
    assert.ok(agent.volumeMounts.some((m: any) => m.mountPath === '/tmp'));
    assert.ok(pod.volumes.find((v: any) => v.name === 'tmp').emptyDir);
    assert.equal(agent.env.find((e: any) => e.name === 'TMPDIR').value, '/tmp');
  });

  test('docs/kubernetes.md shows this very manifest', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'kubernetes.md'), 'utf8');
    assert.ok(doc.includes('```yaml\n' + text + '```'), 'the doc embeds the file verbatim');
  });

  const root = process.getuid?.() === 0;
  const canUnshare = root && haveCommand('unshare') && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
  test(
    'runs a command the built CLI accepts',
    { skip: hostSkipUnless(canUnshare, 'needs root and unshare --pid --mount-proc (an empty PID namespace, so --all finds no Python process)') },
    () => {
      const line = (agent.args[0] as string).split('\n').find((l) => l.includes('cli.js'))!.trim();
      const m = /^node \/opt\/pygration\/cli\.js (.*)$/.exec(line);
      assert.ok(m, line);
      const args = m[1].split(/\s+/);
      assert.deepEqual(args.slice(0, 4), ['analyze', '--all', '--format', 'json']);
      const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, path.join(REPO_ROOT, 'dist', 'cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /no Python process found/);
    },
  );
});
