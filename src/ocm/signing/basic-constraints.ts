import type { X509Certificate } from 'node:crypto';

/** One DER element: its tag, and where its contents start and end in the buffer. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

/** The DER element at `at` (definite lengths only, as DER has), or undefined where the bytes are no element. */
function element(der: Buffer, at: number, limit: number): Element | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at] as number;
  let length = der[at + 1] as number;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : undefined;
}

/** The elements inside a constructed element. */
function children(der: Buffer, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = element(der, at, parent.end);
    if (!child) return [];
    out.push(child);
    at = child.end;
  }
  return out;
}

/** `2.5.29.19`, basicConstraints, as DER content bytes. */
const BasicConstraintsOid = Buffer.from([0x55, 0x1d, 0x13]);

/**
 * The path length a CA certificate allows below itself (basicConstraints' pathLenConstraint: how
 * many intermediate CAs may follow it towards a leaf), or undefined when it sets none. Read from
 * the certificate's DER: node:crypto's X509Certificate tells whether a certificate is a CA, not this.
 */
export function maxPathLength(cert: X509Certificate): number | undefined {
  const der = cert.raw;
  const top = element(der, 0, der.length);
  const tbs = top && children(der, top)[0];
  if (!tbs) return undefined;
  // tbsCertificate's [3] holds the extensions: a SEQUENCE of { OID, critical?, OCTET STRING }.
  const tagged = children(der, tbs).find((e) => e.tag === 0xa3);
  const list = tagged && children(der, tagged)[0];
  if (!list) return undefined;
  for (const extension of children(der, list)) {
    const [oid, ...rest] = children(der, extension);
    if (oid?.tag !== 0x06 || !der.subarray(oid.start, oid.end).equals(BasicConstraintsOid)) continue;
    const value = rest.find((e) => e.tag === 0x04);
    const constraints = value && element(der, value.start, value.end);
    if (!constraints) return undefined;
    const length = children(der, constraints).find((e) => e.tag === 0x02);
    if (!length || length.end - length.start > 4) return undefined;
    let n = 0;
    for (let i = length.start; i < length.end; i++) n = n * 256 + (der[i] as number);
    return n;
  }
  return undefined;
}
