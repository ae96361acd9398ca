// `lading add cv` with a constructor that fails while its inputs are stored or its images pinned
// (after the inputs ran): the error is still one line that names the constructor file, the line
// and the element's field, the exit is non-zero, and the target CTF is left as it was. An OCI
// layout folder (read as files, not through a tar) refuses links as every other Dir input does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OciLayout } from '../src/layout/index.js';
import { openComponentRepository } from '../src/ocm/open.js';
import { snapshot } from './reliability-support.js';
import { assertOneLineError, type CliResult, lading, ladingOk } from './support/cli.js';
import { pushImage, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

let root: { path: string; cleanup: () => Promise<void> };
/** The constructors' folder (and the commands' working directory); `outside` lies beside it. */
let work: string;
let outside: string;
let n = 0;

before(async () => {
  root = await tempDir('lading-ctor-errors-');
  work = join(root.path, 'work');
  outside = join(root.path, 'outside');
  await mkdir(work);
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'secret-token-do-not-print\n');
  // The target already holds a version: a failed add must leave it exactly so.
  await writeFile(
    join(work, 'base.yaml'),
    'name: acme.org/base\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: rr\n  type: blob\n  input: {type: utf8, text: hi}\n',
  );
  await ladingOk(['add', 'cv', '-c', 'base.yaml', '-r', 'ctf'], { cwd: work });
});
after(() => root.cleanup());

/**
 * `add cv` of the constructor `text` (written to a new file, or a `{ path }` as it is) into the
 * shared CTF, with `args` added: must fail, and leave the CTF as it was.
 */
async function addFails(text: string | { path: string }, args: string[] = []): Promise<CliResult> {
  let file = `bad-${++n}.yaml`;
  if (typeof text === 'string') await writeFile(join(work, file), text);
  else file = text.path;
  const before = await snapshot(join(work, 'ctf'));
  const r = await lading(['add', 'cv', '-c', file, '-r', 'ctf', ...args], { cwd: work });
  assert.notEqual(r.code, 0, `add cv of ${file} succeeded:\n${r.stdout}`);
  assert.deepEqual(await snapshot(join(work, 'ctf')), before, 'the CTF is unchanged');
  return r;
}

/** The line every error of this file starts with: the constructor (the latest written), line and field. */
function at(line: number, field: string): string {
  return `^Error: bad-${n}\\.yaml:${line}: ${field.replaceAll('[', '\\[').replaceAll(']', '\\]').replaceAll('.', '\\.')}: `;
}

/** One resource of `type` (line 5 of the file) with the given `input` or `access` block. */
function oneResource(name: string, type: string, element: string): string {
  return `name: acme.org/bad\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: ${name}\n  type: ${type}\n  version: 1.0.0\n${element}`;
}

describe('add cv into a CTF: errors while a folder is archived as it is stored', () => {
  before(async () => {
    await mkdir(join(work, 'linked'));
    await writeFile(join(work, 'linked', 'a.txt'), 'a\n');
    await symlink(join(outside, 'secret.txt'), join(work, 'linked', 'zlink'));
    await mkdir(join(work, 'fifo'));
    await writeFile(join(work, 'fifo', 'a.txt'), 'a\n');
    execFileSync('mkfifo', [join(work, 'fifo', 'zfifo')]);
  });

  for (const [folder, problem] of [
    ['linked', 'symlinks are not supported yet: found symlink "zlink" in '],
    ['fifo', '"zfifo" in '],
  ] as const) {
    test(`a folder with ${folder === 'linked' ? 'a symlink' : 'a FIFO'}: the resource's input is named, as with compress: true`, async () => {
      const plain = await addFails(oneResource('tree', 'blob', `  input:\n    type: dir\n    path: ${folder}\n`));
      assertOneLineError(plain, new RegExp(`${at(5, 'resources[0].input')}${problem}`));
      const compressed = await addFails(
        oneResource('tree', 'blob', `  input:\n    type: dir\n    path: ${folder}\n    compress: true\n`),
      );
      // Archived while stored (a CTF hashes as it writes) or before (compressed): the same words.
      assert.equal(plain.stderr.replace(/bad-\d+/, 'bad'), compressed.stderr.replace(/bad-\d+/, 'bad'));
    });
  }

  test('a source and the second resource of a components list are named by their own path', async () => {
    const source = await addFails(
      'name: acme.org/bad\nversion: 1.0.0\nprovider: {name: acme}\nsources:\n- name: src\n  type: directory\n  version: 1.0.0\n  input: {type: dir, path: linked}\n',
    );
    assertOneLineError(source, new RegExp(`${at(5, 'sources[0].input')}symlinks are not supported yet`));
    const second = await addFails(
      'components:\n- name: acme.org/bad\n  version: 1.0.0\n  provider: {name: acme}\n  resources:\n  - name: ok\n    type: blob\n    input: {type: utf8, text: fine}\n  - name: tree\n    type: blob\n    input: {type: dir, path: linked}\n',
    );
    assertOneLineError(
      second,
      new RegExp(`${at(9, 'components[0].resources[1].input')}symlinks are not supported yet`),
    );
  });
});

