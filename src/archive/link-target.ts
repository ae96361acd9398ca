/**
 * Which symlinks an archive may create inside an extraction root, decided from the link's place
 * and target text alone (no file system access).
 *
 * A target is accepted when it is relative, has no NUL, and is some `..` components followed by
 * named components only (`.` and empty components are ignored): `../../lib/x.so`, `sub/file`,
 * `.`. The `..`s may climb at most to the root. A `..` after a named component (`s/..`,
 * `a/../../x`) is refused even when it is lexically inside: `s` may itself be a link, and the
 * kernel then climbs from wherever `s` points, not from where `s` is.
 *
 * Why every link created under these rules stays inside the root on the real file system, by
 * induction over the operations of one extraction, given that the root held no link when it
 * started (or that its links are refused when a write or a link target would pass them, which
 * the extractor does):
 *
 * - Invariant: every link under the root resolves, physically, to a place inside the root (or
 *   to nothing yet, a name that only a later operation of this extraction can create).
 * - A new entry's parent folders are opened one by one without following links, so the entry is
 *   physically where its name says. The link's leading `..`s therefore climb real folders, which
 *   is the lexical climb, and stop at the root or below.
 * - Each following named component is then either missing (see above), a regular file (the walk
 *   ends), a real folder (a child of a folder inside the root is inside the root) or a link that
 *   this extraction made earlier, which by the invariant leads inside the root; from a place inside
 *   the root, the next named component continues the same argument. No `..` can follow, so no
 *   step ever climbs from a place reached through a link.
 * - Later operations keep the invariant: files and links only ever replace files and links (a
 *   folder is never replaced by a non-folder), new folders are inside the root, and new links obey
 *   these same rules.
 *
 * So no create, rename or utime that walks real folders from the root, and no link made here,
 * reaches outside the root.
 */
export type LinkCheck = { rel: string } | { refused: string };

/**
 * `target`, for a link at `linkRel` (a clean `/`-separated path relative to the root), as the
 * root-relative path it names (`''` for the root itself), or why it is refused.
 */
export function containedLinkTarget(linkRel: string, target: string): LinkCheck {
  if (target === '') return { refused: 'has an empty target' };
  if (target.includes('\0')) return { refused: 'has a NUL byte in its target' };
  if (target.startsWith('/')) return { refused: `points to the absolute path "${target}"` };
  const at = linkRel.split('/').slice(0, -1);
  const named: string[] = [];
  let up = 0;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (named.length > 0)
        return { refused: `climbs with ".." after a named folder in "${target}" (a link there could redirect it)` };
      up++;
      continue;
    }
    named.push(part);
  }
  if (up > at.length) return { refused: `points to "${target}", outside the folder it is unpacked in` };
  return { rel: [...at.slice(0, at.length - up), ...named].join('/') };
}
