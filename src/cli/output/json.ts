import type { Descriptor } from '../../oci/index.js';
import { jsonText } from './safe-text.js';

/** ORAS's descriptor model for JSON output: `reference` first, then the descriptor fields it keeps. */
export function descriptorJson(reference: string, desc: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { reference, mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.annotations && Object.keys(desc.annotations).length > 0) out.annotations = desc.annotations;
  if (desc.artifactType) out.artifactType = desc.artifactType;
  return out;
}

export function printJson(stream: NodeJS.WritableStream, value: unknown, pretty = false): void {
  stream.write(`${jsonText(value, pretty ? 2 : undefined)}\n`);
}
