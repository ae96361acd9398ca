import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Annotation, type Descriptor } from '../../oci/index.js';
import { CliStream } from './cli-stream.js';
import { TransferDisplay } from './transfer.js';

/** A terminal's worth of output: what the bars write to stderr. */
function terminal(): { stream: CliStream; text: () => string } {
  let text = '';
  const target = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY: true },
  );
  return { stream: new CliStream(target as unknown as NodeJS.WriteStream), text: () => text };
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
