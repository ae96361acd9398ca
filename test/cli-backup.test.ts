// `lading backup` and `lading restore` (ORAS 1.3) against the real peers: a repository with an
// image index, a plain artifact and referrers goes registry → layout (tar or directory) → another
// registry, and skopeo and umoci check what each step wrote.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Target } from '../src/content/index.js';
import { type Descriptor, digestBytes, MediaType } from '../src/oci/index.js';
import { Registry, type Repository } from '../src/registry/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushArtifact, pushImage, pushIndex, withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();
const plain = new Registry(peers.plain.host, { plainHttp: true });
let counter = 0;
const repoName = (what: string) => `backup/${what}-${process.pid}-${++counter}`;

interface Source {
  name: string;
  repo: Repository;
  index: Descriptor;
  amd: Descriptor;
  arm: Descriptor;
  artifact: Descriptor;
  signature: Descriptor;
  sbom: Descriptor;
}

/**
 * A repository with three tags: `v1` an image index (two platform images; a signature refers to
 * the index, an SBOM to its amd64 image), `old` the arm64 image alone, `art` a plain ORAS artifact.
 */
async function source(): Promise<Source> {
  const name = repoName('src');
  const repo = plain.repository(name, { push: true });
  const amd = (await pushImage(repo, { 'amd.txt': 'amd64\n' })).manifest;
  const arm = (await pushImage(repo, { 'arm.txt': 'arm64\n' })).manifest;
  const index = await pushIndex(repo, [
    { ...amd, platform: { architecture: 'amd64', os: 'linux' } },
    { ...arm, platform: { architecture: 'arm64', os: 'linux' } },
  ]);
  await repo.tag(index, 'v1');
  await repo.tag(arm, 'old');
  const artifact = (await pushArtifact(repo, { 'readme.txt': 'read me\n' })).manifest;
  await repo.tag(artifact, 'art');
  const signature = (
    await pushArtifact(repo, { 'sig.bin': 'signed' }, { subject: index, artifactType: 'application/vnd.example.sig' })
  ).manifest;
  const sbom = (
    await pushArtifact(repo, { 'sbom.json': '{"spdx":1}' }, { subject: amd, artifactType: 'application/spdx+json' })
  ).manifest;
  return { name, repo, index, amd, arm, artifact, signature, sbom };
}

/** Every file under blobs/ is named by the digest of its bytes. */
async function assertBlobsIntact(layout: string): Promise<number> {
  const dir = join(layout, 'blobs', 'sha256');
  let n = 0;
  for (const name of await readdir(dir)) {
    const hex = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
    assert.equal(hex, name, `${layout}: blobs/sha256/${name} does not hold its digest`);
    n++;
  }
  return n;
}

async function indexJson(layout: string): Promise<{ manifests: Descriptor[] }> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
}

function refNames(index: { manifests: Descriptor[] }): string[] {
  return index.manifests
    .map((m) => m.annotations?.['org.opencontainers.image.ref.name'])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** The digest of what skopeo reads as the raw manifest. */
async function skopeoDigest(args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', ...args], { encoding: 'buffer' });
  return digestBytes(stdout);
}

async function referrerDigests(target: Target & { referrers?: unknown }, subject: Descriptor): Promise<string[]> {
  const { listReferrers } = await import('../src/content/index.js');
  return (await listReferrers(target, subject)).map((d) => d.digest).sort();
}

async function tagsOf(repo: Repository): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const page of repo.tags()) out.push(...page);
  } catch {
    // a repository that does not exist has no tags
  }
  return out.filter((t) => !t.startsWith('sha256-')).sort();
}

/** The tag list of a `Found n tag(s) in …: a, b` line. */
function found(stdout: string): string {
  return /^Found \d+ tag\(s\) in .*: (.*)$/m.exec(stdout)?.[1] ?? '';
}

const tls = peers.tls;
const tlsFlags = ['--ca-file', tls.caFile, '-u', tls.username, '-p', tls.password];

