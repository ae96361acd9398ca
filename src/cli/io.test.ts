import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { LadingError } from '../oci/index.js';
import { type CliIO, reportError } from './io.js';
import { CliStream } from './output/cli-stream.js';

function captured(): { io: CliIO; stderr: () => string } {
  const err = new PassThrough();
  let text = '';
  err.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return {
    io: { stdout: new CliStream(new PassThrough()), stderr: new CliStream(err), isTTY: false, debug: false },
    stderr: () => text,
  };
}

test('an error quoting data with a line break stays one line and keeps the reason after it', async () => {
  const { io, stderr } = captured();
  reportError(io, new LadingError('SIGNATURE_INVALID', 'signature "default\nok": descriptor digest mismatch'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stderr(), 'Error: signature "default\\nok": descriptor digest mismatch\n');
});

test("another library's error with an excerpt below its first line: the first line", async () => {
  const { io, stderr } = captured();
  reportError(io, new Error('bad input at line 2:\n\n  a: [\n     ^'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stderr(), 'Error: bad input at line 2:\n');
});
