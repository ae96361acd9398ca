import type { Command } from 'commander';
import { LadingError } from '../../oci/index.js';
import type { Signature } from '../../ocm/descriptor/model.js';
import type { VerifySignatureOptions } from '../../ocm/signing/index.js';
import type { UiStore } from '../../server/ui/index.js';
import type { CliIO } from '../io.js';
import { addOcmOptions, collect } from '../options.js';
import { safeText } from '../output/safe-text.js';
import type { OcmRemoteFlags } from './ocm/common.js';

export interface UiFlags extends OcmRemoteFlags {
  addr?: string;
  open?: boolean;
  publicKey?: string[];
  rootCertificate?: string[];
  allowedHost?: string[];
}

/** `[name=]file`: a key for the signature `name`, or (no name) for every signature. */
function parseNamedFile(raw: string, flag: string): { name?: string; file: string } {
  const eq = raw.indexOf('=');
  if (eq === 0 || raw.endsWith('='))
    throw new LadingError('INVALID_ARGUMENT', `${flag} "${raw}": expected [signature=]file`);
  if (eq < 0) return { file: raw };
  return { name: raw.slice(0, eq), file: raw.slice(eq + 1) };
}

async function readKey(file: string, flag: string): Promise<Buffer> {
  const { readKeyFile } = await import('./ocm/sign.js');
  return readKeyFile(file, flag);
}

/**
 * The keys the view verifies with: --public-key and --root-certificate files (per signature name,
 * or for all), else the OCM configuration's RSA consumer for the signature's name and algorithm.
 */
export async function keysFrom(
  flags: UiFlags,
): Promise<((s: Signature) => Promise<VerifySignatureOptions | undefined>) | undefined> {
  const publicKeys = new Map<string, Buffer>();
  const roots = new Map<string, Buffer>();
  for (const raw of flags.publicKey ?? []) {
    const { name, file } = parseNamedFile(raw, '--public-key');
    publicKeys.set(name ?? '', await readKey(file, '--public-key'));
  }
  for (const raw of flags.rootCertificate ?? []) {
    const { name, file } = parseNamedFile(raw, '--root-certificate');
    roots.set(name ?? '', await readKey(file, '--root-certificate'));
  }
  const { ocmConfigFor } = await import('./ocm/common.js');
  const config = await ocmConfigFor(flags);
  const fromConfig = config.consumers.some((c) =>
    c.identities.some((i) => i.type === 'RSA/v1alpha1' || i.type === 'RSA'),
  );
  if (publicKeys.size === 0 && roots.size === 0 && !fromConfig) return undefined;
  const { signingKeyFromConfig } = await import('../../ocm/config/index.js');
  return async (s) => {
    const publicKey = publicKeys.get(s.name) ?? publicKeys.get('');
    const rootCertificates = roots.get(s.name) ?? roots.get('');
    if (publicKey || rootCertificates) {
      return { ...(publicKey ? { publicKey } : {}), ...(rootCertificates ? { rootCertificates } : {}) };
    }
    const configured = await signingKeyFromConfig(config, s.name, { algorithm: s.signature.algorithm });
    return configured?.publicKeyPem ? { publicKey: Buffer.from(configured.publicKeyPem) } : undefined;
  };
}

