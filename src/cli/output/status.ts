import { Annotation, type Descriptor } from '../../oci/index.js';
import type { CliIO } from '../io.js';

/** ORAS-style status lines: `<Status> <12-hex digest> <title or media type>`. */
export function statusLine(status: string, desc: Descriptor): string {
  const short = desc.digest.slice(desc.digest.indexOf(':') + 1, desc.digest.indexOf(':') + 13);
  const name = desc.annotations?.[Annotation.Title] ?? desc.mediaType;
  return `${status} ${short} ${name}\n`;
}

export interface CopyEvents {
  preCopy: (desc: Descriptor) => void;
  postCopy: (desc: Descriptor) => void;
  onCopySkipped: (desc: Descriptor) => void;
  onMounted: (desc: Descriptor) => void;
}

/** Hooks for a graph copy that print one line per event (the non-terminal display). */
export function copyEventPrinter(io: CliIO, verbs = { start: 'Copying', done: 'Copied ' }): CopyEvents {
  return {
    preCopy: (d) => io.stdout.write(statusLine(verbs.start, d)),
    postCopy: (d) => io.stdout.write(statusLine(verbs.done, d)),
    onCopySkipped: (d) => io.stdout.write(statusLine('Exists ', d)),
    onMounted: (d) => io.stdout.write(statusLine('Mounted', d)),
  };
}
