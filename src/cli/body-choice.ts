/**
 * The built command line has two bodies (scripts/bundle.mjs): the small one holds the ORAS family's
 * command groups only (half the code to read, compile and set up at every start), the full one
 * everything. main.js picks one from the arguments, before either loads.
 */

/** The top-level command words (aliases included) of the groups the small body holds. */
export const orasBodyWords: readonly string[] = [
  'push',
  'pull',
  'cp',
  'copy',
  'backup',
  'restore',
  'attach',
  'discover',
  'tag',
  'resolve',
  'digest',
  'login',
  'logout',
  'manifest',
  'blob',
  'repo',
  'repository',
];

/** The other top-level words: the groups only the full body holds, and the whole-tree commands. */
export const fullBodyWords: readonly string[] = [
  'add',
  'get',
  'download',
  'transfer',
  'sign',
  'verify',
  'hash',
  'describe',
  'serve',
  'ui',
  'help',
  'completion',
  'version',
];

/**
 * Which body runs `args`: the small one when the arguments name at least one of its groups and
 * none of the others (a run builds every group a token names: see groupsFor), else the full one
 * (help, completion, a mistyped command, anything that needs the whole tree).
 */
export function bodyFor(args: readonly string[]): 'oras' | 'full' {
  let named = false;
  for (const arg of args) {
    if (fullBodyWords.includes(arg)) return 'full';
    if (orasBodyWords.includes(arg)) named = true;
  }
  return named ? 'oras' : 'full';
}