describe('add cv into a CTF: errors while an image reference is pinned', () => {
  test('a registry that refuses the connection', async () => {
    const r = await addFails(
      oneResource('img', 'ociImage', '  access: {type: ociArtifact, imageReference: "127.0.0.1:1/x/y:1.0"}\n'),
    );
    assertOneLineError(r, new RegExp(`${at(5, 'resources[0].access')}HEAD https://127\\.0\\.0\\.1:1/`));
  });

  test('a reference that does not parse', async () => {
    const r = await addFails(
      oneResource('img', 'ociImage', '  access: {type: ociArtifact, imageReference: "not a ref!!"}\n'),
    );
    assertOneLineError(r, new RegExp(`${at(5, 'resources[0].access')}invalid reference "not a ref!!"`));
  });
});

describe('add cv into a CTF: a local blob access whose blob the repository does not have', () => {
  test('the resource access is named', async () => {
    const r = await addFails(
      oneResource('rr', 'blob', '  access: {type: localBlob, localReference: "sha256:0000", mediaType: text/plain}\n'),
    );
    assertOneLineError(r, new RegExp(`${at(5, 'resources[0].access')}local blob sha256:0000 .*was not added`));
  });
});

describe('add cv: an OCI layout folder is read as files, and refuses links as the tar would', () => {
  /** A valid layout folder `name` (tag v1) in the working directory. */
  async function layoutFolder(name: string): Promise<{ path: string; manifestHex: string }> {
    const path = join(work, name);
    const layout = await OciLayout.open(path, { mode: 'create' });
    const { manifest } = await pushImage(layout);
    await layout.tag(manifest, 'v1');
    await layout.close();
    return { path, manifestHex: manifest.digest.slice('sha256:'.length) };
  }
  const layoutResource = (folder: string) =>
    oneResource(
      'image',
      'ociImage',
      `  input:\n    type: dir/v1\n    path: ./${folder}\n    mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n`,
    );

  test('a file that is not an OCI layout tar: the error names the input, not a scratch copy', async () => {
    execFileSync('tar', ['-cf', join(work, 'not-layout.tar'), '-C', join(work, 'linked'), 'a.txt']);
    const r = await addFails(
      oneResource(
        'image',
        'ociImage',
        '  input:\n    type: file/v1\n    path: ./not-layout.tar\n    mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n',
      ),
    );
    assertOneLineError(
      r,
      new RegExp(`${at(5, 'resources[0].input')}the OCI layout tar: not an OCI layout \\(no oci-layout file\\)$`),
    );
    assert.doesNotMatch(r.stderr, /lading-layout-/);
  });

  test('a layout folder without links is stored (the fast path works)', async () => {
    await layoutFolder('lay-ok');
    await writeFile(join(work, 'ok.yaml'), layoutResource('lay-ok'));
    await ladingOk(['add', 'cv', '-c', 'ok.yaml', '-r', 'ctf-ok'], { cwd: work });
  });

  test('index.json a link to a file elsewhere: refused, and nothing of that file is printed', async () => {
    const { path } = await layoutFolder('lay-index');
    await rm(join(path, 'index.json'));
    await symlink(join(outside, 'secret.txt'), join(path, 'index.json'));
    const r = await addFails(layoutResource('lay-index'));
    assertOneLineError(
      r,
      new RegExp(`${at(5, 'resources[0].input')}symlinks are not supported yet: found symlink "index\\.json" in `),
    );
    assert.doesNotMatch(r.stderr, /secret/);
  });

  test('oci-layout, a blob, and the blobs folder as links: each refused', async () => {
    const file = await layoutFolder('lay-file');
    await rename(join(file.path, 'oci-layout'), join(outside, 'oci-layout'));
    await symlink(join(outside, 'oci-layout'), join(file.path, 'oci-layout'));
    assertOneLineError(
      await addFails(layoutResource('lay-file')),
      new RegExp(`${at(5, 'resources[0].input')}symlinks are not supported yet: found symlink "oci-layout" in `),
    );

    // The linked content is the right content: only the link is wrong, and without the check it was read.
    const blob = await layoutFolder('lay-blob');
    const manifest = join('blobs', 'sha256', blob.manifestHex);
    await rename(join(blob.path, manifest), join(outside, blob.manifestHex));
    await symlink(join(outside, blob.manifestHex), join(blob.path, manifest));
    assertOneLineError(
      await addFails(layoutResource('lay-blob')),
      new RegExp(
        `${at(5, 'resources[0].input')}symlinks are not supported yet: found symlink "blobs/sha256/${blob.manifestHex}" in `,
      ),
    );

    const blobs = await layoutFolder('lay-blobs');
    await rename(join(blobs.path, 'blobs'), join(outside, 'blobs'));
    await symlink(join(outside, 'blobs'), join(blobs.path, 'blobs'));
    assertOneLineError(
      await addFails(layoutResource('lay-blobs')),
      new RegExp(`${at(5, 'resources[0].input')}symlinks are not supported yet: found symlink "blobs" in `),
    );
  });
});

