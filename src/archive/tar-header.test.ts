import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { readTarBytes } from './tar-bytes.js';
import { encodeTarHeader } from './tar-header.js';
import { tarBytes } from './tar-writer.js';

describe('Go tar headers', () => {
  it('writes USTAR fields as Go does and switches to PAX for non-ASCII and overlong names', () => {
    const h = encodeTarHeader({
      name: 'component-descriptor.yaml',
      mode: 0,
      uid: 0,
      gid: 0,
      size: 6,
      mtime: 1640995200,
      typeflag: '0',
    });
    assert.equal(h.length, 512);
    assert.equal(h.subarray(100, 108).toString('latin1'), '0000000\0');
    assert.equal(h.subarray(124, 136).toString('latin1'), '00000000006\0');
    assert.equal(h.subarray(257, 265).toString('latin1'), 'ustar\x0000');
    assert.equal(h.subarray(329, 345).toString('latin1'), '0000000\x000000000\0');
    assert.match(h.subarray(148, 156).toString('latin1'), /^[0-7]{6}\0 $/);
    const pax = encodeTarHeader({ name: 'ünï/f', mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 0, typeflag: '0' });
    assert.equal(pax.length, 1536);
    assert.equal(pax.subarray(0, 100).toString('latin1').replace(/\0+$/, ''), 'n/PaxHeaders.0/f');
    assert.equal(pax.subarray(512, 512 + 16).toString('utf8'), '16 path=ünï/f\n');
    const split = encodeTarHeader({
      name: `${'d'.repeat(120)}/file`,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      typeflag: '0',
    });
    assert.equal(split.length, 512, 'a splittable long name stays USTAR');
    assert.equal(split.subarray(345, 465).toString('latin1'), 'd'.repeat(120));
  });
});

describe('tars in memory', () => {
  it('reads back what tarBytes writes: USTAR, a split long name and a PAX name', () => {
    const entries = [
      { name: 'a.txt', body: Buffer.from('A') },
      { name: `${'d'.repeat(120)}/file`, body: Buffer.alloc(700, 1) },
      { name: `ünï/${'x'.repeat(150)}`, body: Buffer.from('pax') },
    ];
    const tar = tarBytes(
      entries.map(({ name, body }) => ({
        header: { name, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, typeflag: '0' as const },
        body,
      })),
    );
    assert.equal(tar.length % 512, 0);
    assert.deepEqual(
      readTarBytes(tar, 'mem').map((e) => [e.name, e.typeflag, e.body.toString('hex')]),
      entries.map((e) => [e.name, '0', e.body.toString('hex')]),
    );
  });

  it('reads GNU long names and refuses a header whose checksum is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lading-tar-bytes-'));
    try {
      const long = 'n'.repeat(150);
      writeFileSync(join(dir, long), 'gnu');
      const tar = execFileSync('tar', ['--format=gnu', '-cf', '-', '-C', dir, long]);
      assert.deepEqual(
        readTarBytes(tar, 'gnu').map((e) => [e.name, e.body.toString()]),
        [[long, 'gnu']],
      );
      const broken = Buffer.from(tar);
      broken[1024] = (broken[1024] ?? 0) ^ 1; // the entry's own header, after the long-name record
      assert.throws(
        () => readTarBytes(broken, 'gnu'),
        (e) => isLadingError(e, 'INVALID_ARCHIVE'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a body that is not the size its header says', () => {
    const header = { name: 'f', mode: 0o644, uid: 0, gid: 0, size: 2, mtime: 0, typeflag: '0' as const };
    assert.throws(
      () => tarBytes([{ header, body: Buffer.from('abc') }]),
      (e) => isLadingError(e, 'SIZE_MISMATCH'),
    );
  });
});
