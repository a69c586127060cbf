// A minimal Debug Adapter Protocol client for tests: spawns a debug adapter speaking DAP over stdio
// (e.g. Debian's `python3 -m debugpy.adapter`), frames messages, matches responses, and lets a test see
// every message in both directions, as VS Code's DebugAdapterTracker does.

import { spawn, type ChildProcess } from 'node:child_process';
import type { DebugProtocol } from '@vscode/debugprotocol';

export type DapMessage = DebugProtocol.ProtocolMessage & Record<string, unknown>;

export interface DapObserver {
  /** Adapter → client (events, responses, reverse requests): VS Code's onDidSendMessage. */
  fromAdapter?(message: DapMessage): void;
  /** Client → adapter (requests): VS Code's onWillReceiveMessage. */
  toAdapter?(message: DapMessage): void;
}

export class DapClient {
  private readonly child: ChildProcess;
  private buffer = Buffer.alloc(0);
  private seq = 1;
  private readonly pending = new Map<number, { resolve: (r: DebugProtocol.Response) => void; reject: (e: Error) => void }>();
  private readonly waiters: Array<{ match: (m: DapMessage) => boolean; resolve: (m: DapMessage) => void }> = [];
  /** Every message the adapter sent, in order. */
  readonly received: DapMessage[] = [];
  stderr = '';
  exited = false;

  constructor(command: string, args: string[], private readonly observer: DapObserver = {}) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.once('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`the debug adapter exited. stderr: ${this.stderr}`));
      this.pending.clear();
    });
  }

  /** Sends a request and resolves with its response (rejects when it fails or the adapter exits). */
  request<R extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown): Promise<R> {
    const message: DebugProtocol.Request = { seq: this.seq++, type: 'request', command, arguments: args };
    this.observer.toAdapter?.(message as unknown as DapMessage);
    const json = JSON.stringify(message);
    return new Promise<R>((resolve, reject) => {
      this.pending.set(message.seq, {
        resolve: (r) => (r.success ? resolve(r as R) : reject(new Error(`${command} failed: ${r.message ?? ''} ${JSON.stringify(r.body ?? {})}`))),
        reject,
      });
      this.child.stdin!.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    });
  }

  /** Resolves with the first message (already received or future) that matches, or rejects after `ms`. */
  waitFor(match: (m: DapMessage) => boolean, ms = 20_000, what = 'a DAP message'): Promise<DapMessage> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<DapMessage>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: DapMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        // A caller that blocked the event loop (the engine runs in-process) may have left messages unread:
        // let pending I/O in before giving up.
        setImmediate(() =>
          setImmediate(() => {
            const i = this.waiters.indexOf(waiter);
            if (i < 0) return;
            this.waiters.splice(i, 1);
            reject(new Error(`no ${what} within ${ms} ms. stderr: ${this.stderr}`));
          }),
        );
      }, ms);
      this.waiters.push(waiter);
    });
  }

  /** Waits for the n-th (1-based) event named `event`. */
  waitForEvent(event: string, nth = 1, ms = 20_000): Promise<DapMessage> {
    let count = 0;
    return this.waitFor((m) => m.type === 'event' && m.event === event && ++count === nth, ms, `'${event}' event #${nth}`);
  }

  /** Kills the adapter (SIGKILL) and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const m = /Content-Length:\s*(\d+)/i.exec(header);
      if (!m) throw new Error(`bad DAP header: ${header}`);
      const length = Number(m[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as DapMessage;
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.received.push(message);
      this.observer.fromAdapter?.(message);
      if (message.type === 'response') {
        const r = message as unknown as DebugProtocol.Response;
        const p = this.pending.get(r.request_seq);
        this.pending.delete(r.request_seq);
        p?.resolve(r);
      }
      for (const w of this.waiters.slice()) {
        if (w.match(message)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(message);
        }
      }
    }
  }
}
