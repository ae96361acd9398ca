import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { dirInput } from '../src/ocm/index.js';

const GiB = 1024 * 1024 * 1024;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'lading-ocm-large-'));
  // 16 files of 64 MiB: sparse, so the fixture costs no disk writes, with a little real content.
  mkdirSync(join(work, 'big/sub'), { recursive: true });
  for (let i = 0; i < 16; i++) {
    const file = join(work, i % 2 ? 'big/sub' : 'big', `part-${i}.bin`);
    writeFileSync(file, `part ${i}\n`);
    truncateSync(file, 64 * 1024 * 1024);
  }
});
after(() => rmSync(work, { recursive: true, force: true }));

it('streams a 1 GiB Dir/v1 input (measure + read) with RSS growth below 150 MB', { timeout: 60_000 }, async (t) => {
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const started = Date.now();
    const blob = await dirInput({ type: 'Dir/v1', path: 'big', reproducible: true }, { workingDirectory: work });
    assert.ok((blob.size as number) > GiB);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await blob.open()) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.equal(size, blob.size);
    assert.equal(`sha256:${hash.digest('hex')}`, blob.digest);
    const growth = (peak - baseline) / 1024 / 1024;
    t.diagnostic(`1 GiB Dir/v1: ${(Date.now() - started) / 1000}s for two passes, RSS growth ${growth.toFixed(1)} MB`);
    assert.ok(growth < 150, `RSS grew by ${growth.toFixed(1)} MB`);
  } finally {
    clearInterval(timer);
  }
});
