import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../../oci/index.js';
import { renderGoTemplate } from './go-template.js';
import { GoTime, goFormat } from './go-time.js';

const r = (t: string, data: unknown = {}) => renderGoTemplate(t, data);

function assertTemplateError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLadingError(e, 'INVALID_ARGUMENT'), String(e));
    assert.match((e as Error).message, pattern);
    return true;
  });
}

/** 13 Jun 2019 20:39:39 UTC, sprig's date tests' instant. */
const june = 1560458379;

describe('sprig functions of the go-template engine (expected outputs from sprig docs and tests)', () => {
  test('trunc: the first n bytes, or the last -n', () => {
    assert.equal(r('{{ trunc 5 "hello world" }}'), 'hello');
    assert.equal(r('{{ trunc -5 "hello world" }}'), 'world');
    assert.equal(r('{{ "foooooo" | trunc 3 }}'), 'foo');
    assert.equal(r('{{ "baaaaaar" | trunc -3 }}'), 'aar');
    assert.equal(r('{{ "baaaaaar" | trunc -999 }}'), 'baaaaaar');
    assert.equal(r('{{ "baaaaaz" | trunc 0 }}'), '');
    assert.equal(r('{{ .digest | trunc 12 }}', { digest: 'sha256:0123456789abcdef' }), 'sha256:01234');
    // A JSON number is a Go float64, which an int parameter does not take.
    assertTemplateError(() => r('{{ trunc .n "abc" }}', { n: 2 }), /expected int; got float64/);
  });

  test('substr: bytes start to end', () => {
    assert.equal(r('{{ substr 0 5 "hello world" }}'), 'hello');
    assert.equal(r('{{ "fooo" | substr 0 3 }}'), 'foo');
    assert.equal(r('{{ "foo" | substr 0 10 }}'), 'foo');
    assert.equal(r('{{ substr 6 -1 .x }}', { x: 'hello world' }), 'world');
    assert.equal(r('{{ substr -1 3 "hello" }}'), 'hel');
    assertTemplateError(
      () => r('{{ substr 4 2 "hello" }}'),
      /error calling substr: .*slice bounds out of range \[4:2\]/,
    );
    assertTemplateError(() => r('{{ substr -1 9 "hello" }}'), /slice bounds out of range \[:9\] with length 5/);
  });

  test("b64enc and b64dec; a bad input decodes to Go's error text, as in sprig", () => {
    assert.equal(r('{{ b64enc "coffee" }}'), 'Y29mZmVl');
    assert.equal(r('{{ b64dec "Y29mZmVl" }}'), 'coffee');
    assert.equal(r('{{ "hello" | b64enc | b64dec }}'), 'hello');
    assert.equal(r('{{ b64dec "aGk=" }}'), 'hi');
    assert.equal(r('{{ b64dec "aA==" }}'), 'h');
    assert.equal(r('{{ b64dec "aGVs\\nbG8=" }}'), 'hello');
    assert.equal(r('{{ b64dec "Y29mZmV" }}'), 'illegal base64 data at input byte 4');
    assert.equal(r('{{ b64dec "a!==" }}'), 'illegal base64 data at input byte 1');
    assert.equal(r('{{ b64dec "aA=" }}'), 'illegal base64 data at input byte 3');
    assert.equal(r('{{ b64dec "aA==x" }}'), 'illegal base64 data at input byte 4');
  });

  test('title, repeat, indent, nindent', () => {
    assert.equal(r('{{ title "hello world" }}'), 'Hello World');
    assert.equal(r('{{ title "hello-world foo_bar wORLD" }}'), 'Hello-World Foo_bar WORLD');
    assert.equal(r('{{ repeat 3 "hello" }}'), 'hellohellohello');
    assert.equal(r('{{ indent 4 "a\\nb\\nc" }}'), '    a\n    b\n    c');
    assert.equal(r('{{ nindent 4 "a\\nb\\nc" }}'), '\n    a\n    b\n    c');
    assertTemplateError(() => r('{{ repeat -1 "x" }}'), /negative Repeat count/);
    assertTemplateError(() => r('{{ repeat 100000000 "x" }}'), /larger than 64 MiB/);
  });

  test('the string helpers sprig users reach for', () => {
    const data = { list: ['a', 'b', 'c'], s: 'x' };
    assert.equal(r('{{ quote "hello" }}'), '"hello"');
    assert.equal(r('{{ squote "hello" }}'), "'hello'");
    assert.equal(r('{{ contains "cat" "catch" }}'), 'true');
    assert.equal(r('{{ hasPrefix "cat" "catch" }}'), 'true');
    assert.equal(r('{{ hasSuffix "cat" "catch" }}'), 'false');
    assert.equal(r('{{ lower "HELLO" }} {{ upper "hello" }}'), 'hello HELLO');
    assert.equal(r('{{ trim "   hello    " }}'), 'hello');
    assert.equal(r('{{ trimSuffix "-" "hello-" }} {{ trimPrefix "-" "-hello" }}'), 'hello hello');
    assert.equal(r('{{ "I Am Henry VIII" | replace " " "-" }}'), 'I-Am-Henry-VIII');
    assert.equal(r('{{ .missing | default "foo" }} {{ .s | default "foo" }}', data), 'foo x');
    assert.equal(r('{{ empty .missing }} {{ empty .s }}', data), 'true false');
    assert.equal(r('{{ join "&" .list }}', data), 'a&b&c');
    assert.equal(r('{{ splitList "$" "foo$bar$baz" }}'), '[foo bar baz]');
    assert.equal(r('{{ toJson .list }}', data), '["a","b","c"]');
    assert.equal(r('{{ toPrettyJson .list }}', data), '[\n  "a",\n  "b",\n  "c"\n]');
  });

  test('now, date, dateInZone, htmlDate, htmlDateInZone, unixEpoch', () => {
    // Beyond the dates a JavaScript calendar holds: an error, not "0NaN".
    assertTemplateError(() => r('{{ dateInZone "2006" 9000000000000000 "UTC" }}'), /beyond the dates/);
    assert.equal(r(`{{ dateInZone "02 Jan 06 15:04 -0700" ${june} "UTC" }}`), '13 Jun 19 20:39 +0000');
    assert.equal(r(`{{ htmlDateInZone ${june} "UTC" }}`), '2019-06-13');
    assert.equal(r(`{{ dateInZone "2006-01-02T15:04:05Z07:00" ${june} "UTC" }}`), '2019-06-13T20:39:39Z');
    assert.equal(
      r(`{{ dateInZone "Mon Jan _2 15:04:05 MST 2006" ${june} "America/New_York" }}`),
      'Thu Jun 13 16:39:39 EDT 2019',
    );
    assert.equal(
      r(`{{ dateInZone "2006-01-02T15:04:05-07:00" ${june} "America/New_York" }}`),
      '2019-06-13T16:39:39-04:00',
    );
    // An unknown zone is UTC, as sprig falls back.
    assert.equal(r(`{{ dateInZone "15:04 MST" ${june} "No/Such_Zone" }}`), '20:39 UTC');
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'UTC';
      assert.equal(r(`{{ htmlDate ${june} }}`), '2019-06-13');
      assert.equal(r(`{{ date "2006-01-02 15:04:05" ${june} }}`), '2019-06-13 20:39:39');
      const today = new Date().toISOString().slice(0, 10);
      assert.equal(r('{{ now | date "2006-01-02" }}'), today);
      // A JSON number or a string is no time for sprig's date: it formats now.
      assert.equal(r('{{ .t | date "2006-01-02" }}', { t: 0 }), today);
      assert.match(r('{{ now }}'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
      assert.match(r('{{ now | toJson }}'), /^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"$/);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    const epoch = Number(r('{{ now | unixEpoch }}'));
    assert.ok(Math.abs(epoch - Date.now() / 1000) < 5, String(epoch));
    assertTemplateError(() => r('{{ unixEpoch 5 }}'), /expected time.Time; got int/);
  });

  test('Go layouts: every element of the reference time', () => {
    const t = new GoTime(june, 123_400_000, 'UTC');
    const cases: Array<[string, string]> = [
      ['2006-01-02T15:04:05Z07:00', '2019-06-13T20:39:39Z'],
      ['2006-01-02T15:04:05.999999999Z07:00', '2019-06-13T20:39:39.1234Z'],
      ['Mon Jan _2 15:04:05 MST 2006', 'Thu Jun 13 20:39:39 UTC 2019'],
      ['Monday, 02-Jan-06 15:04:05 MST', 'Thursday, 13-Jun-19 20:39:39 UTC'],
      ['January 2, 2006 3:04:05 PM', 'June 13, 2019 8:39:39 PM'],
      ['03:04pm 1/2', '08:39pm 6/13'],
      ['.000 .000000 ,999 .99', '.123 .123400 ,123 .12'],
      ['002 __2', '164 164'],
      ['-0700 -07:00 -07 -070000 -07:00:00', '+0000 +00:00 +00 +000000 +00:00:00'],
      ['Z0700 Z07:00 Z07', 'Z Z Z'],
      ['2006_2006 _2', '2019_2019 13'],
      ['literal text: 2006', 'literal text: 2019'],
    ];
    for (const [layout, want] of cases) assert.equal(goFormat(t, layout), want, layout);
    const kolkata = new GoTime(0, 0, 'Asia/Kolkata');
    assert.equal(goFormat(kolkata, '2006-01-02 15:04 Z07:00 -0700 -07'), '1970-01-01 05:30 +05:30 +0530 +05');
    const early = new GoTime(Date.UTC(2019, 0, 5, 9, 7, 3) / 1000, 0, 'UTC');
    assert.equal(goFormat(early, '_2 2 02 1 01 3 03 4 04 5 05 15 .999 pm'), ' 5 5 05 1 01 9 09 7 07 3 03 09  am');
  });
});
