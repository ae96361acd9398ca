import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Annotation, type Descriptor } from '../../oci/index.js';
import { drawsProgress } from '../io.js';
import { textCells } from './cells.js';
import { CliStream } from './cli-stream.js';
import { TransferDisplay } from './transfer.js';

/**
 * A terminal's worth of output (what the bars write to stderr), `columns` wide and `rows` high when
 * given; `frames()` splits what was drawn at each cursor move up.
 */
function terminal(size: { columns?: number; rows?: number } = {}) {
  let text = '';
  const target = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY: true, ...size },
  );
  return {
    stream: new CliStream(target as unknown as NodeJS.WriteStream),
    text: () => text,
    /** Each frame's lines, and how many lines the move before it went up. */
    frames: () => {
      const parts = text.split(new RegExp(`${String.fromCharCode(27)}\\[(\\d+)A${String.fromCharCode(27)}\\[J`));
      const frames: { up: number; lines: string[] }[] = [];
      for (let i = 0; i < parts.length; i += 2) {
        frames.push({ up: i === 0 ? 0 : Number(parts[i - 1]), lines: (parts[i] as string).split('\n').slice(0, -1) });
      }
      return frames;
    },
  };
}

test('a bar cuts a long name at a whole escape, never inside one', () => {
  const err = terminal();
  const out = terminal();
  const display = new TransferDisplay(
    { stdout: out.stream, stderr: err.stream, isTTY: true, debug: false },
    { start: 'Copying', done: 'Copied', exists: 'Exists' },
  );
  // 38 plain characters, then a bidi override: its escape (\u202e) does not fit in the 40 left.
  const title = `${'a'.repeat(38)}\u202eevil`;
  const desc: Descriptor = {
    mediaType: 'application/octet-stream',
    digest: `sha256:${'1'.repeat(64)}`,
    size: 1,
    annotations: { [Annotation.Title]: title },
  };
  display.preCopy(desc);
  display.postCopy(desc);
  display.stop();
  const line = err
    .text()
    .split('\n')
    .find((l) => l.includes('aaaa')) as string;
  assert.ok(line, err.text());
  assert.ok(line.includes(`${'a'.repeat(38)}  `), line);
  assert.doesNotMatch(line, /\\u2|\\u20/, 'no escape cut in its middle');
  assert.doesNotMatch(line, /\u202e/, 'the override itself never reaches the terminal');
});

function blob(n: number, title: string, size = 1000): Descriptor {
  return {
    mediaType: 'application/octet-stream',
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size,
    annotations: { [Annotation.Title]: title },
  };
}

test('on a narrow, short terminal every line fits its width and each frame moves up over exactly the last', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  for (const [columns, rows] of [
    [20, 24],
    [80, 8],
    [45, 6],
  ] as const) {
    const err = terminal({ columns, rows });
    const out = terminal();
    const display = new TransferDisplay(
      { stdout: out.stream, stderr: err.stream, isTTY: true, debug: false },
      { start: 'Uploading', done: 'Uploaded', exists: 'Exists' },
    );
    // Names wider than any of these terminals, a wide (CJK) one among them.
    const descs = [
      blob(1, 'a-rather-long-file-name-for-a-narrow-terminal.tar.gz'),
      blob(2, '名前のとても長いファイル名前のとても長いファイル.txt'),
      blob(3, 'short', 5_000_000),
      blob(4, 'another-file-with-a-long-name.bin', 7_000_000),
    ];
    for (const d of descs) display.preCopy(d);
    t.mock.timers.tick(150);
    display.onProgress(descs[2] as Descriptor, 1_000_000);
    display.postCopy(descs[0] as Descriptor);
    t.mock.timers.tick(150);
    display.postCopy(descs[1] as Descriptor);
    display.onProgress(descs[3] as Descriptor, 3_000_000);
    t.mock.timers.tick(150);
    for (const d of descs.slice(2)) display.postCopy(d);
    display.stop();
    const frames = err.frames();
    assert.ok(frames.length >= 3, `${columns}x${rows}: ${frames.length} frames`);
    for (const [i, frame] of frames.entries()) {
      for (const line of frame.lines) {
        // Before: a line of 100+ cells, which wraps on an 80-column terminal.
        assert.ok(textCells(line) <= columns - 1, `${columns}x${rows}: ${JSON.stringify(line)} is too wide`);
      }
      const last = i === frames.length - 1;
      if (!last)
        assert.ok(frame.lines.length <= rows - 1, `${columns}x${rows}: a live frame of ${frame.lines.length} lines`);
      if (i > 0) assert.equal(frame.up, frames[i - 1]?.lines.length, 'moves up over exactly the frame before');
    }
    // The last frame shows every blob.
    assert.equal(frames.at(-1)?.lines.length, descs.length * 2 + 1);
  }
});

test('a terminal that cannot move its cursor (TERM=dumb) gets the plain lines', () => {
  assert.equal(drawsProgress(true, { TERM: 'xterm-256color' }), true);
  assert.equal(drawsProgress(true, {}), true);
  assert.equal(drawsProgress(true, { TERM: 'dumb' }), false);
  assert.equal(drawsProgress(false, { TERM: 'xterm' }), false);
});
