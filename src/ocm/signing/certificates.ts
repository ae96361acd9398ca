import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { LadingError } from '../../oci/index.js';
import { maxPathLength } from './basic-constraints.js';

const CodeSigning = '1.3.6.1.5.5.7.3.3';
const AnyExtendedKeyUsage = '2.5.29.37.0';
const MaxChainLength = 10;
/**
 * Signature checks one chain validation may make, as Go's maxChainSignatureChecks: a signature
 * carrying a dozen CA certificates that all issue each other had the path search try every
 * ordering of them (hours of RSA checks; verify cv and the web view hung).
 */
const MaxSignatureChecks = 100;

export interface ChainOptions {
  /** Trust anchors. Without any, the system's roots (node:tls rootCertificates) are used. */
  roots?: readonly X509Certificate[];
  /** Validity is checked at this time (default: now). */
  now?: Date;
}

function fail(message: string): never {
  throw new LadingError('SIGNATURE_INVALID', `certificate chain: ${message}`);
}

function name(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

let systemRoots: X509Certificate[] | undefined;

function defaultRoots(): X509Certificate[] {
  systemRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return systemRoots;
}

function checkTime(cert: X509Certificate, now: Date): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(from <= now.getTime()) || !(now.getTime() <= to)) {
    fail(`"${name(cert)}" is not valid at ${now.toISOString()} (valid ${cert.validFrom} to ${cert.validTo})`);
  }
}

/** Go's rule: a certificate without extended key usages allows any; otherwise code signing (or any) must be listed. */
function allowsCodeSigning(cert: X509Certificate): boolean {
  const usages = cert.keyUsage;
  return !usages || usages.length === 0 || usages.includes(CodeSigning) || usages.includes(AnyExtendedKeyUsage);
}

/**
 * Validates `leaf` up to one of the roots through `intermediates`, as Go's x509 Verify does for
 * upstream's PEM signatures: signatures along the path, validity at `now`, CA flags on issuers,
 * their path length limits and the code-signing extended key usage (name constraints, which bind
 * DNS names, e-mail addresses and URIs a signer's certificate does not carry, are not evaluated).
 * Returns the path, leaf first, root last.
 */
export function verifyCertificateChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  options: ChainOptions = {},
): X509Certificate[] {
  const roots = options.roots && options.roots.length > 0 ? options.roots : defaultRoots();
  const now = options.now ?? new Date();
  const isRoot = (c: X509Certificate) => roots.some((r) => r.raw.equals(c.raw));
  let reason = `"${name(leaf)}" is not issued by a trusted root`;
  let checks = 0;
  const issued = (issuer: X509Certificate, subject: X509Certificate): boolean => {
    if (!subject.checkIssued(issuer)) return false;
    if (++checks > MaxSignatureChecks) {
      fail(`more than ${MaxSignatureChecks} signature checks to find a path from "${name(leaf)}" to a trusted root`);
    }
    return subject.verify(issuer.publicKey);
  };

  const extend = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const current = path[path.length - 1] as X509Certificate;
    if (isRoot(current)) return path;
    if (path.length >= MaxChainLength) return undefined;
    // As in Go, an anchor the caller trusts need not carry the CA flag; intermediates must.
    for (const root of roots) {
      if (issued(root, current)) return [...path, root];
    }
    for (const candidate of intermediates) {
      if (path.some((c) => c.raw.equals(candidate.raw))) continue;
      if (!issued(candidate, current)) continue;
      if (!candidate.ca) {
        reason = `"${name(candidate)}" issued "${name(current)}" but is not a CA`;
        continue;
      }
      const found = extend([...path, candidate]);
      if (found) return found;
    }
    return undefined;
  };

  const path = extend([leaf]);
  if (!path) fail(reason);
  path.forEach((cert, i) => {
    checkTime(cert, now);
    if (!allowsCodeSigning(cert)) fail(`"${name(cert)}" does not allow code signing (extended key usage)`);
    // As Go's Verify: a CA that limits its path length allows only so many CAs between it and the leaf.
    const max = i > 0 && cert.ca ? maxPathLength(cert) : undefined;
    if (max !== undefined && i - 1 > max) {
      fail(`"${name(cert)}" allows ${max} intermediate certificate(s) below it, the chain has ${i - 1}`);
    }
  });
  return path;
}

interface Rdn {
  type: string;
  value: string;
}

/** Splits a distinguished name into attributes: RFC 2253 (`CN=a,O=b`) or node's one-per-line form. */
export function parseDistinguishedName(text: string): Rdn[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        current += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
      } else {
        current += text[++i];
      }
      continue;
    }
    if (ch === ',' || ch === '+' || ch === '\n' || ch === ';') {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  const out: Rdn[] = [];
  for (const part of parts) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new LadingError('INVALID_ARGUMENT', `"${text}" is not a distinguished name (KEY=value,...)`);
    out.push({ type: part.slice(0, eq).trim().toUpperCase(), value: part.slice(eq + 1).trim() });
  }
  return out;
}

/** Whether two distinguished names have the same attributes, in any order (upstream compares them so). */
export function sameDistinguishedName(a: string, b: string): boolean {
  const key = (rdns: Rdn[]) =>
    rdns
      .map((r) => `${r.type}=${r.value}`)
      .sort()
      .join('\n');
  return key(parseDistinguishedName(a)) === key(parseDistinguishedName(b));
}
