import { LadingError } from '../../oci/index.js';

/** One PEM block: its type, its headers (`Key: value` lines before a blank line) and its bytes. */
export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  bytes: Buffer;
}

const blockPattern = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block of a text, in order; text between blocks is ignored, as Go's pem.Decode does. */
export function decodePem(text: string | Uint8Array): PemBlock[] {
  const source = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  const blocks: PemBlock[] = [];
  for (const match of source.matchAll(blockPattern)) {
    const type = match[1] as string;
    let body = match[2] as string;
    const headers: Record<string, string> = {};
    const lines = body.split(/\r?\n/);
    if (lines[0]?.includes(':')) {
      let i = 0;
      for (; i < lines.length; i++) {
        const line = lines[i] as string;
        if (line.trim() === '') break;
        const colon = line.indexOf(':');
        if (colon < 0) break;
        headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      body = lines.slice(i).join('\n');
    }
    const compact = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
      throw new LadingError('INVALID_ARGUMENT', `PEM block ${type}: the body is not base64`);
    }
    blocks.push({ type, headers, bytes: Buffer.from(compact, 'base64') });
  }
  return blocks;
}

/** A PEM block as Go's pem.EncodeToMemory writes it: sorted headers, a blank line, 64-column base64. */
export function encodePem(block: { type: string; headers?: Record<string, string>; bytes: Uint8Array }): string {
  const lines = [`-----BEGIN ${block.type}-----`];
  const headers = Object.keys(block.headers ?? {}).sort();
  if (headers.length > 0) {
    for (const key of headers) lines.push(`${key}: ${block.headers?.[key]}`);
    lines.push('');
  }
  const base64 = Buffer.from(block.bytes).toString('base64');
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push(`-----END ${block.type}-----`);
  return `${lines.join('\n')}\n`;
}
