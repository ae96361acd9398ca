import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { componentDescriptor } from '../../../test/support/fixtures.js';
import { goYaml } from '../../ocm/descriptor/go-yaml.js';
import type { ComponentDescriptor } from '../../ocm/descriptor/model.js';
import { toWire } from '../../ocm/descriptor/wire.js';
import type { CliIO } from '../io.js';
import { CliStream } from './cli-stream.js';
import { renderDescriptors } from './ocm-render.js';
import { jsonText } from './safe-text.js';

/** An io whose stdout records what reaches it, and how many writes did. */
function recording(): { io: CliIO; text: () => string; writes: () => number } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  const io: CliIO = { stdout: new CliStream(sink), stderr: new CliStream(sink), isTTY: false, debug: false };
  return { io, text: () => Buffer.concat(parts).toString('utf8'), writes: () => parts.length };
}

/** Descriptors with text that escapes (a line break, a bidi override, a non-BMP character, a label value). */
function descriptors(count: number): ComponentDescriptor[] {
  return Array.from({ length: count }, (_, i) => {
    const d = componentDescriptor(`acme.org/c${i}`, `1.0.${i}`);
    d.component.labels = [{ name: 'note', value: { text: `line\nbreak \u202e ${'😀'.repeat(i % 3)}`, n: i } }];
    return d;
  });
}

test('add cv / get cv -o json, ndjson and yaml, written descriptor by descriptor: the bytes of the whole list made at once', async () => {
  for (const count of [1, 2, 5, 700]) {
    const list = descriptors(count);
    const wire = list.map(toWire);
    const whole = {
      json: `${jsonText(wire, 2)}\n`,
      ndjson: wire.map((w) => `${jsonText(w)}\n`).join(''),
      yaml: goYaml(wire),
    };
    for (const format of ['json', 'ndjson', 'yaml'] as const) {
      const out = recording();
      await renderDescriptors(
        out.io,
        format,
        list.map((descriptor) => ({ descriptor, children: [] })),
      );
      assert.equal(out.text(), whole[format], `${format}, ${count} descriptors`);
      // Written as it is made: a large list in several writes, not one string.
      if (count === 700) assert.ok(out.writes() > 1, `${format}: ${out.writes()} write(s)`);
    }
  }
});
