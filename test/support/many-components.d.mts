/** A component-constructor.yaml of `count` components, one tiny `utf8/v1` resource each (many-components.mjs). */
export function manyComponents(count: number, options?: { lastInput?: string[] }): string;
