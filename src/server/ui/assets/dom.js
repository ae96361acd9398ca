// DOM helpers of the browser view. Every string from a store is attacker-controlled: it only ever
// becomes a Text node (never markup), and control and bidi characters are shown as \u{..} escapes.

/** Control (C0, DEL, C1), zero-width, bidi-control and byte-order-mark characters. */
function isInvisible(cp) {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2064) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0xfeff
  );
}

/** The string with control, zero-width and bidi characters spelled out, so nothing hides or reorders text. */
export function visible(value, options = {}) {
  let out = '';
  for (const c of String(value)) {
    const cp = c.codePointAt(0);
    if (!isInvisible(cp) || (options.lines && (c === '\n' || c === '\t'))) out += c;
    else out += `\\u{${cp.toString(16).padStart(4, '0')}}`;
  }
  return out;
}

/** Multi-line store text (a descriptor as YAML, a manifest as JSON) in a <pre>: lines and tabs kept. */
export function block(value, label) {
  const pre = document.createElement('pre');
  pre.tabIndex = 0;
  if (label) pre.setAttribute('aria-label', label);
  pre.append(document.createTextNode(visible(value, { lines: true })));
  return pre;
}

/**
 * An element: `attrs` set as attributes (never as HTML), `on*` as listeners; children are nodes or
 * strings, and strings become escaped text.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(visible(child)));
  }
  return el;
}

/** Text from a store, shown as text. */
export function text(value) {
  return document.createTextNode(visible(value));
}

/** `1.5 KiB (1536 bytes)`. */
export function size(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '?';
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]} (${n} bytes)`;
}

/** `sha256:0123456789ab…`: enough to recognise; the full digest is in the title and the links. */
export function shortDigest(digest) {
  const s = String(digest);
  const colon = s.indexOf(':');
  return colon >= 0 && s.length > colon + 13 ? `${s.slice(0, colon + 13)}…` : s;
}

/** A table with a caption and header cells; rows are arrays of cells (nodes or text). */
export function table(caption, headers, rows) {
  return h(
    'div',
    { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            null,
            r.map((c) => h('td', null, c)),
          ),
        ),
      ),
    ),
  );
}

/** A key/value list (annotations, labels): keys and values are store text. */
export function pairs(label, entries, options = {}) {
  if (!entries || entries.length === 0) return null;
  return h(
    'dl',
    { class: options.class ?? 'pairs', 'aria-label': label },
    entries.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}
