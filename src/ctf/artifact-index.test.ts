import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ocmVectors } from '../../test/support/vectors.js';
import { isLadingError } from '../oci/index.js';
import {
  type ArtifactIndex,
  type ArtifactMetadata,
  addArtifact,
  emptyArtifactIndex,
  encodeArtifactIndex,
  parseArtifactIndex,
  removeDigest,
  removeTag,
  repositoryNames,
} from './artifact-index.js';
import { blobFileName, ctfFormatFromPath, digestFromBlobFileName } from './format.js';

const compat = join(ocmVectors, 'bindings/go/ctf/testdata/compatibility');
const d1 = `sha256:${'1'.repeat(64)}`;
const d2 = `sha256:${'2'.repeat(64)}`;

function add(...entries: ArtifactMetadata[]): ArtifactIndex {
  return entries.reduce(addArtifact, emptyArtifactIndex());
}

function text(index: ArtifactIndex): string {
  return encodeArtifactIndex(index).toString('utf8');
}

function rejects(json: string, pattern: RegExp): void {
  assert.throws(
    () => parseArtifactIndex(Buffer.from(json), 'ctf/artifact-index.json'),
    (e) => isLadingError(e, 'INVALID_ARCHIVE') && pattern.test(e.message) && e.message.includes('artifact-index.json'),
  );
}

describe('artifact-index.json encoding', () => {
  test('a new index is {"schemaVersion":1,"artifacts":null}; emptied by removal it is []', () => {
    assert.equal(text(emptyArtifactIndex()), '{"schemaVersion":1,"artifacts":null}');
    const one = add({ repository: 'r', tag: 'v1', digest: d1 });
    assert.equal(text(removeTag(one, 'r', 'v1') as ArtifactIndex), '{"schemaVersion":1,"artifacts":[]}');
  });

  test('compact, Go field order, omitempty, Go escaping, no trailing newline', () => {
    const index = add(
      { repository: 'component-descriptors/a<b', tag: 'v1', digest: d1, mediaType: 'application/x&y' },
      { repository: 'r', digest: d2 },
    );
    assert.equal(
      text(index),
      `{"schemaVersion":1,"artifacts":[{"repository":"component-descriptors/a\\u003cb","tag":"v1","digest":"${d1}","mediaType":"application/x\\u0026y"},{"repository":"r","digest":"${d2}"}]}`,
    );
  });

  test('every upstream-written index re-encodes byte for byte', async () => {
    for (const dir of ['01/transport-archive', '02/with-resource', '02/without-resource']) {
      const bytes = await readFile(join(compat, dir, 'artifact-index.json'));
      const index = parseArtifactIndex(bytes, dir);
      assert.equal(index.artifacts?.length, 1);
      assert.equal(index.artifacts?.[0]?.mediaType, undefined, 'v1 wrote no mediaType');
      assert.deepEqual(encodeArtifactIndex(index), bytes);
    }
  });
});

describe('artifact-index.json decoding', () => {
  test('empty file and null artifacts are an empty index; null keeps encoding as null', () => {
    assert.deepEqual(parseArtifactIndex(Buffer.alloc(0), 'x'), emptyArtifactIndex());
    assert.equal(
      text(parseArtifactIndex(Buffer.from('{"schemaVersion":1,"artifacts":null}'), 'x')),
      text(emptyArtifactIndex()),
    );
    assert.equal(
      text(parseArtifactIndex(Buffer.from('{"schemaVersion":1,"artifacts":[]}'), 'x')),
      '{"schemaVersion":1,"artifacts":[]}',
    );
  });

  test('keys match case-insensitively and null strings are empty, as Go decodes them', () => {
    const index = parseArtifactIndex(
      Buffer.from(`{"SchemaVersion":1,"Artifacts":[{"REPOSITORY":"r","Tag":null,"digest":"${d1}"}]}`),
      'x',
    );
    assert.deepEqual(index.artifacts, [{ repository: 'r', digest: d1 }]);
  });

  test('refuses what upstream refuses, naming the file and the field', () => {
    rejects('{"schemaVersion":1,', /not valid JSON/);
    rejects('[]', /must be a JSON object/);
    rejects('{"artifacts":[]}', /unsupported schemaVersion 0/);
    rejects('{"schemaVersion":2,"artifacts":[]}', /unsupported schemaVersion 2/);
    rejects('{"schemaVersion":"1","artifacts":[]}', /schemaVersion must be an integer/);
    rejects('{"schemaVersion":1,"artifacts":[],"extra":true}', /unknown field "extra"/);
    rejects('{"schemaVersion":1,"artifacts":{}}', /artifacts must be an array/);
    rejects('{"schemaVersion":1,"artifacts":[{"repository":"r","size":3}]}', /artifacts\[0\]: unknown field "size"/);
    rejects('{"schemaVersion":1,"artifacts":[{"repository":"r","tag":7}]}', /artifacts\[0\]: tag must be a string/);
    rejects('{"schemaVersion":1,"artifacts":[{"tag":"v1"}]}', /artifacts\[0\]: repository is missing/);
    rejects('{"schemaVersion":1,"artifacts":[null]}', /artifacts\[0\]: must be an object/);
    rejects(
      '{"schemaVersion":1,"artifacts":[{"repository":"r"},{"repository":"r","digest":"sha256:abc"}]}',
      /artifacts\[1\]: digest: invalid digest "sha256:abc"/,
    );
    rejects('{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"md5:abc"}]}', /unsupported digest algorithm/);
  });
});

