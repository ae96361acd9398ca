import { tarBytes } from '../../archive/index.js';
import { LadingError } from '../../oci/index.js';
import { goYaml } from './go-yaml.js';
import { DescriptorMediaType, DescriptorTarEntryName, descriptorEncoding } from './media-types.js';
import type { ComponentDescriptor } from './model.js';
import { sortedJson } from './sorted-json.js';
import { toWire } from './wire.js';

/**
 * The `+json` bytes upstream stores: compact JSON with every object's keys sorted (upstream goes
 * through YAML and back, which sorts), Go string escaping, no trailing newline.
 */
export function encodeDescriptorJson(desc: ComponentDescriptor): Uint8Array {
  return Buffer.from(sortedJson(toWire(desc)), 'utf8');
}

/** The `+yaml` bytes upstream stores (go-yaml v2 output of the same object). */
export function encodeDescriptorYaml(desc: ComponentDescriptor): Uint8Array {
  return Buffer.from(goYaml(toWire(desc)), 'utf8');
}

// Upstream stamps the one entry with this time to reproduce what V1 wrote.
const tarEntryTime = Date.UTC(2022, 0, 1) / 1000;

/** The legacy `+yaml+tar` form: one USTAR entry `component-descriptor.yaml`, mode 0. */
export function encodeDescriptorTar(desc: ComponentDescriptor): Uint8Array {
  const yaml = Buffer.from(encodeDescriptorYaml(desc));
  const header = {
    name: DescriptorTarEntryName,
    mode: 0,
    uid: 0,
    gid: 0,
    size: yaml.length,
    mtime: tarEntryTime,
    typeflag: '0',
  } as const;
  return tarBytes([{ header, body: yaml }]);
}

/** Encodes for any descriptor media type (current or legacy). */
export function encodeDescriptor(desc: ComponentDescriptor, mediaType: string = DescriptorMediaType.Json): Uint8Array {
  switch (descriptorEncoding(mediaType)) {
    case 'json':
      return encodeDescriptorJson(desc);
    case 'yaml':
      return encodeDescriptorYaml(desc);
    case 'yaml+tar':
      return encodeDescriptorTar(desc);
    default:
      throw new LadingError('INVALID_MEDIA_TYPE', `unsupported component descriptor media type "${mediaType}"`);
  }
}
