// Issue 14, second pass as an attacker: holes of the classes that the first pass did not
// cover. Each test checks what ended up outside the output (a sentinel folder), or what was
// accepted or printed, not only the exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { fetchAll } from '../src/content/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { digestBytes, isLadingError } from '../src/oci/index.js';
import { encodeDescriptor } from '../src/ocm/descriptor/encode.js';
import { DescriptorMediaType } from '../src/ocm/descriptor/media-types.js';
import { versionToTag } from '../src/ocm/descriptor/version-tag.js';
import { type ComponentDescriptor, decodeDescriptor } from '../src/ocm/index.js';
import { ComponentVersionRepository } from '../src/ocm/repository/index.js';
import { encodeComponentConfig, OcmMediaType } from '../src/ocm/repository/mapping.js';
import { normalise } from '../src/ocm/signing/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { withDir } from './support/fixtures.js';
import { endless, HostileRegistry } from './support/hostile-registry.js';

const cronLine = Buffer.from('* * * * * root touch /tmp/pwned\n');
const cronBlob = { mediaType: 'application/octet-stream', digest: digestBytes(cronLine), size: cronLine.length };

/** An existing OCI layout folder whose `blobs/sha256` (or `ingest`) is a link planted by whoever shipped it. */
async function plantedLayout(
  dir: string,
  link: 'blobs/sha256' | 'blobs' | 'ingest',
): Promise<{ layout: string; outside: string }> {
  const layout = join(dir, 'layout');
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await mkdir(layout);
  if (link !== 'blobs') await mkdir(join(layout, 'blobs'));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
  await symlink(outside, join(layout, link));
  return { layout, outside };
}

describe('writes into an existing OCI layout or CTF folder never follow a link planted in it', () => {
  for (const link of ['blobs/sha256', 'blobs', 'ingest'] as const) {
    test(`an OCI layout whose ${link} is a link: a pushed blob is refused, nothing lands outside`, () =>
      withDir(async (dir) => {
        const { layout, outside } = await plantedLayout(dir, link);
        const store = await OciLayout.open(layout, { mode: 'create' });
        await assert.rejects(
          store.push(cronBlob, cronLine),
          (e) => isLadingError(e) && e.code === 'INVALID_LAYOUT' && /is a symlink/.test(e.message),
        );
        assert.deepEqual(await readdir(outside, { recursive: true }), []);
      }));
  }

  test('lading push --oci-layout into a layout whose blobs/sha256 is a link: one error line, nothing outside', () =>
    withDir(async (dir) => {
      const { layout, outside } = await plantedLayout(dir, 'blobs/sha256');
      await writeFile(join(dir, 'job'), cronLine);
      const r = await lading(['push', '--oci-layout', `${layout}:v1`, 'job'], { cwd: dir });
      assertOneLineError(r, /blobs\/sha256 is a symlink/);
      assert.deepEqual(await readdir(outside), []);
    }));

  test('a CTF folder whose blobs/ is a link: a blob written through a repository is refused', () =>
    withDir(async (dir) => {
      const ctf = join(dir, 'ctf');
      const outside = join(dir, 'outside');
      await mkdir(outside);
      await mkdir(ctf);
      await writeFile(join(ctf, 'artifact-index.json'), '{"schemaVersion":1,"artifacts":null}');
      await symlink(outside, join(ctf, 'blobs'));
      const archive = await CtfArchive.open(ctf, { mode: 'readwrite' });
      try {
        await assert.rejects(
          archive.repository('x').push(cronBlob, cronLine),
          (e) => isLadingError(e) && e.code === 'INVALID_ARCHIVE' && /blobs is a symlink/.test(e.message),
        );
      } finally {
        await archive.close({ commit: false }).catch(() => {});
      }
      assert.deepEqual(await readdir(outside), []);
    }));

  test('deleting a blob of a layout whose blobs/sha256 is a link removes nothing outside', () =>
    withDir(async (dir) => {
      const { layout, outside } = await plantedLayout(dir, 'blobs/sha256');
      const victim = join(outside, cronBlob.digest.slice('sha256:'.length));
      await writeFile(victim, cronLine);
      const store = await OciLayout.open(layout, { mode: 'create' });
      await assert.rejects(store.delete(cronBlob), (e) => isLadingError(e) && e.code === 'INVALID_LAYOUT');
      assert.deepEqual(await readdir(outside), [cronBlob.digest.slice('sha256:'.length)]);
    }));
});

