// LSP framing errors over the real server process (dist/server.js --stdio, raw bytes on its stdin): a
// Content-Length that is not a number, too small for its body, or 2^31 makes the server exit with the
// reason on stderr (the client then restarts it) instead of staying alive and mute; sound framing split
// across writes, or several messages in one write, is served as before. Also FramingChecker on its own.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { FramingChecker } from '../../server/src/framing';
import { REPO_ROOT } from '../helpers/fixtures';

const SERVER = path.join(REPO_ROOT, 'dist', 'server.js');

function frame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

const initialize = (id: number) => ({ jsonrpc: '2.0', id, method: 'initialize', params: { processId: process.pid, rootUri: null, capabilities: {} } });

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(): Running {
  const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves when `cond` holds; rejects after `ms` with `what`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withExitDeadline(r: Running, ms: number): Promise<number | null | 'alive'> {
  let timer: NodeJS.Timeout | undefined;
  const alive = new Promise<'alive'>((resolve) => (timer = setTimeout(() => resolve('alive'), ms)));
  const code = await Promise.race([r.exited, alive]);
  clearTimeout(timer);
  return code;
}

for (const [name, bad] of [
  ['a Content-Length that is not a number', Buffer.from('Content-Length: abc\r\n\r\n{"jsonrpc":"2.0","id":7,"method":"shutdown"}', 'ascii')],
  [
    'a Content-Length too small for its body',
    (() => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'shutdown' });
      return Buffer.from(`Content-Length: 5\r\n\r\n${body}`, 'ascii');
    })(),
  ],
  ['a Content-Length of 2^31', Buffer.from('Content-Length: 2147483648\r\n\r\n{"jsonrpc":"2.0","id":7,"method":"shutdown"}', 'ascii')],
] as const) {
  test(`the server exits, saying why, after ${name} (instead of staying alive and mute)`, async () => {
    const r = start();
    try {
      r.child.stdin!.write(frame(initialize(1)));
      await waitFor(() => /"id":1,"result"/.test(r.stdout()), 30_000, 'the initialize response');
      r.child.stdin!.write(bad);
      // The request after the bad frame is never answered by a desynchronised reader; the server must end.
      r.child.stdin!.write(frame({ jsonrpc: '2.0', id: 8, method: 'shutdown' }));
      const code = await withExitDeadline(r, 15_000);
      assert.notEqual(code, 'alive', `the server still runs 15 s after ${name}; stderr: ${r.stderr().slice(-500)}`);
      assert.equal(code, 1);
      assert.match(r.stderr(), /message boundaries are lost/);
    } finally {
      r.child.kill('SIGKILL');
    }
  });
}

test('sound framing split across writes, and several messages in one write, are served', async () => {
  const r = start();
  try {
    const first = frame(initialize(1));
    for (let i = 0; i < first.length; i += 7) {
      r.child.stdin!.write(first.subarray(i, i + 7));
      await new Promise((res) => setImmediate(res));
    }
    await waitFor(() => /"id":1,"result"/.test(r.stdout()), 30_000, 'the initialize response');
    r.child.stdin!.write(
      Buffer.concat([
        frame({ jsonrpc: '2.0', method: 'initialized', params: {} }),
        Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n', 'ascii'),
        frame({ jsonrpc: '2.0', id: 2, method: 'shutdown' }),
      ]),
    );
    await waitFor(() => /"id":2,"result":null/.test(r.stdout()), 30_000, 'the shutdown response');
    r.child.stdin!.write(frame({ jsonrpc: '2.0', method: 'exit' }));
    assert.equal(await withExitDeadline(r, 15_000), 0, r.stderr());
  } finally {
    r.child.kill('SIGKILL');
  }
});

test('FramingChecker: byte by byte, non-ASCII bodies, and each kind of error', () => {
  const ok = new FramingChecker();
  const msg = frame({ jsonrpc: '2.0', method: 'x', params: { text: 'é → ∑ 😀' } });
  for (const b of Buffer.concat([msg, msg])) assert.equal(ok.push(Buffer.from([b])), undefined);
  const err = (s: string) => new FramingChecker().push(Buffer.from(s, 'utf8'));
  assert.match(err('Content-Length: abc\r\n\r\n{}') ?? '', /not a number/);
  assert.match(err('Content-Length: 2147483648\r\n\r\n') ?? '', /above the/);
  assert.match(err('Content-Length: 3\r\n\r\n{"a":1}') ?? '', /not one JSON message/);
  assert.match(err('Content-Type: x\r\n\r\n{}') ?? '', /without Content-Length/);
  assert.match(err('garbage\r\n\r\n') ?? '', /not "Name: value"/);
  assert.match(err('x'.repeat(9000)) ?? '', /header block longer/);
});
