import type { DigestSpec, Label, Provider, ResourceRelation, SourceRef, TypedSpec } from '../descriptor/model.js';

/**
 * A parsed, validated and defaulted `component-constructor.yaml`: what construction needs, with
 * every element carrying where it was written so that later errors (an input that fails) can
 * still name the file, the line and the path.
 */
export interface ComponentConstructor {
  /** The file name used in messages. */
  file: string;
  components: ConstructorComponent[];
  /** Things upstream accepts silently but a user probably did not mean (unknown input fields). */
  warnings: string[];
}

/** `file:line: path`, for messages about an element or one of its fields. */
export interface SourceLocation {
  file: string;
  line: number;
  path: string;
}

export interface ConstructorElementMeta {
  name: string;
  /** Defaulted to the component version where upstream does (see each element). */
  version: string;
  labels?: Label[];
  extraIdentity?: Record<string, string>;
  location: SourceLocation;
}

/** An input specification: the user's object, plus its type resolved to the canonical name. */
export interface InputSpec extends TypedSpec {}

/** A resource of a component constructor: its metadata and either an `input` or an `access`. */
export interface ConstructorResource extends ConstructorElementMeta {
  type: string;
  /** `external` by default for access, always `local` for input. */
  relation: ResourceRelation;
  srcRefs?: SourceRef[];
  digest?: DigestSpec;
  access?: TypedSpec;
  input?: InputSpec;
  /** Canonical input type (e.g. `File/v1`) when `input` is set. */
  inputType?: string;
  /** Construction-time only, never stored (upstream: `options.ownershipPolicy`). */
  ownershipPolicy?: 'Never' | 'Always';
}

/** A source of a component constructor: its metadata and either an `input` or an `access`. */
export interface ConstructorSource extends ConstructorElementMeta {
  type: string;
  access?: TypedSpec;
  input?: InputSpec;
  inputType?: string;
}

/** A reference to another component version in a component constructor. */
export interface ConstructorReference extends ConstructorElementMeta {
  componentName: string;
  digest?: DigestSpec;
}

/** One component version of a component constructor. */
export interface ConstructorComponent {
  name: string;
  version: string;
  provider: Provider;
  labels?: Label[];
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
  location: SourceLocation;
}

export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}: ${location.path || '(component)'}`;
}
