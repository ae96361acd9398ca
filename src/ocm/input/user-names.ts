import { readFileSync } from 'node:fs';

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

function load(file: string): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !map.has(Number(id))) map.set(Number(id), name);
    }
  } catch {
    // No such database: names stay empty, as Go leaves them when a lookup fails.
  }
  return map;
}

/** The user name of a uid as Go's os/user finds it in /etc/passwd ("" when unknown). */
export function userName(uid: number): string {
  users ??= load('/etc/passwd');
  return users.get(uid) ?? '';
}

/** The group name of a gid as Go's os/user finds it in /etc/group ("" when unknown). */
export function groupName(gid: number): string {
  groups ??= load('/etc/group');
  return groups.get(gid) ?? '';
}
