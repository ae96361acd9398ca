import { copy } from '../../copy/index.js';
import { OciLayout } from '../../layout/index.js';
import { checkTagOrDigest, LadingError, parseLayoutReference } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { parseConcurrency } from '../options.js';
import { copyEventPrinter } from '../output/status.js';

export interface CpOptions {
  fromOciLayout?: boolean;
  toOciLayout?: boolean;
  recursive?: boolean;
  concurrency: string;
}

export async function cpCommand(io: CliIO, from: string, to: string, opts: CpOptions): Promise<void> {
  if (!opts.fromOciLayout || !opts.toOciLayout) {
    throw new LadingError(
      'UNSUPPORTED',
      'this build copies between OCI layouts only: pass --from-oci-layout and --to-oci-layout',
    );
  }
  const concurrency = parseConcurrency(opts.concurrency);
  const src = parseLayoutReference(from);
  if (!src.reference) throw new LadingError('INVALID_REFERENCE', `"${from}": the source needs a :tag or @digest`);
  checkTagOrDigest(src.reference, from);
  const dst = parseLayoutReference(to);
  const [first = '', ...extraTags] = dst.reference.split(',');
  const dstRef = first || src.reference;
  for (const t of [dstRef, ...extraTags]) checkTagOrDigest(t, to);

  const source = await OciLayout.open(src.path);
  const destination = await OciLayout.open(dst.path, { create: true });
  const root = await copy(source, src.reference, destination, dstRef, {
    concurrency,
    includeReferrers: Boolean(opts.recursive),
    ...copyEventPrinter(io),
  });
  for (const tag of extraTags) await destination.tag(root, tag);
  io.stdout.write(`Copied [oci-layout] ${from} => [oci-layout] ${to}\nDigest: ${root.digest}\n`);
}
