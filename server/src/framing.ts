// A guard over the language server's stdio framing: it reads the same bytes as vscode-jsonrpc's reader and,
// at the first framing error (a Content-Length that is not a number, too large, or too small for the body),
// reports it on stderr and ends the process, so that the client restarts the server. vscode-jsonrpc reports
// such errors but keeps reading from a stream whose message boundaries are lost: the server stayed alive and
// answered nothing, ever again.

/** Largest message accepted (a didOpen carries a whole file; 2^31 is a broken or hostile client). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Longest header block (the protocol has two short headers). */
const MAX_HEADER_BYTES = 8 * 1024;
const SEPARATOR = Buffer.from('\r\n\r\n', 'ascii');

/**
 * Checks an LSP byte stream chunk by chunk. `push` returns undefined while the framing is sound, and the
 * error's description at the first violation (after which the stream cannot be trusted).
 */
export class FramingChecker {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The body length announced by the last header block, or -1 while reading headers. */
  private bodyLength = -1;
  private failed?: string;

  push(chunk: Buffer): string | undefined {
    if (this.failed) return this.failed;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.bodyLength < 0) {
        const all = this.joined();
        const end = all.indexOf(SEPARATOR);
        if (end < 0) {
          if (all.length > MAX_HEADER_BYTES) return this.fail(`a header block longer than ${MAX_HEADER_BYTES} bytes`);
          return undefined;
        }
        const error = this.headers(all.subarray(0, end).toString('ascii'));
        if (error) return this.fail(error);
        this.consume(end + SEPARATOR.length);
      }
      if (this.buffered < this.bodyLength) return undefined;
      const body = this.joined().subarray(0, this.bodyLength);
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        return this.fail(`a body of ${this.bodyLength} bytes that is not one JSON message (its Content-Length does not match it)`);
      }
      this.consume(this.bodyLength);
      this.bodyLength = -1;
    }
  }

  /** Parses a header block; sets bodyLength, or returns what is wrong. */
  private headers(block: string): string | undefined {
    let length: number | undefined;
    for (const line of block.split('\r\n')) {
      const m = /^([A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!m) return `a header line that is not "Name: value" (${line.length} bytes)`;
      const name = m[1].toLowerCase();
      if (name === 'content-length') {
        if (!/^\d{1,10}$/.test(m[2])) return `Content-Length "${m[2].slice(0, 20)}", not a number`;
        length = Number(m[2]);
        if (length > MAX_MESSAGE_BYTES) return `Content-Length ${length}, above the ${MAX_MESSAGE_BYTES}-byte limit`;
      } else if (name !== 'content-type') return `an unknown header "${m[1].slice(0, 40)}"`;
    }
    if (length === undefined) return 'a header block without Content-Length';
    this.bodyLength = length;
    return undefined;
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): void {
    const rest = this.joined().subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
  }

  private fail(what: string): string {
    this.failed = `The language server received ${what} on its input; the message boundaries are lost, so it stops (the client restarts it).`;
    this.chunks = [];
    this.buffered = 0;
    return this.failed;
  }
}

/**
 * Watches `input` (process.stdin under --stdio) alongside the connection's own reader; at a framing error,
 * writes the reason to stderr and exits with status 1.
 */
export function guardFraming(input: NodeJS.ReadableStream, exit: (code: number) => never = process.exit): void {
  const checker = new FramingChecker();
  input.on('data', (chunk: Buffer | string) => {
    const error = checker.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (error) {
      process.stderr.write(`${error}\n`);
      exit(1);
    }
  });
}
