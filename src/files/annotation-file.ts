import { readRegularFile } from '../content/index.js';
import { isLadingError, LadingError } from '../oci/index.js';

/** The largest annotation file read: annotations go into a manifest, itself capped at 4 MiB. */
const MaxAnnotationFileBytes = 4 * 1024 * 1024;

/**
 * ORAS's annotation file: `{"$manifest": {...}, "$config": {...}, "<file argument>": {...}}`, each
 * value a map of annotation names to strings (`pushFiles`' `fileAnnotations`). Only a regular file
 * of at most 4 MiB is read: a FIFO at the path would block the read (and the
 * process) for good, a device such as /dev/zero would be read without end.
 */
export async function readAnnotationFile(path: string): Promise<Record<string, Record<string, string>>> {
  let value: unknown;
  try {
    const bytes = await readRegularFile(path, { limit: MaxAnnotationFileBytes, where: `annotation file ${path}` });
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    if (isLadingError(error)) throw error;
    throw new LadingError('INVALID_ARGUMENT', `annotation file ${path}: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new LadingError('INVALID_ARGUMENT', `annotation file ${path}: must be a JSON object of objects`);
  }
  for (const [key, inner] of Object.entries(value)) {
    if (
      !inner ||
      typeof inner !== 'object' ||
      Array.isArray(inner) ||
      !Object.values(inner).every((v) => typeof v === 'string')
    ) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `annotation file ${path}: "${key}" must map annotation names to strings`,
      );
    }
  }
  return value as Record<string, Record<string, string>>;
}
