import type { Op, Target } from './storage.js';

/**
 * Yields a Target per repository name. The OCM component-version repository is written once over
 * this, so a CTF archive and a registry behave the same.
 */
export interface TargetResolver {
  /** The store of one repository (created on first write where the backend needs it). */
  targetFor(repository: string, o?: Op): Promise<Target>;
  /** Every repository name the store knows, in pages (not every backend can list). */
  repositories?(o?: Op): AsyncIterable<string[]>;
}
