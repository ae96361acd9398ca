import { runInput } from '../input/registry.js';
import type { InputBlob, InputContext, InputMethod } from '../input/types.js';
import { type ConstructorResource, type ConstructorSource, formatLocation } from './model.js';

/**
 * Runs the input of a constructor resource or source; a failure names the constructor file, the
 * line and the path of the input (`component-constructor.yaml:9: resources[0].input: path …`).
 */
export function runElementInput(
  element: ConstructorResource | ConstructorSource,
  context: InputContext,
  options: { methods?: ReadonlyMap<string, InputMethod> } = {},
): Promise<InputBlob> {
  const where = `${formatLocation(element.location)}.input`;
  if (!element.input) return Promise.reject(new Error(`${where}: element has no input`));
  return runInput(element.input, context, { where, ...(options.methods ? { methods: options.methods } : {}) });
}
