import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLadingError } from '../oci/index.js';
import {
  AccessType,
  canonicalAccessType,
  canonicalInputType,
  canonicalRepositoryType,
  InputType,
  isAccessType,
  parseTypeName,
  RepositoryType,
  typeSpellings,
} from './types.js';

describe('OCM type names', () => {
  const access: [string, string][] = [
    ['LocalBlob/v1', AccessType.LocalBlob],
    ['localBlob', AccessType.LocalBlob],
    ['ociArtifact', AccessType.OCIImage],
    ['ociArtifact/v1', AccessType.OCIImage],
    ['ociImage', AccessType.OCIImage],
    ['ociRegistry/v1', AccessType.OCIImage],
    ['OCIImage', AccessType.OCIImage],
    ['ociBlob', AccessType.OCIImageLayer],
    ['helm', AccessType.Helm],
    ['gitHub/v1', AccessType.GitHub],
    ['github', AccessType.GitHub],
    ['wget', AccessType.Wget],
    ['s3Bucket', AccessType.S3Bucket],
    ['file', AccessType.File],
    ['File', AccessType.File],
  ];
  for (const [given, want] of access) {
    it(`access ${given} → ${want}`, () => assert.equal(canonicalAccessType(given), want));
  }

  it('maps every input alias and keeps File input and File access apart', () => {
    assert.equal(canonicalInputType('dir'), InputType.Dir);
    assert.equal(canonicalInputType('Dir'), InputType.Dir);
    assert.equal(canonicalInputType('file/v1'), InputType.File);
    assert.equal(canonicalInputType('file'), InputType.File);
    assert.equal(canonicalInputType('utf8'), InputType.UTF8);
    assert.equal(canonicalInputType('helm/v1'), InputType.Helm);
    assert.equal(canonicalInputType('Wget'), InputType.Wget);
    assert.equal(canonicalAccessType('file'), 'File/v1alpha1');
    assert.ok(isAccessType('ociImage', AccessType.OCIImage));
  });

  it('maps repository aliases', () => {
    assert.equal(canonicalRepositoryType('ctf'), RepositoryType.CommonTransportFormat);
    assert.equal(canonicalRepositoryType('OCI/v1'), RepositoryType.OCIRepository);
    assert.equal(canonicalRepositoryType('OCIRegistry'), RepositoryType.OCIRepository);
  });

  it('is case-sensitive and names the field of an unknown type', () => {
    assert.throws(
      () => canonicalAccessType('OCIArtifact', { path: 'resources[0].access.type' }),
      (e) =>
        isLadingError(e, 'UNKNOWN_TYPE') &&
        /^resources\[0\]\.access\.type: unknown access type "OCIArtifact"/.test((e as Error).message),
    );
    assert.throws(
      () => canonicalInputType('FILE'),
      (e) => isLadingError(e, 'UNKNOWN_TYPE'),
    );
    assert.throws(
      () => canonicalInputType(5),
      (e) => isLadingError(e, 'UNKNOWN_TYPE'),
    );
  });

  it('parses Name[/version]', () => {
    assert.deepEqual(parseTypeName('OCIImage/v1'), { name: 'OCIImage', version: 'v1' });
    assert.deepEqual(parseTypeName('helm'), { name: 'helm' });
    assert.throws(() => parseTypeName('a/b/c'), /too many segments/);
    assert.throws(() => parseTypeName('/v1'), /missing name/);
    assert.deepEqual(typeSpellings('Dir/v1'), ['Dir/v1', 'Dir', 'dir/v1', 'dir']);
  });
});