/** Opens what the argument names: an OCI layout (a folder with `oci-layout`, or --oci-layout), a CTF archive or a registry. */
async function openStore(location: string, flags: UiFlags): Promise<{ store: UiStore; close: () => Promise<void> }> {
  const { existsSync, statSync } = await import('node:fs');
  const { basename, join, resolve } = await import('node:path');
  const isLayoutDir = existsSync(join(location, 'oci-layout')) && statSync(location).isDirectory();
  if (flags.ociLayout || isLayoutDir) {
    const { OciLayout } = await import('../../layout/index.js');
    const { layoutStore } = await import('../../server/ui/index.js');
    // The view may be read by others than whoever can read the folder: links in it are not followed.
    const layout = await OciLayout.open(location, { followLinks: false });
    const name = basename(resolve(location)).replace(/\.tar$/, '') || 'layout';
    return { store: layoutStore(layout, location, name), close: async () => {} };
  }
  const { parseRepository } = await import('../../ocm/reference.js');
  const spec = parseRepository(location);
  if (spec.kind === 'CommonTransportFormat') {
    const { CtfArchive } = await import('../../ctf/index.js');
    const { ctfStore } = await import('../../server/ui/index.js');
    const archive = await CtfArchive.open(spec.filePath, { mode: 'readonly', followLinks: false });
    return { store: ctfStore(archive, spec.filePath), close: () => archive.close({ commit: false }) };
  }
  const { ocmRegistryOptions } = await import('./ocm/common.js');
  const { Registry } = await import('../../registry/index.js');
  const { registryStore } = await import('../../server/ui/index.js');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(spec.baseUrl)?.[1];
  const options = await ocmRegistryOptions(flags, { scheme, subPath: spec.subPath });
  const host = spec.baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const registry = new Registry(spec.baseUrl, options(host));
  const display = `${spec.baseUrl}${spec.subPath ? `/${spec.subPath}` : ''}`;
  return {
    store: registryStore(registry, display, spec.subPath ? { subPath: spec.subPath } : {}),
    close: () => registry.close(),
  };
}

async function openBrowser(url: string, io: CliIO): Promise<void> {
  const { spawn } = await import('node:child_process');
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr.write(`warning: could not start xdg-open; open ${url} yourself\n`));
  child.unref();
}

export function registerUi(program: Command, io: CliIO): void {
  const cmd = program
    .command('ui')
    .description('serve a read-only browser view of a CTF archive, an OCI layout or a registry on 127.0.0.1')
    .argument(
      '<location>',
      'a CTF archive (folder, .tar, .tgz), an OCI layout (folder or tar) or a registry (host[:port][/sub/path])',
    )
    .option('--oci-layout', 'the location is an OCI image layout (a folder with oci-layout is recognised anyway)')
    .option('--addr <host:port>', 'address to listen on (default: 127.0.0.1 and a free port)')
    .option(
      '--allowed-host <name>',
      'a further host name the browser may reach the view by (repeatable; its addresses and localhost always work)',
      collect,
    )
    .option('--open', 'open the view in the browser (xdg-open)')
    .option(
      '--public-key <[signature=]file>',
      'a public key (PEM) to verify signatures with, for one signature name or all (repeatable)',
      collect,
    )
    .option(
      '--root-certificate <[signature=]file>',
      'root certificates (PEM) for PEM signatures, for one signature name or all (repeatable)',
      collect,
    );
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading ui ./transport-archive
  lading ui ./layout --open
  lading ui http://localhost:5000 --public-key release=pub.pem
  lading ui ghcr.io/acme/components --addr 127.0.0.1:8080`,
  );
  cmd.action(async (location: string, flags: UiFlags) => {
    const { isLoopbackAddress, parseAddr, startUiServer } = await import('../../server/ui/index.js');
    const { readVersion } = await import('../version.js');
    const { interruptSignal } = await import('../interrupt.js');
    const addr = flags.addr ? parseAddr(flags.addr) : { host: '127.0.0.1', port: 0 };
    const keys = await keysFrom(flags);
    const opened = await openStore(location, flags);
    try {
      const server = await startUiServer({
        store: opened.store,
        host: addr.host,
        port: addr.port,
        version: readVersion(),
        ...(keys ? { keys } : {}),
        ...(flags.allowedHost ? { allowedHosts: flags.allowedHost } : {}),
      });
      io.stdout.write(`${server.url}\n`);
      if (!isLoopbackAddress(server.address)) {
        io.stderr.write(
          `Warning: the view listens on ${server.url} with no login: anyone who can reach it can read all of ${safeText(opened.store.display)}\n`,
        );
      }
      io.stderr.write(
        `Serving a read-only view of ${safeText(opened.store.display)} at ${server.url}${keys ? ' (verify: keys configured)' : ''}; Ctrl-C stops it\n`,
      );
      if (flags.open) await openBrowser(server.url, io);
      const signal = interruptSignal();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
    } finally {
      await opened.close();
    }
  });
}
