import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * CA certificates the environment names, beside Node's bundled roots:
 *
 * - `NODE_EXTRA_CA_CERTS`: Node adds it to its default store only, so a client given CAs of its
 *   own (`--ca-file`) would lose it; it is read again here and kept.
 * - `SSL_CERT_FILE` and `SSL_CERT_DIR` (directories separated by `:`), which Go's crypto/x509 reads
 *   on Linux, so that `SSL_CERT_FILE=ca.pem lading …` trusts what `SSL_CERT_FILE=ca.pem oras …`
 *   trusts. Go replaces its system roots with them; here they are trusted besides the bundled ones.
 *
 * A file that cannot be read, or holds no certificate, adds nothing (as in Go and Node).
 */
export interface EnvironmentCa {
  /** `NODE_EXTRA_CA_CERTS`'s certificates. */
  nodeExtra: string[];
  /** `SSL_CERT_FILE`'s and `SSL_CERT_DIR`'s certificates: when any, the client names its CAs itself. */
  ssl: string[];
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function certificatesIn(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'latin1')).match(certificateBlock) ?? [];
  } catch {
    return [];
  }
}

async function certificatesInDir(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return [];
  }
  const found = await Promise.all(names.map((name) => certificatesIn(join(dir, name))));
  return found.flat();
}

let cached: { key: string; value: Promise<EnvironmentCa> } | undefined;

/** The certificates of {@link EnvironmentCa}, read once for a given set of the three variables. */
export function environmentCa(env: NodeJS.ProcessEnv = process.env): Promise<EnvironmentCa> {
  const nodeExtra = env.NODE_EXTRA_CA_CERTS || '';
  const file = env.SSL_CERT_FILE || '';
  const dirs = env.SSL_CERT_DIR || '';
  const key = `${nodeExtra}\0${file}\0${dirs}`;
  if (cached?.key !== key) {
    const value = (async () => {
      const [extra, fromFile, ...fromDirs] = await Promise.all([
        nodeExtra ? certificatesIn(nodeExtra) : [],
        file ? certificatesIn(file) : [],
        ...dirs
          .split(':')
          .filter((d) => d !== '')
          .map(certificatesInDir),
      ]);
      return { nodeExtra: extra ?? [], ssl: [...(fromFile ?? []), ...fromDirs.flat()] };
    })();
    cached = { key, value };
  }
  return cached.value;
}
