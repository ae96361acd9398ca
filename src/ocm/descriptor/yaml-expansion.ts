import { type Document, isAlias, isCollection, isMap, isPair, isScalar, type Node } from 'yaml';

/**
 * The most a descriptor may take, stored or read (the layer limit of `getComponentVersion`).
 * Whatever a YAML document becomes ends up as a descriptor or part of one, so this is also the
 * most its aliases may expand it to.
 */
export const MaxDescriptorBytes = 64 * 1024 * 1024;

/** Where a document's aliases expand it past the limit, or where one alias holds itself. */
export interface ExpansionProblem {
  /** Offset of the alias in the source text. */
  offset: number;
  /** Path of the alias in the document (keys and indexes). */
  path: (string | number)[];
  message: string;
}

/**
 * Measures what a parsed YAML document expands to, aliases included, before it is converted:
 * `maxAliasCount` bounds how many aliases there are, not how large they make the data, and a
 * label anchored once and aliased 99 times makes a 1 MB file a 100 MB descriptor, a 6 MB one a
 * string too long for V8. Sizes are those of the source text (scalars as written, a collection
 * as its items plus a byte for each bracket and separator), roughly the size of the JSON the data
 * encodes to; each anchored node is measured once, so this is linear in the document.
 *
 * A document may expand to `limit` bytes, or to its own size when that is larger (a large
 * document without aliases is the reader's size limit's business). The answer names the first
 * alias, in document order, past which the data would be larger; or an alias inside the very
 * node it refers to, which would make the data contain itself.
 */
export function aliasExpansionProblem(
  doc: Document,
  sourceLength: number,
  limit: number = MaxDescriptorBytes,
): ExpansionProblem | undefined {
  const allowed = Math.max(limit, sourceLength);
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const path: (string | number)[] = [];
  let total = 0;
  let problem: ExpansionProblem | undefined;

  const visit = (node: unknown): void => {
    if (problem || node === null || node === undefined) return;
    if (isAlias(node)) {
      // The node an alias stands for is the last one anchored with its name before it, as the
      // yaml package resolves it; one that is not there yet is left to the conversion to report.
      const target = anchors.get(node.source);
      if (target === undefined) return;
      const offset = node.range?.[0] ?? 0;
      if (open.has(target)) {
        problem = { offset, path: [...path], message: `the alias *${node.source} is inside the node it refers to` };
        return;
      }
      total += sizes.get(target) ?? 0;
      if (total > allowed) {
        problem = {
          offset,
          path: [...path],
          message: `YAML aliases expand the document past ${allowed} bytes (the descriptor limit)`,
        };
      }
      return;
    }
    if (!isScalar(node) && !isCollection(node)) return;
    const anchored = node.anchor ? node : undefined;
    if (anchored?.anchor) {
      anchors.set(anchored.anchor, anchored);
      open.add(anchored);
    }
    const start = total;
    if (isScalar(node)) {
      total += node.range ? Math.max(1, node.range[1] - node.range[0]) : 1;
    } else {
      total += 2;
      node.items.forEach((item, i) => {
        total += 1;
        if (isPair(item)) {
          visit(item.key);
          path.push(isMap(node) && isScalar(item.key) ? String(item.key.value) : i);
          visit(item.value);
          path.pop();
        } else {
          path.push(i);
          visit(item);
          path.pop();
        }
      });
    }
    if (anchored) {
      open.delete(anchored);
      sizes.set(anchored, total - start);
    }
  };
  visit(doc.contents);
  return problem;
}