describe('a signature covers what the descriptor says, `__proto__` keys included', () => {
  const jsonType = 'application/vnd.ocm.software.component-descriptor.v2+json';
  const yamlType = 'application/vnd.ocm.software.component-descriptor.v2+yaml';
  function descriptorJson(labelValue: string, extraIdentity: string): string {
    return `{"meta":{"schemaVersion":"v2"},"component":{"name":"acme.org/app","version":"1.0.0","provider":"acme","repositoryContexts":[],"labels":[{"name":"trust","value":${labelValue},"signing":true}],"resources":[{"name":"data","version":"1.0.0","type":"blob","relation":"external","extraIdentity":${extraIdentity},"access":{"type":"none"}}],"sources":[],"componentReferences":[]}}`;
  }

  for (const [what, text, type] of [
    ['a signed label value (JSON)', descriptorJson('{"level":"high","__proto__":{"level":"low"}}', '{}'), jsonType],
    ['extraIdentity (JSON)', descriptorJson('{"level":"high"}', '{"arch":"amd64","__proto__":"x"}'), jsonType],
    [
      'a signed label value (YAML)',
      'meta: {schemaVersion: v2}\ncomponent:\n  name: acme.org/app\n  version: 1.0.0\n  provider: acme\n  repositoryContexts: []\n  resources: []\n  sources: []\n  componentReferences: []\n  labels:\n  - name: trust\n    signing: true\n    value: {level: high, __proto__: {level: low}}\n',
      yamlType,
    ],
  ] as const) {
    test(`a stored descriptor with a "__proto__" key in ${what} is refused, not read without it`, () => {
      // Before: the key vanished from the model, so the normalised form (what is signed) was that of
      // the descriptor without it, and a signature made before the key was added still verified.
      assert.throws(
        () => decodeDescriptor(Buffer.from(text), type, 'stored'),
        (e) => isLadingError(e) && e.code === 'INVALID_DESCRIPTOR' && /__proto__/.test(e.message),
      );
    });
  }

  test('the normalised form keeps a "__proto__" member of a label value (its digest differs)', () => {
    const plain = decodeDescriptor(Buffer.from(descriptorJson('{"level":"high"}', '{}')), jsonType, 'plain');
    const value = JSON.parse('{"level":"high","__proto__":{"level":"low"}}') as unknown;
    const label = plain.component.labels?.[0];
    assert.ok(label);
    const changed: ComponentDescriptor = {
      ...plain,
      component: { ...plain.component, labels: [{ ...label, value }] },
    };
    assert.notEqual(normalise(changed).toString(), normalise(plain).toString());
    assert.match(normalise(changed).toString(), /"__proto__":\{"level":"low"\}/);
  });
});

describe('verify cv: a signature vouches for the content of every resource it lets be downloaded', () => {
  test('a signed resource without access, given an access to other bytes (and no digest), does not verify', () =>
    withDir(async (dir) => {
      await promisify(execFile)(
        'openssl',
        ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'],
        { cwd: dir },
      );
      await promisify(execFile)('openssl', ['pkey', '-in', 'key.pem', '-pubout', '-out', 'pub.pem'], { cwd: dir });
      await writeFile(
        join(dir, 'c.yaml'),
        `components:
  - name: acme.org/app
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: tool
        version: 1.0.0
        type: executable
        relation: external
        access:
          type: none
`,
      );
      const ctf = join(dir, 'ctf');
      await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', ctf], { cwd: dir });
      const ref = `${ctf}//acme.org/app:1.0.0`;
      await ladingOk(['sign', 'cv', ref, '--private-key', 'key.pem'], { cwd: dir });
      // The attacker, with write access to the archive, gives the resource an access to their bytes.
      const evil = Buffer.from('#!/bin/sh\necho pwned\n');
      const blob = { mediaType: 'application/octet-stream', digest: digestBytes(evil), size: evil.length };
      const archive = await CtfArchive.open(ctf, { mode: 'readwrite' });
      try {
        const repo = new ComponentVersionRepository(archive.resolver());
        const stored = await repo.getComponentVersion('acme.org/app', '1.0.0');
        await (await repo.target('acme.org/app')).push(blob, evil);
        const next = structuredClone(stored.descriptor);
        const tool = next.component.resources?.[0];
        assert.ok(tool);
        tool.access = { type: 'localBlob/v1', localReference: blob.digest, mediaType: blob.mediaType };
        await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...stored.layers.values(), blob] });
        await archive.close({ commit: true });
      } catch (error) {
        await archive.close({ commit: false });
        throw error;
      }
      // The access is not signed (by design) and the resource had no digest: the normalised form is
      // unchanged. Before, verify printed "Verified" and the download delivered the attacker's bytes.
      const r = await lading(['verify', 'cv', ref, '--public-key', 'pub.pem'], { cwd: dir });
      assertOneLineError(r, /resource name=tool.*has no digest/);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /^Verified/m);
      const download = await lading(['download', 'resource', ref, '--identity', 'name=tool', '--output', 'tool'], {
        cwd: dir,
      });
      assert.equal(download.code, 0, download.stderr);
      assert.equal(
        await readFile(join(dir, 'tool'), 'utf8'),
        evil.toString(),
        'still downloadable: verify is the gate',
      );
    }));
});

