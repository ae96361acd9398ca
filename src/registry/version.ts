import { ladingPackage } from '../oci/index.js';

let agent: string | undefined;

/**
 * `lading/<version>`, read from lading's package.json on first use (not when the module loads: a
 * caller that names its own agent, as the command line does, never reads the file).
 */
export function defaultUserAgent(): string {
  if (agent === undefined) {
    try {
      agent = `lading/${ladingPackage().version}`;
    } catch {
      agent = 'lading';
    }
  }
  return agent;
}
