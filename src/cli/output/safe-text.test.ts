import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonText, safeText, terminalText } from './safe-text.js';

test('safeText escapes every control and invisible formatting character, and nothing else', () => {
  assert.equal(safeText('plain name-1.0_x/y:z ünï 日本'), 'plain name-1.0_x/y:z ünï 日本');
  assert.equal(safeText('a\nb\rc\td'), 'a\\nb\\rc\\td');
  assert.equal(safeText('\u001b]0;t\u0007\u001b[2J'), '\\u001b]0;t\\u0007\\u001b[2J');
  assert.equal(safeText('\u0000\u007f\u0085\u009b'), '\\u0000\\u007f\\u0085\\u009b');
  assert.equal(safeText('x\u202ey\u2066\u200b\ufeff\u2028'), 'x\\u202ey\\u2066\\u200b\\ufeff\\u2028');
  // Joiners stay: scripts need them.
  assert.equal(safeText('\u200c\u200d'), '\u200c\u200d');
  assert.equal(safeText(42), '42');
});

test('terminalText keeps our newlines and tabs and escapes every other control', () => {
  assert.equal(terminalText('a\tb\nc'), 'a\tb\nc');
  assert.equal(terminalText('a\rb\u001b[31m\u009b\u007f'), 'a\\rb\\u001b[31m\\u009b\\u007f');
  // Bidi characters are left to safeText: escaping them here would change YAML plain scalars.
  assert.equal(terminalText('\u202e'), '\u202e');
});

test('jsonText and terminalText together keep JSON exact', () => {
  const value = { t: 'a\u001b[2J\n\u202e\u009b\u007fz', k: ['\u2028'] };
  const text = terminalText(jsonText(value, 2));
  assert.deepEqual(JSON.parse(text), value);
  const raw = [...text].filter((ch) => {
    const c = ch.charCodeAt(0);
    return (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || (c >= 0x2028 && c <= 0x202e);
  });
  assert.deepEqual(raw, []);
});

test('jsonText writes a lone surrogate as U+FFFD and keeps a pair', () => {
  const text = jsonText({ lone: 'a\ud800b', tail: 'x\udfff', pair: 'smile \ud83d\ude00' });
  assert.doesNotMatch(text, /\\ud[89a-f]/i, 'no lone surrogate escape left for a strict reader to refuse');
  assert.deepEqual(JSON.parse(text), { lone: 'a\ufffdb', tail: 'x\ufffd', pair: 'smile \ud83d\ude00' });
});

test('every UTF-16 code unit: safeText escapes exactly the controls and invisible formatting characters', () => {
  const invisible = new Set([0x061c, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e]);
  for (const c of [0x2066, 0x2067, 0x2068, 0x2069, 0xfeff]) invisible.add(c);
  for (let code = 0; code <= 0xffff; code++) {
    const ch = String.fromCharCode(code);
    const flagged = code < 0x20 || (code >= 0x7f && code <= 0x9f) || invisible.has(code);
    const text = `a${ch}b`;
    assert.equal(safeText(text) !== text, flagged, `U+${code.toString(16).padStart(4, '0')}`);
  }
});
