import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Storage } from '../../src/content/index.js';
import {
  type Descriptor,
  digestBytes,
  EmptyJsonBytes,
  EmptyJsonDescriptor,
  encodeIndex,
  encodeManifest,
  isLadingError,
  MediaType,
} from '../../src/oci/index.js';
import type { ComponentDescriptor } from '../../src/ocm/descriptor/model.js';

let umaskSeen: number | undefined;

/** `mode` less this process's umask: the mode a file or folder made with `mode` gets. */
export async function lessUmask(mode: number): Promise<number> {
  if (umaskSeen === undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'lading-umask-'));
    try {
      await writeFile(join(dir, 'probe'), '', { mode: 0o777 });
      umaskSeen = 0o777 & ~(await stat(join(dir, 'probe'))).mode;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return mode & ~umaskSeen;
}

/**
 * Overwrites a file that a store keeps read-only (a CTF or layout blob) with `bytes`, as someone
 * who owns it would: made writable first, so that the test holds for any user, not only root.
 */
export async function overwriteStored(file: string, bytes: string | Uint8Array): Promise<void> {
  await chmod(file, 0o644);
  await writeFile(file, bytes);
}

/** Pushes unless present; another writer landing the same blob in between is not an error. */
async function pushOnce(store: Storage, desc: Descriptor, bytes: Uint8Array): Promise<void> {
  if (await store.exists(desc)) return;
  try {
    await store.push(desc, bytes);
  } catch (error) {
    if (!(isLadingError(error) && error.code === 'ALREADY_EXISTS')) throw error;
  }
}

export async function tempDir(prefix = 'lading-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `fn` in a fresh temp folder that is removed afterwards, whatever happens. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const t = await tempDir();
  try {
    await fn(t.path);
  } finally {
    await t.cleanup();
  }
}

export function blobDescriptor(bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Descriptor {
  return { mediaType, digest: digestBytes(bytes), size: bytes.byteLength, ...(annotations ? { annotations } : {}) };
}

export async function pushBytes(
  store: Storage,
  bytes: Uint8Array,
  mediaType: string,
  annotations?: Record<string, string>,
) {
  const desc = blobDescriptor(bytes, mediaType, annotations);
  await pushOnce(store, desc, bytes);
  return desc;
}

async function tarBytes(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const [name, text] of Object.entries(files)) {
    p.entry({ name, mtime: new Date(0), mode: 0o644, uid: 0, gid: 0 }, text);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A small but real OCI image (config with diff_ids, one tar+gzip layer) that umoci and skopeo accept. */
export async function pushImage(store: Storage, files: Record<string, string> = { 'hello.txt': 'hello\n' }) {
  const tar = await tarBytes(files);
  const layerBytes = gzipSync(tar);
  const layer = await pushBytes(store, layerBytes, MediaType.ImageLayerGzip);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin'] },
      rootfs: { type: 'layers', diff_ids: [digestBytes(tar)] },
      created: '2026-01-01T00:00:00Z',
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'lading test' }],
    }),
  );
  const configDesc = await pushBytes(store, config, MediaType.ImageConfig);
  const manifestBytes = encodeManifest({
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: configDesc,
    layers: [layer],
  });
  const manifest = await pushBytes(store, manifestBytes, MediaType.ImageManifest);
  return { manifest, config: configDesc, layer, tar };
}

/** An ORAS-style artifact: empty config, titled layers. */
export async function pushArtifact(
  store: Storage,
  files: Record<string, string | Uint8Array>,
  extra: { subject?: Descriptor; artifactType?: string } = {},
) {
  await pushOnce(store, EmptyJsonDescriptor, EmptyJsonBytes);
  const layers: Descriptor[] = [];
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    layers.push(await pushBytes(store, bytes, MediaType.ImageLayer, { 'org.opencontainers.image.title': name }));
  }
  const bytes = encodeManifest({
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    artifactType: extra.artifactType ?? MediaType.UnknownArtifact,
    config: EmptyJsonDescriptor,
    layers,
    ...(extra.subject ? { subject: extra.subject } : {}),
    annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
  });
  return { manifest: await pushBytes(store, bytes, MediaType.ImageManifest), layers };
}

export async function pushIndex(store: Storage, manifests: Descriptor[]) {
  const bytes = encodeIndex({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests });
  return pushBytes(store, bytes, MediaType.ImageIndex);
}

/** A component descriptor of `name` and `version` with nothing in it (provider acme.org). */
export function componentDescriptor(name: string, version: string): ComponentDescriptor {
  return {
    meta: { schemaVersion: 'v2' },
    component: {
      name,
      version,
      provider: { name: 'acme.org' },
      repositoryContexts: [],
      resources: [],
      sources: [],
      componentReferences: [],
    },
  };
}