describe('add cv: what the constructor file is', () => {
  test('several schema problems: one line, no line break in it (escaped, it read "\\n  file:6: …")', async () => {
    const r = await addFails('name: acme.org/bad\nversion: 1.0.0\nprovider: {name: acme}\nlabels: 5\nfoo: 1\n');
    assertOneLineError(r, new RegExp(`${at(4, 'labels')}must be array; bad-${n}\\.yaml:5: foo: unknown field "foo"$`));
  });

  // Bounded: without the check, the read of the FIFO never ended.
  test('a FIFO, a device, a folder: refused in one line, nothing read (a FIFO hung, /dev/zero filled memory)', {
    timeout: 120_000,
  }, async () => {
    execFileSync('mkfifo', [join(work, 'ctor-fifo')]);
    assertOneLineError(
      await addFails({ path: 'ctor-fifo' }),
      /^Error: component constructor ctor-fifo is not a regular file \(a FIFO, a device or a socket is not read\)$/,
    );
    assertOneLineError(
      await addFails({ path: '/dev/zero' }),
      /^Error: component constructor \/dev\/zero is not a regular file /,
    );
    await mkdir(join(work, 'ctor-dir'));
    assertOneLineError(
      await addFails({ path: 'ctor-dir' }),
      /^Error: ctor-dir is a directory but must point to a component constructor file$/,
    );
  });

  test('no constructor in the current folder: the line says where it looked and how to name another', async () => {
    const empty = join(work, 'empty-folder');
    await mkdir(empty);
    assertOneLineError(
      await lading(['add', 'cv'], { cwd: empty }),
      /^Error: component constructor component-constructor\.yaml not found in the current folder \(name another with -c FILE\)$/,
    );
    assertOneLineError(
      await lading(['add', 'cv', '-c', 'nope.yaml'], { cwd: empty }),
      /^Error: component constructor nope\.yaml not found$/,
    );
    assert.deepEqual(await readdir(empty), []);
  });

  test('a file over 64 MiB (what it describes must fit in a descriptor): refused before it is read', async () => {
    const handle = await open(join(work, 'huge.yaml'), 'w');
    await handle.truncate(64 * 1024 * 1024 + 1);
    await handle.close();
    assertOneLineError(
      await addFails({ path: 'huge.yaml' }),
      /^Error: component constructor huge\.yaml is 67108865 bytes, over the 67108864-byte limit$/,
    );
  });
});

describe('add cv: two versions that share a tag (`+` is stored as `.build-`)', () => {
  const ctor = (version: string) =>
    `name: acme.org/tagged\nversion: ${version}\nprovider: {name: acme}\nresources:\n- name: rr\n  type: blob\n  input: {type: utf8, text: "${version}"}\n`;

  test('the other version is refused under every policy, named with the stored one; neither is lost', async () => {
    await writeFile(join(work, 'tagged.yaml'), ctor('1.0.0-rc+x'));
    await ladingOk(['add', 'cv', '-c', 'tagged.yaml', '-r', 'ctf'], { cwd: work });
    for (const policy of ['abort-and-fail', 'skip', 'replace']) {
      const r = await addFails(ctor('1.0.0-rc.build-x'), ['--component-version-conflict-policy', policy]);
      assertOneLineError(
        r,
        new RegExp(
          `^Error: bad-${n}\\.yaml:1: \\(component\\): component version acme\\.org/tagged:1\\.0\\.0-rc\\.build-x cannot be stored: its tag 1\\.0\\.0-rc\\.build-x holds acme\\.org/tagged:1\\.0\\.0-rc\\+x, another version stored under the same tag$`,
        ),
      );
    }
    // Reading is as it was: the stored version by its own name, the other refused as not what it says.
    const got = await ladingOk(['get', 'cv', 'ctf//acme.org/tagged:1.0.0-rc+x', '-o', 'json'], { cwd: work });
    assert.match(got.stdout, /"version": "1\.0\.0-rc\+x"/);
    const other = await lading(['get', 'cv', 'ctf//acme.org/tagged:1.0.0-rc.build-x'], { cwd: work });
    assertOneLineError(other, /the descriptor stored under it is of acme\.org\/tagged:1\.0\.0-rc\+x$/);
    // The same version again is a conflict the policies settle, as before.
    const again = await addFails(ctor('1.0.0-rc+x'));
    assertOneLineError(again, /component version acme\.org\/tagged:1\.0\.0-rc\+x already exists in the repository/);
  });
});

