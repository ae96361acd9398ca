/** Media types of a stored component descriptor, current and legacy (all readable). */
export const DescriptorMediaType = {
  Json: 'application/vnd.ocm.software.component-descriptor.v2+json',
  Yaml: 'application/vnd.ocm.software.component-descriptor.v2+yaml',
  YamlTar: 'application/vnd.ocm.software.component-descriptor.v2+yaml+tar',
  LegacyJson: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+json',
  LegacyYaml: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml',
  LegacyYamlTar: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml+tar',
  LegacyConfigYamlTar: 'application/vnd.oci.gardener.cloud.cnudie.component-descriptor.config.v2+yaml+tar',
} as const;

/** The name of the single entry in the tar forms (V1 wrote descriptors this way). */
export const DescriptorTarEntryName = 'component-descriptor.yaml';

export type DescriptorEncoding = 'json' | 'yaml' | 'yaml+tar';

/** How a descriptor media type is encoded, or undefined for a type that is not a descriptor. */
export function descriptorEncoding(mediaType: string): DescriptorEncoding | undefined {
  switch (mediaType) {
    case DescriptorMediaType.Json:
    case DescriptorMediaType.LegacyJson:
      return 'json';
    case DescriptorMediaType.Yaml:
    case DescriptorMediaType.LegacyYaml:
      return 'yaml';
    case DescriptorMediaType.YamlTar:
    case DescriptorMediaType.LegacyYamlTar:
    case DescriptorMediaType.LegacyConfigYamlTar:
      return 'yaml+tar';
    default:
      return undefined;
  }
}