describe('AddArtifact semantics (upstream index.go)', () => {
  test('an exact duplicate is a no-op', () => {
    const a = { repository: 'r', tag: 'v1', digest: d1 };
    assert.deepEqual(add(a, a).artifacts, [a]);
    const untagged = { repository: 'r', digest: d1 };
    assert.deepEqual(add(untagged, untagged).artifacts, [untagged]);
  });

  test('tagging a digest that has an untagged entry fills that entry in place', () => {
    const index = add(
      { repository: 'r', digest: d2 },
      { repository: 'r', digest: d1, mediaType: 'm' },
      { repository: 'r', tag: 'v1', digest: d1, mediaType: 'm' },
    );
    assert.deepEqual(index.artifacts, [
      { repository: 'r', digest: d2 },
      { repository: 'r', tag: 'v1', digest: d1, mediaType: 'm' },
    ]);
  });

  test('a tag moved to another digest is cleared on the old entry, which stays', () => {
    const index = add({ repository: 'r', tag: 'latest', digest: d1 }, { repository: 'r', tag: 'latest', digest: d2 });
    assert.deepEqual(index.artifacts, [
      { repository: 'r', digest: d1 },
      { repository: 'r', tag: 'latest', digest: d2 },
    ]);
  });

  test('moving a tag onto an untagged entry (upstream RetagFromUntaggedToLatest)', () => {
    const index = add(
      { repository: 'r', digest: d2 },
      { repository: 'r', tag: 'latest', digest: d1 },
      { repository: 'r', tag: 'latest', digest: d2 },
    );
    assert.deepEqual(index.artifacts, [
      { repository: 'r', tag: 'latest', digest: d2 },
      { repository: 'r', digest: d1 },
    ]);
  });

  test('several tags of one digest coexist; repositories do not interfere', () => {
    const index = add(
      { repository: 'r', tag: 'v1', digest: d1 },
      { repository: 'r', tag: 'latest', digest: d1 },
      { repository: 's', tag: 'latest', digest: d1 },
      { repository: 's', digest: d1 },
    );
    assert.equal(index.artifacts?.length, 4);
    assert.deepEqual(repositoryNames(index), ['r', 's']);
  });

  test('removeTag drops the first matching entry; removeDigest every entry of the repository', () => {
    const index = add(
      { repository: 'r', tag: 'v1', digest: d1 },
      { repository: 'r', tag: 'v2', digest: d1 },
      { repository: 's', tag: 'v1', digest: d1 },
    );
    assert.equal(removeTag(index, 'r', 'v3'), undefined);
    assert.deepEqual(removeTag(index, 'r', 'v1')?.artifacts?.length, 2);
    assert.deepEqual(removeDigest(index, 'r', d1).artifacts, [{ repository: 's', tag: 'v1', digest: d1 }]);
  });
});

describe('CTF paths and blob names', () => {
  test('format comes from the extension only', () => {
    assert.equal(ctfFormatFromPath('a/ctf.tgz'), 'tgz');
    assert.equal(ctfFormatFromPath('a/ctf.tar.gz'), 'tgz');
    assert.equal(ctfFormatFromPath('a/ctf.tar'), 'tar');
    assert.equal(ctfFormatFromPath('a/ctf.gz'), 'directory');
    assert.equal(ctfFormatFromPath('a/transport-archive'), 'directory');
    assert.equal(ctfFormatFromPath('a/x.tar/'), 'tar');
  });

  test('blob file names are <alg>.<hex>, and only valid ones map back to digests', () => {
    assert.equal(blobFileName(d1), `sha256.${'1'.repeat(64)}`);
    assert.equal(digestFromBlobFileName(`sha256.${'1'.repeat(64)}`), d1);
    assert.equal(digestFromBlobFileName('sha256.abc'), undefined);
    assert.equal(digestFromBlobFileName(`.sha256.${'1'.repeat(64)}.123.abcdefabcdef.tmp`), undefined);
    assert.throws(
      () => blobFileName('sha256:../../x'),
      (e) => isLadingError(e, 'INVALID_DIGEST'),
    );
  });
});
