import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../../oci/index.js';
import { goFloat, goSprintf, renderGoTemplate } from './go-template.js';

const push = {
  reference: 'localhost:5000/hello@sha256:abc',
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:abc',
  size: 12345678,
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', b: 'two' },
  artifactType: 'application/vnd.example',
  referenceAsTags: ['localhost:5000/hello:v1', 'localhost:5000/hello:latest'],
  files: [
    { path: '/out/a.txt', digest: 'sha256:1', size: 3 },
    { path: '/out/dir/', digest: 'sha256:2', size: 40 },
  ],
  none: null,
  empty: [],
};

const r = (t: string, data: unknown = push) => renderGoTemplate(t, data);

function assertTemplateError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLadingError(e, 'INVALID_ARGUMENT'), String(e));
    assert.match((e as Error).message, /^template: format output:/);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('Go text/template interpreter', () => {
  test('fields, dot, missing keys and nulls print as Go does', () => {
    assert.equal(r('{{.digest}}'), 'sha256:abc');
    assert.equal(r('{{.annotations.b}}'), 'two');
    assert.equal(r('{{.nope}}'), '<no value>');
    assert.equal(r('{{.nope.deeper}}'), '<no value>');
    assert.equal(r('{{.none}}'), '<nil>');
    assert.equal(r('{{.referenceAsTags}}'), '[localhost:5000/hello:v1 localhost:5000/hello:latest]');
    assert.equal(r('{{.annotations}}'), 'map[b:two org.opencontainers.image.created:2024-01-01T00:00:00Z]');
    assert.equal(r('{{.}}', 'x'), 'x');
    assertTemplateError(() => r('{{.digest.x}}'), /can't evaluate field x in type string/);
    assertTemplateError(() => r('{{.none.x}}'), /nil pointer evaluating interface \{\}\.x/);
  });

  test('numbers are float64 as in ORAS (JSON decoded): %v switches to exponent form at 1e6', () => {
    assert.equal(r('{{.size}}'), '1.2345678e+07');
    assert.equal(r('{{(index .files 1).size}}'), '40');
    assert.equal(goFloat(123456), '123456');
    assert.equal(goFloat(1e6), '1e+06');
    assert.equal(goFloat(0.5), '0.5');
    assert.equal(goFloat(0.00001), '1e-05');
    assert.equal(goFloat(1e21), '1e+21');
    assert.equal(r('{{printf "%.0f" .size}}'), '12345678');
    assert.equal(r('{{printf "%d" .size}}'), '%!d(float64=1.2345678e+07)');
    assert.equal(r('{{printf "%d" (len .files)}}'), '2');
  });

  test('range over lists, maps (sorted), with variables, else, break and continue', () => {
    assert.equal(r('{{range .files}}{{.path}};{{end}}'), '/out/a.txt;/out/dir/;');
    assert.equal(r('{{range $i, $f := .files}}{{$i}}={{$f.path}} {{end}}'), '0=/out/a.txt 1=/out/dir/ ');
    assert.equal(
      r('{{range $k, $v := .annotations}}{{$k}}:{{$v}},{{end}}'),
      'b:two,org.opencontainers.image.created:2024-01-01T00:00:00Z,',
    );
    assert.equal(r('{{range .empty}}x{{else}}none{{end}}'), 'none');
    assert.equal(r('{{range .nope}}x{{else}}none{{end}}'), 'none');
    assert.equal(r('{{range .files}}{{if eq .size 40.0}}{{break}}{{end}}{{.path}}{{end}}'), '/out/a.txt');
    assert.equal(r('{{range .files}}{{if eq .size 3.0}}{{continue}}{{end}}{{.path}}{{end}}'), '/out/dir/');
    assert.equal(r('{{range 3}}{{.}}{{end}}'), '012');
    assert.equal(
      r('{{range $x := .referenceAsTags}}{{$x}} {{end}}'),
      'localhost:5000/hello:v1 localhost:5000/hello:latest ',
    );
    assert.equal(r('{{range .files}}{{$.digest}}{{end}}'), 'sha256:abcsha256:abc');
    assertTemplateError(() => r('{{range .digest}}{{end}}'), /range can't iterate over sha256:abc/);
    assertTemplateError(() => r('{{break}}'), /break/);
  });

  test('if/else if/else, with/else, and/or/not, comparisons', () => {
    assert.equal(r('{{if .artifactType}}yes{{else}}no{{end}}'), 'yes');
    assert.equal(r('{{if .nope}}yes{{else if .empty}}e{{else}}no{{end}}'), 'no');
    assert.equal(r('{{if .nope}}a{{else if .digest}}b{{else}}c{{end}}'), 'b');
    assert.equal(r('{{with .annotations}}{{.b}}{{end}}'), 'two');
    assert.equal(r('{{with .nope}}x{{else}}y{{end}}'), 'y');
    assert.equal(r('{{with .nope}}x{{else with .annotations}}{{.b}}{{end}}'), 'two');
    assert.equal(r('{{and .digest .nope}}'), '<no value>');
    assert.equal(r('{{or .nope .digest}}'), 'sha256:abc');
    assert.equal(r('{{not .empty}}'), 'true');
    assert.equal(r('{{eq .digest "x" "sha256:abc"}}'), 'true');
    assert.equal(r('{{ne .artifactType "a"}}'), 'true');
    assert.equal(r('{{lt 1 2}} {{ge .size 1}}'), 'true true');
    assertTemplateError(() => r('{{eq .digest 1}}'), /incompatible types for comparison/);
  });

  test('functions: len, index, slice, printf, print, json/toJson, sprig string helpers, pipelines', () => {
    assert.equal(r('{{len .files}} {{len .digest}} {{len .annotations}}'), '2 10 2');
    assert.equal(r('{{index .referenceAsTags 1}}'), 'localhost:5000/hello:latest');
    assert.equal(r('{{index .annotations "b"}}'), 'two');
    assert.equal(r('{{index . "files" 0 "path"}}'), '/out/a.txt');
    assert.equal(r('{{slice .digest 0 6}}'), 'sha256');
    assert.equal(r('{{printf "%s=%v %q" "a" .annotations.b "q"}}'), 'a=two "q"');
    assert.equal(r('{{print "a" 1 2 "b"}}'), 'a1 2b');
    assert.equal(
      r('{{json .files}}'),
      '[{"path":"/out/a.txt","digest":"sha256:1","size":3},{"path":"/out/dir/","digest":"sha256:2","size":40}]',
    );
    assert.equal(r('{{toJson .annotations}}'), '{"org.opencontainers.image.created":"2024-01-01T00:00:00Z","b":"two"}');
    assert.equal(r('{{toJson "<a&b>"}}'), '"\\u003ca\\u0026b\\u003e"');
    assert.equal(r('{{toPrettyJson .empty}}'), '[]');
    assert.equal(r('{{.digest | upper}}'), 'SHA256:ABC');
    assert.equal(r('{{.digest | trimPrefix "sha256:"}}'), 'abc');
    assert.equal(r('{{join "," .referenceAsTags}}'), 'localhost:5000/hello:v1,localhost:5000/hello:latest');
    assert.equal(r('{{.nope | default "dflt"}}'), 'dflt');
    assert.equal(r('{{printf "%s" .digest | printf "<%s>"}}'), '<sha256:abc>');
    assert.equal(r('{{(index .files 0).path}}'), '/out/a.txt');
    assert.equal(r('{{$d := .digest}}{{$d}}{{$d = "x"}}{{$d}}'), 'sha256:abcx');
    assertTemplateError(() => r('{{nosuch .digest}}'), /function "nosuch" not defined/);
    // Names of Object.prototype's members are no functions of the template language.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assertTemplateError(
        () => r(`{{${name} "x"}}`),
        new RegExp(`^template: format output:1: function "${name}" not defined$`),
      );
      assertTemplateError(() => r(`{{${name}}}`), new RegExp(`function "${name}" not defined$`));
      assertTemplateError(() => r(`{{.digest | ${name}}}`), new RegExp(`function "${name}" not defined$`));
      assertTemplateError(() => r(`{{if ${name}}}x{{end}}`), new RegExp(`function "${name}" not defined$`));
    }
    assertTemplateError(() => r('{{$undefined}}'), /undefined variable "\$undefined"/);
    assertTemplateError(() => r('{{index .files 5}}'), /index out of range: 5/);
  });

  test('whitespace trimming, comments, literals, define/template', () => {
    assert.equal(r('a  {{- .annotations.b -}}  \n b'), 'atwob');
    assert.equal(r('{{range .files -}}\n  {{.path}}\n{{- end}}'), '/out/a.txt/out/dir/');
    assert.equal(r('x{{/* a comment }} with braces */}}y'), 'xy');
    assert.equal(r('x {{- /* trimmed */ -}} y'), 'xy');
    assert.equal(r('{{"a\\tb"}}|{{`raw\\n`}}|{{-3}}|{{1.5}}|{{true}}|{{0x10}}'), 'a\tb|raw\\n|-3|1.5|true|16');
    assert.equal(
      r('{{define "f"}}[{{.}}]{{end}}{{template "f" .digest}}{{range .referenceAsTags}}{{template "f" .}}{{end}}'),
      '[sha256:abc][localhost:5000/hello:v1][localhost:5000/hello:latest]',
    );
    assert.equal(r('{{"}}"}}'), '}}');
    assert.equal(r('no actions at all\n'), 'no actions at all\n');
  });

  test('parse errors are one INVALID_ARGUMENT line naming the template and the line', () => {
    assertTemplateError(() => r('{{.digest'), /1: unclosed action/);
    assertTemplateError(() => r('{{if .digest}}x'), /unexpected EOF/);
    assertTemplateError(() => r('{{end}}'), /unexpected \{\{end\}\}/);
    assertTemplateError(() => r('a\n{{range}}{{end}}'), /2: missing value for command/);
    assertTemplateError(() => r('{{"unterminated}}'), /unclosed action|unterminated/);
    assertTemplateError(() => r('{{.a | }}'), /missing value for command/);
    assertTemplateError(() => r('{{(.a}}'), /unclosed left paren/);
    assertTemplateError(() => r('{{.digest "x"}}'), /can't give argument to field \.digest/);
  });

  test('printf verbs and padding', () => {
    assert.equal(goSprintf('%-5s|%5s|%%', ['ab', 'cd']), 'ab   |   cd|%');
    assert.equal(goSprintf('%s %s', ['a']), 'a %!s(MISSING)');
    assert.equal(goSprintf('%s', ['a', 'b']), 'a%!(EXTRA string=b)');
    assert.equal(goSprintf('%t %x', [true, 'hi']), 'true 6869');
  });
});
