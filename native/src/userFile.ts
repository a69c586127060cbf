// The one reader for files a user names (instance catalogs, bandwidth files): only regular files up to a
// size limit, opened without blocking on FIFOs, and JSON parse errors that give the position, never the
// file's bytes (a wrong path such as /etc/shadow must not be echoed to the terminal or a log).

import * as fs from 'node:fs';
import { NativeError, fromSystemError } from './errors';

/** Largest user file read (the shipped catalog is about 60 KB). */
export const USER_FILE_MAX_BYTES = 16 * 1024 * 1024;

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a user-named file as UTF-8. `what` names it in messages ("instance catalog"). Throws NativeError:
 * 'unsupported' for anything but a regular file or a file above `maxBytes`; 'io'/'permission' as the
 * system says.
 */
export function readUserFile(file: string, what: string, maxBytes = USER_FILE_MAX_BYTES): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    throw fromSystemError(e, file);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new NativeError('unsupported', `The ${what} ${file} is ${kindOf(st)}; only regular files are read.`, { subject: file, hint: `Give the path of a JSON file.` });
    }
    const tooLarge = () =>
      new NativeError('unsupported', `The ${what} ${file} is larger than ${maxBytes} bytes; files that large are refused.`, { subject: file, hint: `Give a ${what} of at most ${maxBytes} bytes.` });
    if (st.size > maxBytes) throw tooLarge();
    // Read to the end, but never more than the limit (the file may grow while it is read, and files such as
    // those of /proc state size 0).
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(Math.max(st.size + 1 - length, 64 * 1024), maxBytes + 1 - length));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw tooLarge();
    }
    const buf = Buffer.concat(chunks, length);
    return buf.toString('utf8');
  } catch (e) {
    throw fromSystemError(e, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * JSON.parse with an error that says where the text stops being JSON (line and column), without quoting it:
 * V8's messages include a piece of the input.
 */
export function parseUserJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    let where = '';
    if (m) {
      const pos = Math.min(Number(m[1]), text.length);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      where = ` (at line ${line}, column ${pos - before.lastIndexOf('\n')})`;
    } else if (text.trim() === '') where = ' (the file is empty)';
    throw new NativeError('malformed', `The ${what} ${file} is not valid JSON${where}.`, { subject: file, hint: 'Check that the path names the intended JSON file.' });
  }
}

/** readUserFile + parseUserJson. */
export function readUserJson(file: string, what: string, maxBytes = USER_FILE_MAX_BYTES): unknown {
  return parseUserJson(readUserFile(file, what, maxBytes), file, what);
}
