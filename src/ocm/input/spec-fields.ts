import { LadingError } from '../../oci/index.js';

/** Field readers for input specifications; errors name the field. */
export function requiredString(spec: Record<string, unknown>, field: string): string {
  const value = spec[field];
  if (typeof value !== 'string' || value === '') {
    throw new LadingError('INVALID_ARGUMENT', `${field} must be a non-empty string`);
  }
  return value;
}

export function optionalString(spec: Record<string, unknown>, field: string): string | undefined {
  const value = spec[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new LadingError('INVALID_ARGUMENT', `${field} must be a string`);
  return value;
}

export function optionalBoolean(spec: Record<string, unknown>, field: string): boolean {
  const value = spec[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new LadingError('INVALID_ARGUMENT', `${field} must be a boolean`);
  return value;
}

export function optionalStringList(spec: Record<string, unknown>, field: string): string[] {
  const value = spec[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new LadingError('INVALID_ARGUMENT', `${field} must be a list of strings`);
  }
  return value;
}
