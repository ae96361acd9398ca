import { fetchAll, hasReferenceFetcher } from '../../content/index.js';
import { fetchReference } from '../../copy/index.js';
import {
  type Descriptor,
  isLadingError,
  LadingError,
  MediaType,
  parseJson,
  parseNode,
  parsePlatform,
} from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { closeRegistries, openTarget, requireReference, type TargetFlags } from '../targets.js';
import {
  exclusive,
  goValue,
  indentJson,
  jsonOutput,
  printDescriptor,
  shownDescriptor,
  writeOutputFile,
  writeOutputStream,
  writeStdout,
} from './manifest-shared.js';

export interface ManifestFetchFlags extends TargetFlags {
  output?: string;
  mediaType?: string[];
  platform?: string;
  descriptor?: boolean;
  pretty?: boolean;
  format?: string;
}

/** ORAS's `--format json` model of a fetched manifest: the descriptor model plus the parsed content. */
function fetchedModel(base: string, desc: Descriptor, bytes: Uint8Array): object {
  let parsed: unknown = null;
  try {
    parsed = parseJson(bytes, desc.digest);
  } catch {
    // Not JSON: ORAS shows `null` rather than failing after the fetch.
  }
  let content: unknown;
  try {
    content = goValue(parsed);
  } catch (error) {
    if (!isLadingError(error)) throw error;
    throw new LadingError(error.code, `${base}@${desc.digest}: ${error.message}`, { cause: error });
  }
  const model = {
    reference: `${base}@${desc.digest}`,
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    annotations: desc.annotations && Object.keys(desc.annotations).length > 0 ? goValue(desc.annotations) : undefined,
    artifactType: desc.artifactType || undefined,
    content,
  };
  return model;
}

export async function manifestFetch(
  io: CliIO,
  raw: string,
  flags: ManifestFetchFlags,
  options: { formatGiven: boolean },
): Promise<void> {
  const json = flags.format === 'json' || flags.format === 'go-template';
  if (flags.output === '-' && json) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `\`--output -\` cannot be used with \`--format ${flags.format}\` at the same time`,
    );
  }
  if (flags.output === '-' && flags.descriptor) {
    throw new LadingError('INVALID_ARGUMENT', '`--descriptor` cannot be used with `--output -` at the same time');
  }
  exclusive({ '--format': options.formatGiven, '--pretty': Boolean(flags.pretty) });
  exclusive({ '--format': options.formatGiven, '--descriptor': Boolean(flags.descriptor) });
  const accept = (flags.mediaType ?? []).flatMap((t) => t.split(',')).filter((t) => t !== '');
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const opened = await openTarget(raw, flags);
  try {
    if (accept.length > 0 && !hasReferenceFetcher(opened.target)) {
      throw new LadingError('INVALID_ARGUMENT', '`--media-type` cannot be used with `--oci-layout` at the same time');
    }
    const reference = await requireReference(opened, raw);
    const signal = (await import('../interrupt.js')).interruptSignal();
    const fetchOptions = { signal, ...(accept.length > 0 ? { accept } : {}), ...(platform ? { platform } : {}) };
    if (flags.descriptor && !flags.output) {
      // Only the descriptor is wanted: a HEAD is enough unless a platform or Accept list changes the answer.
      const desc =
        platform || accept.length > 0
          ? (await fetchReference(opened.target, reference, fetchOptions)).desc
          : shownDescriptor(opened, reference, await opened.target.resolve(reference, { signal }));
      printDescriptor(io, desc, Boolean(flags.pretty));
      return;
    }
    const fetched = await fetchReference(opened.target, reference, fetchOptions);
    const bytes = fetched.bytes;
    // A platform picks a manifest of the index: shown as the index lists it.
    const desc = platform ? fetched.desc : shownDescriptor(opened, reference, fetched.desc);
    const toFile = flags.output !== undefined && flags.output !== '-';
    if (toFile) await writeOutputFile(flags.output as string, bytes);
    if (json) {
      const { printModel } = await import('../output/format.js');
      await printModel(io, flags, fetchedModel(opened.base, desc, bytes));
      return;
    }
    if (!toFile) io.stdout.write(jsonOutput(bytes, Boolean(flags.pretty), raw));
    if (flags.descriptor) printDescriptor(io, desc, Boolean(flags.pretty));
  } finally {
    await closeRegistries();
  }
}

export interface ManifestFetchConfigFlags extends TargetFlags {
  output?: string;
  platform?: string;
  descriptor?: boolean;
  pretty?: boolean;
}

function isImageManifest(desc: Descriptor): boolean {
  return desc.mediaType === MediaType.ImageManifest || desc.mediaType === MediaType.DockerManifest;
}

export async function manifestFetchConfig(io: CliIO, raw: string, flags: ManifestFetchConfigFlags): Promise<void> {
  if (flags.output === '-' && flags.descriptor) {
    throw new LadingError('INVALID_ARGUMENT', '`--output -` cannot be used with `--descriptor` at the same time');
  }
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const opened = await openTarget(raw, flags);
  try {
    const reference = await requireReference(opened, raw);
    const { desc, bytes } = await fetchReference(opened.target, reference, platform ? { platform } : {});
    if (!isImageManifest(desc)) {
      const hint =
        desc.mediaType === MediaType.ImageIndex || desc.mediaType === MediaType.DockerManifestList
          ? '; pick one of its manifests with --platform'
          : '';
      throw new LadingError(
        'UNSUPPORTED',
        `"${desc.digest}" is not an image manifest and does not have a config (it is ${desc.mediaType}${hint})`,
      );
    }
    const node = parseNode(bytes, desc.mediaType, `${raw} (${desc.digest})`);
    if (node.kind !== 'manifest') throw new LadingError('INVALID_MANIFEST', `${desc.digest}: not an image manifest`);
    const config = node.manifest.config;
    if (!flags.descriptor || flags.output) {
      if (flags.output && flags.output !== '-') {
        const signal = (await import('../interrupt.js')).interruptSignal();
        await writeOutputStream(flags.output, await opened.target.fetch(config, { signal }));
      } else if (flags.pretty) {
        io.stdout.write(indentJson(await fetchAll(opened.target, config), `config ${config.digest}`));
      } else {
        await writeStdout(io, await opened.target.fetch(config));
      }
    }
    if (flags.descriptor) printDescriptor(io, config, Boolean(flags.pretty));
  } finally {
    await closeRegistries();
  }
}
