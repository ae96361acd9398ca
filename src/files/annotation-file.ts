import { readFile } from 'node:fs/promises';
import { LadingError } from '../oci/index.js';

/**
 * ORAS's annotation file: `{"$manifest": {...}, "$config": {...}, "<file argument>": {...}}`, each
 * value a map of annotation names to strings (`pushFiles`' `fileAnnotations`).
 */
export async function readAnnotationFile(path: string): Promise<Record<string, Record<string, string>>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
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