describe('add cv: Dir/v1 inputs with excluded special files', () => {
  test('an excluded or not included FIFO is skipped; the rest is stored', async () => {
    // `fifo/` (made above) holds a.txt and the FIFO zfifo: without patterns it is refused.
    for (const [name, patterns] of [
      ['excluded', 'excludeFiles: [zfifo]'],
      ['included', 'includeFiles: ["*.txt"]'],
    ] as const) {
      const file = `dir-${name}.yaml`;
      await writeFile(
        join(work, file),
        `name: acme.org/dir-${name}\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: tree\n  type: blob\n  input: {type: dir, path: fifo, ${patterns}}\n`,
      );
      await ladingOk(['add', 'cv', '-c', file, '-r', `ctf-dir-${name}`], { cwd: work });
      const out = join(work, `out-${name}`);
      await ladingOk(
        [
          'download',
          'resource',
          `ctf-dir-${name}//acme.org/dir-${name}:1.0.0`,
          '--identity',
          'name=tree',
          '--output',
          out,
        ],
        { cwd: work },
      );
      assert.deepEqual(await readdir(out), ['a.txt']);
    }
  });
});

describe("get resources: an extra identity that repeats name or version (upstream's schema allows it)", () => {
  test("the identity shows the resource's own name and version, once", async () => {
    const opened = await openComponentRepository(join(work, 'ctf-extra'), { mode: 'create' });
    await opened.repository.addComponentVersion({
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'acme.org/extra',
        version: '1.0.0',
        provider: { name: 'acme.org' },
        repositoryContexts: [],
        resources: [
          {
            name: 'r1',
            version: '1.0.0',
            type: 'ociImage',
            relation: 'external',
            extraIdentity: { name: 'r2', version: '9.9.9', os: 'linux' },
            access: { type: 'OCIImage/v1', imageReference: 'ghcr.io/acme/x:1.0.0' },
          },
        ],
        sources: [],
        componentReferences: [],
      },
    });
    await opened.close();
    const r = await ladingOk(['get', 'resources', 'ctf-extra//acme.org/extra:1.0.0'], { cwd: work });
    assert.match(r.stdout, / name=r1,version=1\.0\.0,os=linux *$/m);
    assert.doesNotMatch(r.stdout, /r2|9\.9\.9/);
  });
});

describe('add cv into a registry: a later component fails', () => {
  test('the error is one line, and the registry keeps no version of the run (every input runs before any version is stored)', async () => {
    const repo = `http://${loadPeers().plain.host}/lading/ctor-partial-${process.pid}`;
    await writeFile(
      join(work, 'partial.yaml'),
      [
        'components:',
        '- name: acme.org/first',
        '  version: 1.0.0',
        '  provider: {name: acme}',
        '  resources: [{name: r1, type: blob, input: {type: utf8, text: one}}]',
        '- name: acme.org/second',
        '  version: 1.0.0',
        '  provider: {name: acme}',
        '  resources: [{name: r2, type: blob, input: {type: file, path: missing.txt}}]',
        '',
      ].join('\n'),
    );
    const r = await lading(['add', 'cv', '-c', 'partial.yaml', '-r', repo], { cwd: work });
    assertOneLineError(r, /partial\.yaml:9: components\[1\]\.resources\[0\]\.input: .*missing\.txt/);
    assert.doesNotMatch(r.stderr, /keeps what this run stored/);
    const first = await lading(['get', 'cv', `${repo}//acme.org/first:1.0.0`], { cwd: work });
    assert.equal(first.code, 1, 'the first component was stored');
    assert.match(first.stderr, /not found|unknown/i);
  });
});
