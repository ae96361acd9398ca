import { type Document, isMap, isNode, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/**
 * Finds the 1-based line of a JSON path in a parsed YAML document. When the path goes further
 * than the document (a missing field), the deepest existing node is used; `key` points at the
 * key of that field instead of its value (for "unknown field" messages).
 */
export function lineOf(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
  options: { key?: string } = {},
): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const seg of path) {
    const next = child(node, seg);
    if (next === undefined) break;
    node = next.value;
    offset = rangeStart(next.value) ?? rangeStart(next.key) ?? offset;
  }
  if (options.key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === options.key);
    offset = rangeStart(pair?.key) ?? offset;
  }
  return lines.linePos(offset).line;
}

/** The YAML node at a path, or undefined. */
export function nodeAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    const next = child(node, seg);
    if (next === undefined) return undefined;
    node = next.value;
  }
  return isNode(node) ? node : undefined;
}

function child(node: unknown, seg: string | number): { key?: unknown; value: unknown } | undefined {
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item === undefined ? undefined : { value: item };
  }
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      if (key === String(seg)) return { key: item.key, value: item.value ?? item.key };
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (isNode(node) && node.range) return node.range[0];
  return undefined;
}