/** Replaces the descriptor layer (and the config naming it) of name:1.0.0, leaving every other layer as it is. */
async function rewriteDescriptorLayer(
  ctf: string,
  name: string,
  mutate: (descriptor: ComponentDescriptor) => void,
): Promise<void> {
  const archive = await CtfArchive.open(ctf, { mode: 'readwrite' });
  try {
    const repo = new ComponentVersionRepository(archive.resolver());
    const stored = await repo.getComponentVersion(name, '1.0.0');
    const next = structuredClone(stored.descriptor);
    mutate(next);
    const target = await repo.target(name);
    const push = async (bytes: Uint8Array, mediaType: string) => {
      const desc = { mediaType, digest: digestBytes(bytes), size: bytes.byteLength };
      if (!(await target.exists(desc))) await target.push(desc, bytes);
      return desc;
    };
    const root = await target.resolve(versionToTag('1.0.0'));
    const manifest = JSON.parse((await fetchAll(target, root)).toString('utf8')) as {
      config: unknown;
      layers: unknown[];
    };
    const layer = await push(encodeDescriptor(next, DescriptorMediaType.Json), DescriptorMediaType.Json);
    manifest.layers[0] = layer;
    manifest.config = await push(encodeComponentConfig(layer), OcmMediaType.ComponentConfig);
    const top = await push(Buffer.from(JSON.stringify(manifest)), root.mediaType);
    await target.tag(top, versionToTag('1.0.0'));
    await archive.close({ commit: true });
  } catch (error) {
    await archive.close({ commit: false });
    throw error;
  }
}

describe('what reaches the terminal', () => {
  test('download resource: a local blob access media type cannot forge an output line', () =>
    withDir(async (dir) => {
      await writeFile(
        join(dir, 'c.yaml'),
        `components:
  - name: acme.org/app
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: data
        version: 1.0.0
        type: blob
        input:
          type: utf8/v1
          text: genuine
`,
      );
      const ctf = join(dir, 'ctf');
      await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', ctf], { cwd: dir });
      // Only the descriptor layer is rewritten: the manifest's layer keeps its valid media type.
      await rewriteDescriptorLayer(ctf, 'acme.org/app', (next) => {
        const data = next.component.resources?.[0];
        assert.ok(data);
        (data.access as { mediaType?: string }).mediaType =
          'text/plain\nVerified signature "default" of acme.org/app:1.0.0\u202e';
      });
      const r = await ladingOk(['download', 'resource', `${ctf}//acme.org/app:1.0.0`, '--identity', 'name=data'], {
        cwd: dir,
      });
      assert.equal(await readFile(join(dir, 'data'), 'utf8'), 'genuine');
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr, /text\/plain\\nVerified .*\\u202e\) to data/);
    }));
});

