// A folder that holds what a folder layer must carry faithfully: a hard link, setuid, setgid and
// sticky bits on files and folders, times on a half second and just under it, a symlink with a
// time of its own, a file owned by someone else (when run as root), and names whose UTF-8 byte
// order differs from their UTF-16 order. Everything is set explicitly, so the tree is the same
// under any umask and on any day. test/fixtures/oras-go-folder/ holds the tar oras-go writes for
// it; running this file (`npx tsx test/support/fidelity-tree.ts <dir>`) makes the tree again.
import { chmod, chown, link, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The name the tree is pushed under (the layer's title, the first part of every entry name). */
export const FidelityTitle = 'tree';

/** Makes the tree at `<parent>/tree` and returns its path. */
export async function makeFidelityTree(parent: string): Promise<string> {
  const root = join(parent, FidelityTitle);
  const at = (rel: string) => join(root, rel);
  const when = (iso: string) => new Date(iso);
  await mkdir(at('sticky'), { recursive: true });
  await mkdir(at('sgid-dir'));
  await mkdir(at('sub'));
  await writeFile(at('a.txt'), 'hello\n');
  await link(at('a.txt'), at('b.txt'));
  await link(at('a.txt'), at('sub/c.txt'));
  await writeFile(at('suid'), 's\n');
  await writeFile(at('sgid'), 'g\n');
  await writeFile(at('both'), 'b\n');
  await writeFile(at('sticky/f'), 'f\n');
  await writeFile(at('half'), 'half\n');
  await writeFile(at('under-half'), 'under\n');
  await writeFile(at('owned'), 'owned\n');
  // U+FF5E sorts after U+1F600 as UTF-16 (0xFF5E > 0xD83D) and before it as UTF-8 (EF < F0).
  await writeFile(at('z\u{FF5E}'), 'wide\n');
  await writeFile(at('z\u{1F600}'), 'astral\n');
  await symlink('a.txt', at('link'));
  // a.txt, b.txt and sub/c.txt are one file.
  const modes: [string, number][] = [
    ['a.txt', 0o640],
    ['suid', 0o4755],
    ['sgid', 0o2755],
    ['both', 0o6711],
    ['sticky/f', 0o644],
    ['half', 0o644],
    ['under-half', 0o644],
    ['owned', 0o644],
    ['z\u{FF5E}', 0o644],
    ['z\u{1F600}', 0o644],
    ['sticky', 0o1777],
    ['sgid-dir', 0o2775],
    ['sub', 0o755],
    ['.', 0o755],
  ];
  for (const [rel, mode] of modes) await chmod(at(rel), mode);
  if (process.getuid?.() === 0) await chown(at('owned'), 1234, 1234);
  const files = ['a.txt', 'suid', 'sgid', 'both', 'sticky/f', 'owned', 'z\u{FF5E}', 'z\u{1F600}'];
  for (const rel of files) await utimes(at(rel), when('2020-05-06T07:08:09Z'), when('2020-05-06T07:08:09Z'));
  // Exactly half a second: Go rounds it up. Just under: down.
  await utimes(at('half'), 1588748889.5, 1588748889.5);
  await utimes(at('under-half'), 1588748889.4375, 1588748889.4375);
  await lutimes(at('link'), when('1999-12-31T23:59:59Z'), when('1999-12-31T23:59:59Z'));
  for (const rel of ['sticky', 'sgid-dir', 'sub', '.']) {
    await utimes(at(rel), when('2001-02-03T04:05:06Z'), when('2001-02-03T04:05:06Z'));
  }
  return root;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const parent = process.argv[2];
  if (!parent) throw new Error('usage: fidelity-tree.ts <parent folder>');
  console.log(await makeFidelityTree(parent));
}
