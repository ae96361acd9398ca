import { isAbsolute, join } from 'node:path';

/**
 * Where lading keeps its V8 code cache (code-cache.ts): `$XDG_CACHE_HOME/lading/compile-cache` (or
 * `~/.cache/…`) on Linux and other Unixes, `~/Library/Caches/lading/…` on macOS,
 * `%LOCALAPPDATA%\\lading\\…` on Windows. Undefined when there is no home to put it in.
 */
export function cacheFolder(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const sub = ['lading', 'compile-cache'];
  if (platform === 'win32')
    return env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA) ? join(env.LOCALAPPDATA, ...sub) : undefined;
  // node:os only without HOME: a module fewer to load at every start.
  const home = env.HOME || process.getBuiltinModule('node:os').homedir();
  if (platform === 'darwin') return home ? join(home, 'Library', 'Caches', ...sub) : undefined;
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, ...sub);
  return home ? join(home, '.cache', ...sub) : undefined;
}

/**
 * The home folder the cache folder is in, where it is in one (not under XDG_CACHE_HOME or
 * LOCALAPPDATA, which may be made as the XDG spec says): lading makes folders inside a home, never
 * the home itself (a service's HOME=/nonexistent, a home not yet mounted).
 */
export function cacheHome(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (platform === 'win32') return undefined;
  if (platform !== 'darwin' && env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return undefined;
  return env.HOME || process.getBuiltinModule('node:os').homedir() || undefined;
}
