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
  repositoryEntries,
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

/** Upstream's AddArtifact as a plain sweep over every entry: what the indexed one must match. */
function referenceAdd(index: ArtifactIndex, added: ArtifactMetadata): ArtifactIndex {
  const a: ArtifactMetadata = { repository: added.repository };
  if (added.tag) a.tag = added.tag;
  if (added.digest) a.digest = added.digest;
  if (added.mediaType) a.mediaType = added.mediaType;
  const artifacts = (index.artifacts ?? []).map((e) => ({ ...e }));
  const tag = a.tag ?? '';
  let filled = false;
  for (let i = 0; i < artifacts.length; i++) {
    const art = artifacts[i] as ArtifactMetadata;
    if (art.repository !== a.repository) continue;
    const artTag = art.tag ?? '';
    if (artTag === tag && art.digest === a.digest) return { schemaVersion: 1, artifacts };
    if (tag !== '' && artTag === tag && art.digest !== a.digest) delete art.tag;
    if (tag !== '' && artTag === '' && art.digest === a.digest) {
      art.tag = tag;
      filled = true;
    }
  }
  if (!filled) artifacts.push(a);
  return { schemaVersion: 1, artifacts };
}

describe('artifact index at scale', () => {
  test('addArtifact and repositoryEntries match a sweep of every entry, whatever index they are given', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const digests = [d1, d2, `sha256:${'3'.repeat(64)}`];
    const repos = ['r', 's', 't', 'u'];
    // Indexes made along the way, each with the lists first handed out for it: an update may hand
    // on its derived state, but what an earlier index answers never changes.
    const history: { index: ArtifactIndex; expected: ArtifactIndex; lists: Map<string, unknown> }[] = [];
    let index = emptyArtifactIndex();
    let expected = emptyArtifactIndex();
    for (let step = 0; step < 600; step++) {
      // Mostly the newest index; now and then an older one (a branch), or one parsed from its file.
      let from = { index, expected };
      const pick = random(10);
      if (pick === 0 && history.length > 0) from = history[random(history.length)] as typeof from;
      if (pick === 1) from = { index: parseArtifactIndex(encodeArtifactIndex(index), 'x'), expected };
      const entry: ArtifactMetadata = {
        repository: repos[random(repos.length)] as string,
        digest: digests[random(digests.length)] as string,
        ...(random(3) > 0 ? { tag: `v${random(4)}` } : {}),
        ...(random(2) > 0 ? { mediaType: 'application/vnd.oci.image.manifest.v1+json' } : {}),
      };
      index = addArtifact(from.index, entry);
      expected = referenceAdd(from.expected, entry);
      assert.deepEqual(index.artifacts, expected.artifacts, `step ${step}`);
      const lists = new Map<string, unknown>();
      for (const repo of repos) {
        const list = repositoryEntries(index, repo);
        assert.deepEqual(
          list,
          (expected.artifacts ?? []).filter((a) => a.repository === repo),
          `step ${step} ${repo}`,
        );
        lists.set(repo, structuredClone(list));
      }
      history.push({ index, expected, lists });
    }
    for (const [i, { index: old, lists }] of history.entries()) {
      for (const repo of repos) assert.deepEqual(repositoryEntries(old, repo), lists.get(repo), `index ${i} ${repo}`);
    }
  });

  test('recording a manifest looks at the entries of its own repository, not at every entry of the archive', () => {
    // 2,000 entries of other repositories whose repository field counts its reads.
    let reads = 0;
    const others: ArtifactMetadata[] = Array.from({ length: 2000 }, (_, i) => {
      const entry = { digest: d1 } as ArtifactMetadata;
      Object.defineProperty(entry, 'repository', {
        enumerable: true,
        get: () => {
          reads++;
          return `other/${i}`;
        },
      });
      return entry;
    });
    let index: ArtifactIndex = { schemaVersion: 1, artifacts: others };
    for (let i = 0; i < 500; i++) {
      index = addArtifact(index, { repository: `component/${i}`, digest: d2 });
      index = addArtifact(index, { repository: `component/${i}`, tag: `1.0.${i}`, digest: d2 });
      assert.equal(repositoryEntries(index, `component/${i}`).length, 1);
      assert.equal(repositoryEntries(index, 'other/7').length, 1);
    }
    assert.equal(index.artifacts?.length, 2500);
    // Once each, when the index's entries were first mapped by repository: not once per update.
    assert.ok(reads <= 2000, `${reads} reads of the other entries' repository`);
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

describe("artifact index: entries filed by repository, handed from one index to the next (an attacker's pass, session 23)", () => {
  test('random updates, each from any earlier index (two writers), over repositories sharing prefixes and duplicate entries, equal the sweep', () => {
    let seed = 23;
    const pick = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const repositories = ['a', 'a/b', 'ab', 'a/b/c', 'b'];
    const tags = [undefined, 'v1', 'v2', 'v3'];
    const digests = [d1, d2, `sha256:${'3'.repeat(64)}`];
    const entry = (): ArtifactMetadata => {
      const tag = tags[pick(tags.length)];
      return {
        repository: repositories[pick(repositories.length)] as string,
        digest: digests[pick(digests.length)] as string,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...(tag ? { tag } : {}),
      };
    };
    const entriesOf = (index: ArtifactIndex, repository: string) =>
      (index.artifacts ?? []).filter((a) => a.repository === repository);
    for (let run = 0; run < 500; run++) {
      // A file may hold what no update makes: the same entry twice.
      const file: ArtifactMetadata[] = [];
      for (let k = pick(8); k > 0; k--) {
        const e = entry();
        file.push(e);
        if (pick(3) === 0) file.push({ ...e });
      }
      const parsed = parseArtifactIndex(Buffer.from(JSON.stringify({ schemaVersion: 1, artifacts: file })), 'x');
      const pool: { filed: ArtifactIndex; swept: ArtifactIndex }[] = [{ filed: parsed, swept: parsed }];
      for (let step = 0; step < 30; step++) {
        const from = pool[pick(pool.length)] as (typeof pool)[number];
        const op = pick(10);
        let next: (typeof pool)[number];
        if (op < 7) {
          const e = entry();
          next = { filed: addArtifact(from.filed, e), swept: referenceAdd(from.swept, e) };
        } else if (op < 8) {
          const repository = repositories[pick(repositories.length)] as string;
          const tag = tags[1 + pick(3)] as string;
          const filed = removeTag(from.filed, repository, tag);
          const swept = removeTag(from.swept, repository, tag);
          if (!filed || !swept) continue;
          next = { filed, swept };
        } else if (op < 9) {
          const repository = repositories[pick(repositories.length)] as string;
          const digest = digests[pick(digests.length)] as string;
          next = {
            filed: removeDigest(from.filed, repository, digest),
            swept: removeDigest(from.swept, repository, digest),
          };
        } else {
          // An index handed its map on is asked again.
          for (const r of repositories)
            assert.deepEqual([...repositoryEntries(from.filed, r)], entriesOf(from.swept, r));
          continue;
        }
        assert.deepEqual(next.filed, next.swept, `run ${run} step ${step}`);
        for (const r of repositories) {
          assert.deepEqual(
            [...repositoryEntries(next.filed, r)],
            entriesOf(next.swept, r),
            `run ${run} step ${step} ${r}`,
          );
        }
        pool.push(next);
      }
    }
  });
});
