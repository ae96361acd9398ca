import type { DigestSpec, Label, Provider, ResourceRelation, SourceRef, TypedSpec } from '../descriptor/model.js';

/**
 * A parsed, validated and defaulted `component-constructor.yaml`: what construction needs, with
 * every element carrying where it was written so that later errors (an input that fails) can
 * still name the file, the line and the path.
 */
export interface ComponentConstructor {
  /** The file name used in messages. */
  file: string;
  /** The component versions to build, in the file's order. */
  components: ConstructorComponent[];
  /** Things upstream accepts silently but a user probably did not mean (unknown input fields). */
  warnings: string[];
}

/** `file:line: path`, for messages about an element or one of its fields. */
export interface SourceLocation {
  /** The constructor file. */
  file: string;
  /** The 1-based line of the element or field. */
  line: number;
  /** The field path (`components[0].resources[2]`); empty for the component itself. */
  path: string;
}

export interface ConstructorElementMeta {
  /** The element's name. */
  name: string;
  /** Defaulted to the component version where upstream does (see each element). */
  version: string;
  /** Labels of the element. */
  labels?: Label[];
  /** Identity attributes beside name and version. */
  extraIdentity?: Record<string, string>;
  /** Where the element is written in the constructor file. */
  location: SourceLocation;
}

/** An input specification: the user's object, plus its type resolved to the canonical name. */
export interface InputSpec extends TypedSpec {}

/** A resource of a component constructor: its metadata and either an `input` or an `access`. */
export interface ConstructorResource extends ConstructorElementMeta {
  /** The element type (`blob`, `ociImage`, `helmChart`, …). */
  type: string;
  /** `external` by default for access, always `local` for input. */
  relation: ResourceRelation;
  /** The sources the resource was built from. */
  srcRefs?: SourceRef[];
  /** The resource digest, when the constructor gives it. */
  digest?: DigestSpec;
  /** Where the content is, for an element given by access (kept as written). */
  access?: TypedSpec;
  /** How to build the content, for an element given by input (stored as a local blob). */
  input?: InputSpec;
  /** Canonical input type (e.g. `File/v1`) when `input` is set. */
  inputType?: string;
  /** Construction-time only, never stored (upstream: `options.ownershipPolicy`). */
  ownershipPolicy?: 'Never' | 'Always';
}

/** A source of a component constructor: its metadata and either an `input` or an `access`. */
export interface ConstructorSource extends ConstructorElementMeta {
  /** The element type (`blob`, `ociImage`, `helmChart`, …). */
  type: string;
  /** Where the content is, for an element given by access (kept as written). */
  access?: TypedSpec;
  /** How to build the content, for an element given by input (stored as a local blob). */
  input?: InputSpec;
  /** Canonical input type (e.g. `File/v1`) when `input` is set. */
  inputType?: string;
}

/** A reference to another component version in a component constructor. */
export interface ConstructorReference extends ConstructorElementMeta {
  /** The referenced component's name. */
  componentName: string;
  /** The referenced version's digest, when the constructor gives it (checked against the computed one). */
  digest?: DigestSpec;
}

/** One component version of a component constructor. */
export interface ConstructorComponent {
  /** The component name (`acme.org/app`). */
  name: string;
  /** The component version. */
  version: string;
  /** Who provides the component. */
  provider: Provider;
  /** Labels of the component. */
  labels?: Label[];
  /** The creation time to record (RFC 3339), when given. */
  creationTime?: string;
  /**
   * The resources (empty when the constructor has none; a list the constructor does not have at
   * all is stored as `null`, as upstream stores it, an empty one as `[]`).
   */
  resources: ConstructorResource[];
  /** The sources (empty when the constructor has none). */
  sources: ConstructorSource[];
  /** The references to other component versions (empty when the constructor has none). */
  componentReferences: ConstructorReference[];
  /** Where the component is written in the constructor file. */
  location: SourceLocation;
}

export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}: ${location.path || '(component)'}`;
}