describe('lading backup and restore (ORAS 1.3)', () => {
  test('round trip: registry → tar → another registry, referrers included; skopeo and umoci agree', () =>
    withDir(async (dir) => {
      const src = await source();
      const ref = `${peers.plain.host}/${src.name}`;
      const tar = join(dir, 'backup.tar');
      const b = await ladingOk(['backup', '--plain-http', '--no-tty', '--include-referrers', '-o', tar, ref]);
      assert.deepEqual(/^Found 3 tag\(s\) in (.*): (.*)$/m.exec(b.stdout)?.slice(1), [ref, found(b.stdout)]);
      assert.deepEqual(found(b.stdout).split(', ').sort(), ['art', 'old', 'v1']);
      assert.match(b.stdout, /^Pulled tag v1 with 2 referrer\(s\)$/m);
      assert.match(b.stdout, /^Pulled tag art with 0 referrer\(s\)$/m);
      assert.match(b.stdout, /^Pulling {3}[0-9a-f]{12} /m);
      assert.match(b.stdout, new RegExp(`^Exporting to ${tar}$`, 'm'));
      assert.match(b.stdout, new RegExp(`^Exported to ${tar} \\(\\d+(\\.\\d+)? KB\\)$`, 'm'));
      assert.match(
        b.stdout,
        new RegExp(`^Successfully backed up 3 tag\\(s\\) from "${ref}" to "${tar}" in \\d+(ms|s|µs)\\.$`, 'm'),
      );
      await assert.rejects(stat(`${tar}.partial`), /ENOENT/, 'the staging directory is gone');

      // skopeo reads every tag out of the tar with the original digests; umoci unpacks one.
      assert.equal(await skopeoDigest([`oci-archive:${tar}:v1`]), src.index.digest);
      assert.equal(await skopeoDigest([`oci-archive:${tar}:art`]), src.artifact.digest);
      await run('skopeo', ['copy', `oci-archive:${tar}:old`, `oci:${join(dir, 'via-skopeo')}:old`]);
      assert.equal(await skopeoDigest([`oci:${join(dir, 'via-skopeo')}:old`]), src.arm.digest);
      await mkdir(join(dir, 'untarred'));
      await run('tar', ['-xf', tar, '-C', join(dir, 'untarred')]);
      await run('umoci', ['stat', '--image', `${join(dir, 'untarred')}:old`]);
      assert.ok((await assertBlobsIntact(join(dir, 'untarred'))) >= 10);

      // Restore into the other registry (TLS, credentials): every tag, referrers included.
      const dstName = repoName('dst');
      const dstRef = `${tls.host}/${dstName}`;
      const r = await ladingOk(['restore', '--no-tty', ...tlsFlags, '--input', tar, dstRef]);
      assert.match(r.stdout, new RegExp(`^Loaded backup archive: ${tar} \\(\\d+(\\.\\d+)? KB\\)$`, 'm'));
      assert.match(r.stdout, /^Found 3 tag\(s\) in the backup: art, old, v1$/m); // a layout lists its tags sorted
      assert.match(r.stdout, /^Pushing {3}[0-9a-f]{12} /m);
      assert.match(r.stdout, /^Pushed tag v1 with 2 referrer\(s\)$/m);
      assert.match(r.stdout, new RegExp(`^Successfully restored 3 tag\\(s\\) to "${dstRef}" in \\d+(ms|s|µs)$`, 'm'));

      const skopeoTls = ['--cert-dir', tls.certDir, '--creds', `${tls.username}:${tls.password}`];
      assert.equal(await skopeoDigest([...skopeoTls, `docker://${dstRef}:v1`]), src.index.digest);
      assert.equal(await skopeoDigest([...skopeoTls, `docker://${dstRef}:art`]), src.artifact.digest);
      await run('skopeo', [
        'copy',
        '--src-cert-dir',
        tls.certDir,
        '--src-creds',
        `${tls.username}:${tls.password}`,
        `docker://${dstRef}:old`,
        `oci:${join(dir, 'from-dst')}:old`,
      ]);
      assert.equal(await skopeoDigest([`oci:${join(dir, 'from-dst')}:old`]), src.arm.digest);
      const dstRegistry = new Registry(tls.host, {
        caFile: tls.caFile,
        credentials: async () => ({ username: tls.username, password: tls.password }),
      });
      const dst = dstRegistry.repository(dstName);
      try {
        assert.deepEqual(await tagsOf(dst), ['art', 'old', 'v1']);
        assert.deepEqual(await referrerDigests(dst, src.index), [src.signature.digest]);
        assert.deepEqual(await referrerDigests(dst, src.amd), [src.sbom.digest]);
      } finally {
        await dstRegistry.close();
      }
    }));

  test('a directory backup of selected tags, then resumed with referrers: missing and corrupt blobs are copied again', () =>
    withDir(async (dir) => {
      const src = await source();
      const ref = `${peers.plain.host}/${src.name}`;
      const out = join(dir, 'layout');
      const first = await ladingOk(['backup', '--plain-http', '--no-tty', '--output', out, `${ref}:v1,art`]);
      assert.match(first.stdout, new RegExp(`^Found 2 tag\\(s\\) in ${ref}: v1, art$`, 'm'));
      assert.match(first.stdout, /^Pulled tag v1 with 0 referrer\(s\)$/m);
      assert.deepEqual(refNames(await indexJson(out)), ['art', 'v1']);
      assert.equal(await skopeoDigest([`oci:${out}:v1`]), src.index.digest);
      await assert.rejects(stat(join(out, 'ingest')), /ENOENT/);

      // An interrupted run's leftovers: one layer gone, one config corrupted (same size), one
      // manifest corrupted.
      const blob = (d: Descriptor) => join(out, 'blobs', 'sha256', d.digest.slice(7));
      const amdManifest = JSON.parse(await readFile(blob(src.amd), 'utf8'));
      const armManifest = JSON.parse(await readFile(blob(src.arm), 'utf8'));
      await rm(blob(amdManifest.layers[0]));
      const config = await readFile(blob(armManifest.config));
      config[0] = config[0] === 0x7b ? 0x5b : 0x7b;
      await writeFile(blob(armManifest.config), config);
      const indexBytes = await readFile(blob(src.index));
      await writeFile(blob(src.index), Buffer.concat([indexBytes, Buffer.from(' ')]));

      const again = await ladingOk([
        'backup',
        '--plain-http',
        '--no-tty',
        '--include-referrers',
        '--output',
        out,
        `${ref}:v1,art`,
      ]);
      const warnings = again.stderr.trim().split('\n').sort();
      assert.equal(warnings.length, 2, again.stderr);
      assert.match(
        again.stderr,
        new RegExp(`^Warning: ${armManifest.config.digest} in the backup failed verification`, 'm'),
      );
      assert.match(again.stderr, new RegExp(`^Warning: ${src.index.digest} in the backup failed verification`, 'm'));
      // What was intact is not copied again; what was missing or corrupt is.
      assert.match(again.stdout, new RegExp(`^Exists {4}${src.artifact.digest.slice(7, 19)} `, 'm'));
      for (const d of [amdManifest.layers[0], armManifest.config, src.index, src.signature, src.sbom]) {
        assert.match(again.stdout, new RegExp(`^Pulled {4}${d.digest.slice(7, 19)} `, 'm'), d.digest);
      }
      assert.doesNotMatch(again.stdout, new RegExp(`^Pulled {4}${armManifest.layers[0].digest.slice(7, 19)} `, 'm'));
      assert.match(again.stdout, /^Pulled tag v1 with 2 referrer\(s\)$/m);
      // art was intact and tagged already: nothing moved for it, and the line says so.
      assert.match(again.stdout, /^Skipped tag art with 0 referrer\(s\): already backed up$/m);
      assert.doesNotMatch(again.stdout, /^Pulled tag art /m);
      await assertBlobsIntact(out);
      const index = await indexJson(out);
      assert.deepEqual(refNames(index), ['art', 'v1'], 'the tag of the replaced index is back');
      const listed = new Set(index.manifests.map((m) => m.digest));
      for (const d of [src.signature, src.sbom, src.amd, src.arm]) assert.ok(listed.has(d.digest), d.digest);
      assert.equal(await skopeoDigest([`oci:${out}:v1`]), src.index.digest);
      await run('skopeo', ['copy', `oci:${out}:v1`, `oci:${join(dir, 'check')}:v1`]);

      // Run once more with nothing missing: every tag is skipped, nothing is pulled.
      const third = await ladingOk([
        'backup',
        '--plain-http',
        '--no-tty',
        '--include-referrers',
        '-o',
        out,
        `${ref}:v1,art`,
      ]);
      assert.match(third.stdout, /^Skipped tag v1 with 2 referrer\(s\): already backed up$/m);
      assert.match(third.stdout, /^Skipped tag art with 0 referrer\(s\): already backed up$/m);
      assert.doesNotMatch(third.stdout, /^Pulled/m);
      assert.match(third.stdout, /^Successfully backed up 2 tag\(s\)/m);

      // A tar backup resumes from its staging directory: blobs already staged are not pulled again.
      const tar = join(dir, 'resumed.tar');
      const staging = `${tar}.partial`;
      await mkdir(join(staging, 'blobs', 'sha256'), { recursive: true });
      const artManifest = JSON.parse(await readFile(blob(src.artifact), 'utf8'));
      const readme = artManifest.layers[0] as Descriptor;
      await cp(blob(readme), join(staging, 'blobs', 'sha256', readme.digest.slice(7)));
      const resumed = await ladingOk(['backup', '--plain-http', '--no-tty', '-o', tar, `${ref}:art`]);
      assert.match(resumed.stdout, new RegExp(`^Exists {4}${readme.digest.slice(7, 19)} readme.txt$`, 'm'));
      assert.doesNotMatch(resumed.stdout, /^Pulled {4}.* readme.txt$/m);
      assert.match(resumed.stdout, new RegExp(`^Pulled {4}${src.artifact.digest.slice(7, 19)} `, 'm'));
      await assert.rejects(stat(staging), /ENOENT/);
      assert.equal(await skopeoDigest([`oci-archive:${tar}:art`]), src.artifact.digest);
    }));

  test("a directory backup into a folder of the user's keeps its own ingest/ files; only stale temps go", () =>
    withDir(async (dir) => {
      const src = await source();
      const out = join(dir, 'project');
      await mkdir(join(out, 'ingest'), { recursive: true });
      await writeFile(join(out, 'ingest', 'notes.txt'), 'precious\n');
      // What an interrupted run (a process that no longer runs) left in the layout's ingest/.
      const stale = join(out, 'ingest', `.ingest.999999999.${'a'.repeat(12)}.tmp`);
      await writeFile(stale, 'half a blob');
      await ladingOk(['backup', '--plain-http', '--no-tty', '-o', out, `${peers.plain.host}/${src.name}:art`]);
      assert.equal(await readFile(join(out, 'ingest', 'notes.txt'), 'utf8'), 'precious\n');
      await assert.rejects(stat(stale), /ENOENT/);
      assert.deepEqual(refNames(await indexJson(out)), ['art']);
      await assertBlobsIntact(out);
    }));

  test('restore: tag selection, --exclude-referrers and --dry-run into the same registry', () =>
    withDir(async (dir) => {
      const src = await source();
      const out = join(dir, 'layout');
      await ladingOk(['backup', '--plain-http', '--include-referrers', '-o', out, `${peers.plain.host}/${src.name}`]);

      const dryName = repoName('dry');
      const dry = await ladingOk([
        'restore',
        '--plain-http',
        '--dry-run',
        '--input',
        out,
        `${peers.plain.host}/${dryName}`,
      ]);
      assert.match(dry.stdout, /^Found 3 tag\(s\) in the backup: art, old, v1$/m);
      assert.match(dry.stdout, /^Dry run: would push tag v1 with 2 referrer\(s\)$/m);
      assert.match(
        dry.stdout,
        new RegExp(
          `^Dry run complete: 3 tag\\(s\\) would be restored to "${peers.plain.host}/${dryName}" \\(no data pushed\\)$`,
          'm',
        ),
      );
      assert.deepEqual(await tagsOf(plain.repository(dryName)), []);

      const selName = repoName('sel');
      const sel = plain.repository(selName);
      const r = await ladingOk([
        'restore',
        '--plain-http',
        '--no-tty',
        '--exclude-referrers',
        '--input',
        out,
        `${peers.plain.host}/${selName}:v1`,
      ]);
      assert.match(r.stdout, /^Found 1 tag\(s\) in the backup: v1$/m);
      assert.match(r.stdout, /^Pushed tag v1 with 0 referrer\(s\)$/m);
      assert.deepEqual(await tagsOf(sel), ['v1']);
      assert.equal((await sel.resolve('v1')).digest, src.index.digest);
      assert.deepEqual(await referrerDigests(sel, src.index), []);
      // Run again with referrers: the content is there (Exists), the referrers are added.
      const again = await ladingOk([
        'restore',
        '--plain-http',
        '--no-tty',
        '--input',
        out,
        `${peers.plain.host}/${selName}:v1`,
      ]);
      assert.match(again.stdout, new RegExp(`^Exists {4}${src.amd.digest.slice(7, 19)} `, 'm'));
      assert.match(again.stdout, /^Pushed tag v1 with 2 referrer\(s\)$/m);
      assert.deepEqual(await referrerDigests(sel, src.index), [src.signature.digest]);
      assert.deepEqual(await referrerDigests(sel, src.amd), [src.sbom.digest]);
    }));

  test('hostile layouts: an invalid tag or a missing blob is a one-line error and the registry stays untouched', () =>
    withDir(async (dir) => {
      const src = await source();
      const good = join(dir, 'layout');
      await ladingOk(['backup', '--plain-http', '--include-referrers', '-o', good, `${peers.plain.host}/${src.name}`]);

      const badTag = join(dir, 'bad-tag');
      await cp(good, badTag, { recursive: true });
      const index = await indexJson(badTag);
      index.manifests.push({
        ...src.artifact,
        annotations: { 'org.opencontainers.image.ref.name': 'bad tag\u001b[31m!' },
      });
      await writeFile(join(badTag, 'index.json'), JSON.stringify(index));
      const name1 = repoName('hostile');
      const r1 = await lading(['restore', '--plain-http', '--input', badTag, `${peers.plain.host}/${name1}`]);
      assertOneLineError(r1, /is not a valid tag/);
      assert.ok(!r1.stderr.includes('\u001b'), 'the tag is escaped on the terminal');
      assert.deepEqual(await tagsOf(plain.repository(name1)), []);

      const missing = join(dir, 'missing');
      await cp(good, missing, { recursive: true });
      const amdManifest = JSON.parse(await readFile(join(missing, 'blobs', 'sha256', src.amd.digest.slice(7)), 'utf8'));
      await rm(join(missing, 'blobs', 'sha256', amdManifest.layers[0].digest.slice(7)));
      const name2 = repoName('hostile');
      const r2 = await lading(['restore', '--plain-http', '--input', missing, `${peers.plain.host}/${name2}`]);
      assertOneLineError(r2, new RegExp(`${amdManifest.layers[0].digest} not found`));
      assert.deepEqual(await tagsOf(plain.repository(name2)), []);
      // Nothing at all was pushed: not even the blobs that verified before the missing one.
      assert.equal(
        await plain
          .repository(name2)
          .exists(src.artifact)
          .catch(() => false),
        false,
      );

      // An index.json entry naming a blob that is not there.
      const ghost = join(dir, 'ghost');
      await cp(good, ghost, { recursive: true });
      const g = await indexJson(ghost);
      const fake = Buffer.from('{"schemaVersion":2}');
      g.manifests.push({
        mediaType: MediaType.ImageManifest,
        digest: digestBytes(fake),
        size: fake.length,
        annotations: { 'org.opencontainers.image.ref.name': 'ghost' },
      });
      await writeFile(join(ghost, 'index.json'), JSON.stringify(g));
      const name3 = repoName('hostile');
      assertOneLineError(
        await lading(['restore', '--plain-http', '--input', ghost, `${peers.plain.host}/${name3}`]),
        new RegExp(`${digestBytes(fake)} not found`),
      );
      assert.deepEqual(await tagsOf(plain.repository(name3)), []);
    }));

  test('a tag that does not resolve or is not a valid tag fails alone: the others are backed up, each bad one is one line, the exit is non-zero', () =>
    withDir(async (dir) => {
      const src = await source();
      const ref = `${peers.plain.host}/${src.name}`;
      // The registry's own storage lists what a broken or hostile registry would: a tag whose
      // manifest is gone, and a name that is not a valid tag (naming a real manifest). Where each
      // registry keeps its tags: distribution's own tree, or lading serve's OCI layout per repository.
      // The good tags: v1, old, art, and on a registry without the referrers API (distribution)
      // the two tags of the referrers tag schema.
      let good = 0;
      for await (const page of plain.repository(src.name).tags()) good += page.length;
      const ghost = { ...src.artifact, digest: `sha256:${'0'.repeat(64)}` };
      if (peers.plain.kind === 'lading-serve') {
        const indexFile = join(peers.plain.dataDir, src.name, 'index.json');
        const index = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Descriptor[] };
        for (const [tag, desc] of [
          ['ghost', ghost],
          ['-bad', src.artifact],
        ] as const) {
          index.manifests.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
        }
        await writeFile(indexFile, JSON.stringify(index));
      } else {
        const tags = join(peers.plain.dataDir, 'docker/registry/v2/repositories', src.name, '_manifests/tags');
        const link = async (tag: string, digest: string) => {
          await mkdir(join(tags, tag, 'current'), { recursive: true });
          await writeFile(join(tags, tag, 'current', 'link'), digest);
        };
        await link('ghost', ghost.digest);
        await link('-bad', src.artifact.digest);
      }

      const out = join(dir, 'all');
      const all = await lading(['backup', '--plain-http', '--no-tty', '--output', out, ref]);
      assert.notEqual(all.code, 0, all.stderr);
      const lines = all.stderr.trim().split('\n');
      assert.equal(lines.length, 3, all.stderr);
      assert.match(all.stderr, /^Error: failed to back up tag "-bad" from ".*": .*"-bad" is not a valid tag$/m);
      assert.match(all.stderr, /^Error: failed to back up tag "ghost" from ".*": /m);
      assert.match(
        lines[2] as string,
        new RegExp(`^Error: backed up ${good} of ${good + 2} tag\\(s\\) from ".*" to ".*"; failed: "-bad", "ghost"$`),
      );
      assert.doesNotMatch(all.stdout, /Successfully/);
      const names = refNames(await indexJson(out));
      assert.deepEqual(
        names.filter((n) => !n.startsWith('sha256-')),
        ['art', 'old', 'v1'],
      );
      assert.equal(names.length, good, names.join(', '));
      assert.equal(await skopeoDigest([`oci:${out}:v1`]), src.index.digest);
      await assertBlobsIntact(out);

      // Named tags, into a tar: the good one is exported, the bad one reported.
      const tar = join(dir, 'some.tar');
      const some = await lading(['backup', '--plain-http', '--no-tty', '-o', tar, `${ref}:ghost,art`]);
      assert.notEqual(some.code, 0, some.stderr);
      assert.equal(some.stderr.trim().split('\n').length, 2, some.stderr);
      assert.match(some.stderr, /^Error: failed to back up tag "ghost" from /m);
      assert.match(some.stderr, /^Error: backed up 1 of 2 tag\(s\) .*; failed: "ghost"$/m);
      assert.match(some.stdout, /^Pulled tag art with 0 referrer\(s\)$/m);
      assert.equal(await skopeoDigest([`oci-archive:${tar}:art`]), src.artifact.digest);

      // Nothing that can be backed up is one line, and nothing is written.
      const none = await lading(['backup', '--plain-http', '--no-tty', '-o', join(dir, 'none'), `${ref}:ghost`]);
      assertOneLineError(
        { ...none, stderr: none.stderr.split('\n').slice(1).join('\n') },
        /none of the 1 tag\(s\) of repository ".*" could be backed up; the first, "ghost": /,
      );
      await assert.rejects(stat(join(dir, 'none')), /ENOENT/);
    }));

  test('argument mistakes are one-line errors before any work', () =>
    withDir(async (dir) => {
      const ref = `${peers.plain.host}/${repoName('args')}`;
      assertOneLineError(
        await lading(['backup', '--plain-http', '-o', join(dir, 'x'), `${ref}@sha256:${'a'.repeat(64)}`]),
        /digest references are not supported/,
      );
      assertOneLineError(await lading(['backup', '--plain-http', ref]), /required flag "--output" not set/);
      assertOneLineError(await lading(['backup', '--plain-http', '-o', '', ref]), /the output path cannot be empty/);
      assertOneLineError(
        await lading(['backup', '--plain-http', '-o', join(dir, 'x'), `${ref}:v1,,v2`]),
        /empty tag in reference/,
      );
      await mkdir(join(dir, 'is-a-dir.tar'));
      assertOneLineError(
        await lading(['backup', '--plain-http', '-o', join(dir, 'is-a-dir.tar'), `${ref}:v1`]),
        /already exists and is a directory/,
      );
      assertOneLineError(
        await lading(['backup', '--plain-http', '-o', join(dir, 'none'), ref]),
        /no tags found in repository|not found|unknown/i,
      );
      assertOneLineError(await lading(['restore', '--plain-http', ref]), /required flag "--input" not set/);
      assertOneLineError(
        await lading(['restore', '--plain-http', '--input', join(dir, 'nowhere'), ref]),
        /no such file or directory/,
      );
    }));
});
