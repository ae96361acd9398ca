import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ocmVectors } from '../../test/support/vectors.js';
import { isLadingError } from '../oci/index.js';
import { parseComponentReference, parseRepository } from './reference.js';

interface Case {
  input: string;
  expected: Record<string, string> | null;
  ignoreSemverValidation: boolean;
  expectError: boolean;
}

describe('component references', () => {
  const file = JSON.parse(readFileSync(join(ocmVectors, 'extracted/compref-parse-cases.json'), 'utf8')) as {
    cases: Case[];
  };

  test('all 23 upstream table cases', () => {
    assert.equal(file.cases.length, 23);
    for (const c of file.cases) {
      const parse = () => parseComponentReference(c.input, { ignoreSemverValidation: c.ignoreSemverValidation });
      if (c.expectError) {
        assert.throws(parse, (e) => isLadingError(e, 'INVALID_REFERENCE'), c.input);
        continue;
      }
      const ref = parse();
      const e = c.expected as Record<string, string>;
      const got: Record<string, string> = {
        Type: ref.repository.type,
        Component: ref.component,
        repositoryKind: ref.repository.kind,
      };
      if (ref.version) got.Version = ref.version;
      if (ref.digest) got.Digest = ref.digest;
      if (ref.prefix) got.Prefix = ref.prefix;
      if (ref.repository.kind === 'OCIRepository') {
        got.BaseUrl = ref.repository.baseUrl;
        if (ref.repository.subPath) got.SubPath = ref.repository.subPath;
      } else {
        got.FilePath = ref.repository.filePath;
      }
      assert.deepEqual(got, e, c.input);
    }
  });

  test('repository locations: archives, registries, plain HTTP', () => {
    assert.deepEqual(parseRepository('transport-archive'), {
      kind: 'CommonTransportFormat',
      type: 'CommonTransportFormat/v1',
      filePath: 'transport-archive',
    });
    assert.deepEqual(parseRepository('ctf.tgz'), {
      kind: 'CommonTransportFormat',
      type: 'CommonTransportFormat/v1',
      filePath: 'ctf.tgz',
    });
    assert.deepEqual(parseRepository('http://127.0.0.1:5000/sub/path'), {
      kind: 'OCIRepository',
      type: 'OCIRepository/v1',
      baseUrl: 'http://127.0.0.1:5000',
      subPath: 'sub/path',
    });
    assert.deepEqual(parseRepository('ghcr.io/acme'), {
      kind: 'OCIRepository',
      type: 'OCIRepository/v1',
      baseUrl: 'ghcr.io',
      subPath: 'acme',
    });
    assert.throws(
      () => parseRepository('nope::x'),
      (e) => isLadingError(e, 'UNKNOWN_TYPE'),
    );
  });

  test('a registry at an IPv6 address: its "::" is not a type prefix, with or without a scheme or a type', () => {
    for (const [input, baseUrl] of [
      ['https://[::1]:5443/sub//github.com/acme.org/app:1.0.0', 'https://[::1]:5443'],
      ['[::1]:5443/sub//github.com/acme.org/app:1.0.0', '[::1]:5443'],
      ['http://[fe80::1]:5000/sub/component-descriptors/github.com/acme.org/app:1.0.0', 'http://[fe80::1]:5000'],
      ['OCIRepository::https://[::1]:5443/sub//github.com/acme.org/app:1.0.0', 'https://[::1]:5443'],
    ] as const) {
      const ref = parseComponentReference(input);
      assert.equal(ref.repository.kind, 'OCIRepository', input);
      assert.deepEqual(
        ref.repository.kind === 'OCIRepository' ? [ref.repository.baseUrl, ref.repository.subPath] : [],
        [baseUrl, 'sub'],
        input,
      );
      assert.equal(ref.component, 'github.com/acme.org/app', input);
      assert.equal(ref.version, '1.0.0', input);
    }
    assert.deepEqual(parseRepository('https://[::1]:5443/mirror'), {
      kind: 'OCIRepository',
      type: 'OCIRepository/v1',
      baseUrl: 'https://[::1]:5443',
      subPath: 'mirror',
    });
  });

  test('a name that is not a component name is refused saying why (upper case, no domain, no path, odd characters)', () => {
    const cases: [string, RegExp][] = [
      ['Acme.org/app', /invalid component name "Acme\.org\/app": component names are lower case$/],
      ['acme.org/App', /: component names are lower case$/],
      ['acme.org', /"acme\.org": a component name is a DNS domain and a path, such as acme\.org\/app$/],
      ['acme/app', /: it must begin with a DNS domain such as acme\.org, not "acme"$/],
      ['acme.org/a pp', /: each segment of its path begins with a letter and holds lower-case letters, digits/],
      ['acme.org/1app', /: each segment of its path begins with a letter/],
      ['acme.org/app/', /: each segment of its path begins with a letter/],
      [`acme.org/${'a'.repeat(300)}`, /: it is longer than 255 characters$/],
    ];
    for (const [name, why] of cases) {
      for (const raw of [`./ctf//${name}:1.0.0`, `ghcr.io/acme//${name}`]) {
        assert.throws(
          () => parseComponentReference(raw),
          (e) => isLadingError(e, 'INVALID_REFERENCE') && why.test((e as Error).message),
          raw,
        );
      }
    }
  });

  test('credentials in a repository URL are refused, and the error does not repeat them', () => {
    for (const parse of [
      () => parseRepository('http://testuser:URLSECRET@127.0.0.1:5000/ocm'),
      () => parseComponentReference('https://testuser:URLSECRET@127.0.0.1:5443/ocm//acme.org/hello:1.0.0'),
    ]) {
      assert.throws(parse, (e) => {
        assert.ok(isLadingError(e, 'INVALID_REFERENCE'));
        assert.match((e as Error).message, /credentials do not belong in the repository URL/);
        assert.doesNotMatch((e as Error).message, /URLSECRET|testuser/);
        return true;
      });
    }
  });
});
