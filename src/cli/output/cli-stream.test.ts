import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { CliStream } from './cli-stream.js';

/** A stdout that records what reaches it, a terminal or not. */
function target(isTTY: boolean): { stream: CliStream; written: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  Object.assign(sink, { isTTY });
  return { stream: new CliStream(sink), written: () => Buffer.concat(parts) };
}

// A manifest's bytes with everything a terminal must not get raw: a bidi override and its pop,
// isolates, a zero width space, a BOM, a line separator, the Arabic letter mark, ESC, a C1 CSI;
// and characters it must get as they are: é, 中, an emoji, a lone continuation byte, a broken sequence.
const hostile = Buffer.concat([
  Buffer.from(
    '{"a":"\u202etxt.exe\u202c","b":"\u2066x\u2069\u200b\ufeff\u2028\u061c\u001b[2J\u009b","c":"é中😀"}',
    'utf8',
  ),
  Buffer.from([0x80, 0xe2, 0x80, 0x41, 0x0a]),
]);
const shown =
  '{"a":"\\u202etxt.exe\\u202c","b":"\\u2066x\\u2069\\u200b\\ufeff\\u2028\\u061c\\u001b[2J\\u009b","c":"é中😀"}';

describe('CliStream: bytes and text on a terminal', () => {
  test('into a pipe or a file the bytes are exact, whatever they hold', () => {
    const { stream, written } = target(false);
    stream.write(hostile);
    assert.deepEqual(written(), hostile);
  });

  test('into a terminal every control and invisible formatting character is escaped; the rest is exact', () => {
    const { stream, written } = target(true);
    stream.write(hostile);
    stream.end();
    assert.deepEqual(
      written(),
      Buffer.concat([Buffer.from(shown, 'utf8'), Buffer.from([0x80, 0xe2, 0x80, 0x41, 0x0a])]),
    );
  });

  test('a character split between writes at any byte is escaped the same', () => {
    for (let cut = 1; cut < hostile.length; cut++) {
      for (const second of [cut + 1, cut + 2]) {
        const { stream, written } = target(true);
        stream.write(hostile.subarray(0, cut));
        stream.write(hostile.subarray(cut, Math.min(second, hostile.length)));
        stream.write(hostile.subarray(Math.min(second, hostile.length)));
        stream.end();
        assert.equal(written().toString('utf8'), `${shown}\ufffd\ufffdA\n`, `cut at ${cut} and ${second}`);
      }
    }
  });

  test('text: bidi and other invisible characters are escaped on a terminal only; controls everywhere', () => {
    const text = 'name \u202eexe.txt\u2069 \u001b]0;x\u0007\n';
    const tty = target(true);
    tty.stream.write(text);
    assert.equal(tty.written().toString('utf8'), 'name \\u202eexe.txt\\u2069 \\u001b]0;x\\u0007\n');
    const pipe = target(false);
    pipe.stream.write(text);
    assert.equal(pipe.written().toString('utf8'), 'name \u202eexe.txt\u2069 \\u001b]0;x\\u0007\n');
  });

  test('the held start of a sequence is written before text that follows, in order', () => {
    const { stream, written } = target(true);
    stream.write(Buffer.from([0x41, 0xe2, 0x80]));
    stream.write('B\n');
    assert.deepEqual(written(), Buffer.from([0x41, 0xe2, 0x80, 0x42, 0x0a]));
  });
});

describe('CliStream: waiting for a full stream to take more', () => {
  /** A stdout whose reader stopped reading: nothing written ever completes. */
  function stalled(): CliStream {
    const sink = new Writable({ highWaterMark: 4, write() {} });
    return new CliStream(sink);
  }

  test('a Ctrl-C (the signal) ends the wait with its reason, at once and when already given', async () => {
    const out = stalled();
    assert.equal(out.write('more than four bytes'), false, 'full');
    const stop = new AbortController();
    const waiting = out.drained(stop.signal);
    const reason = new Error('interrupted');
    stop.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    await assert.rejects(out.drained(stop.signal), (e) => e === reason);
    assert.equal(out.listenerCount('drain'), 0, 'no waiter left behind');
  });

  test('drains as the stream does; a reader that went away ends the wait too', async () => {
    const parts: string[] = [];
    let release: (() => void) | undefined;
    const sink = new Writable({
      highWaterMark: 4,
      write(chunk, _encoding, done) {
        parts.push(String(chunk));
        release = done;
      },
    });
    const out = new CliStream(sink);
    const signal = new AbortController().signal;
    assert.equal(out.write('more than four bytes'), false);
    const waiting = out.drained(signal);
    release?.();
    await waiting;
    assert.deepEqual(parts, ['more than four bytes']);

    const sinkOfGone = new Writable({ highWaterMark: 4, write() {} });
    const gone = new CliStream(sinkOfGone);
    assert.equal(gone.write('more than four bytes'), false);
    const pending = gone.drained(signal);
    sinkOfGone.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await pending;
    assert.equal(gone.readerGone, true);
    await gone.drained(signal);
  });
});