describe('what reaches the terminal: a target as given', () => {
  test('push, cp, blob push, manifest push and pull to a layout path holding a newline cannot forge a Digest line', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'f.txt'), 'hi\n');
      const forged = `sha256:${'0'.repeat(64)}`;
      const layout = join(dir, `lay\nDigest: ${forged}`);
      const runs = [
        ['push', '--oci-layout', `${layout}:v1`, 'f.txt'],
        ['cp', '--from-oci-layout', '--to-oci-layout', `${layout}:v1`, `${layout}:v2,v3`],
        ['pull', '--oci-layout', `${layout}:v1`, '-o', join(dir, 'out')],
        ['blob', 'push', '--oci-layout', `${layout}@${digestBytes(Buffer.from('hi\n'))}`, 'f.txt'],
      ];
      for (const args of runs) {
        const r = await ladingOk(args, { cwd: dir });
        assert.doesNotMatch(r.stdout, /^Digest: sha256:0{64}/m, `${args[0]}: ${r.stdout}`);
        assert.match(r.stdout, /lay\\nDigest: sha256:0{64}/, `${args[0]}: the path is shown escaped`);
      }
      const manifest = await ladingOk(['manifest', 'fetch', '--oci-layout', `${layout}:v1`], { cwd: dir });
      await writeFile(join(dir, 'm.json'), manifest.stdout);
      const pushed = await ladingOk(['manifest', 'push', '--oci-layout', `${layout}:v4`, 'm.json'], { cwd: dir });
      assert.doesNotMatch(pushed.stdout, /^Digest: sha256:0{64}/m, pushed.stdout);
    }));
});

describe('what reaches the terminal: a layout path with a comma', () => {
  test('push, cp and manifest push name the whole path and the first tag; the other tags are Tagged lines', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'f.txt'), 'hi\n');
      // A comma in the path is not a list of tags: only the reference after the path is one.
      const layout = join(dir, 'a,b', 'lay');
      const pushed = await ladingOk(['push', '--oci-layout', `${layout}:v1,v2`, 'f.txt'], { cwd: dir });
      assert.match(pushed.stdout, new RegExp(`^Pushed \\[oci-layout\\] ${regexText(layout)}:v1$`, 'm'));
      assert.match(pushed.stdout, /^Tagged v2$/m);
      const copied = await ladingOk(['cp', '--from-oci-layout', '--to-oci-layout', `${layout}:v1`, `${layout}:v3,v4`], {
        cwd: dir,
      });
      assert.match(
        copied.stdout,
        new RegExp(
          `^Copied \\[oci-layout\\] ${regexText(layout)}:v1 => \\[oci-layout\\] ${regexText(layout)}:v3$`,
          'm',
        ),
      );
      const manifest = await ladingOk(['manifest', 'fetch', '--oci-layout', `${layout}:v1`], { cwd: dir });
      await writeFile(join(dir, 'm.json'), manifest.stdout);
      const m = await ladingOk(['manifest', 'push', '--oci-layout', `${layout}:v5,v6`, 'm.json'], { cwd: dir });
      assert.match(m.stdout, new RegExp(`^Pushed: \\[oci-layout\\] ${regexText(layout)}:v5$`, 'm'));
    }));
});

function regexText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('bounded: sizes from a descriptor', () => {
  for (const [what, size] of [
    ['no size', undefined],
    ['a size that is not a number', 'lots'],
    ['a negative size', -1],
    ['a fractional size', 1.5],
  ] as const) {
    test(`download resource: an OCI layer access with ${what} is refused before the registry streams a byte`, () =>
      withDir(async (dir) => {
        const server = await HostileRegistry.start();
        try {
          server.on('GET', /\/blobs\//, ({ res, server: s }) =>
            endless(res, s, { 'content-type': 'application/octet-stream' }, { limit: 32 * 1024 * 1024 }),
          );
          await writeFile(
            join(dir, 'c.yaml'),
            `components:
  - name: acme.org/app
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: layer
        version: 1.0.0
        type: blob
        relation: external
        access:
          type: none
`,
          );
          const ctf = join(dir, 'ctf');
          await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', ctf], { cwd: dir });
          await rewriteDescriptorLayer(ctf, 'acme.org/app', (next) => {
            const layer = next.component.resources?.[0];
            assert.ok(layer);
            layer.access = {
              type: 'ociBlob/v1',
              ref: `http://${server.host}/evil/repo`,
              mediaType: 'application/octet-stream',
              digest: digestBytes(Buffer.from('whatever')),
              ...(size === undefined ? {} : { size }),
            };
          });
          const r = await lading(['download', 'resource', `${ctf}//acme.org/app:1.0.0`, '--identity', 'name=layer'], {
            cwd: dir,
          });
          // Before: the endless body was read to its end (32 MiB here, the disk in real life), as
          // `seen > NaN` never holds, and only then refused.
          assertOneLineError(r, /size/);
          assert.equal(server.count('GET', /\/blobs\//), 0, 'the blob was never asked for');
          assert.deepEqual((await readdir(dir)).sort(), ['c.yaml', 'ctf']);
        } finally {
          await server.close();
        }
      }));
  }
});
