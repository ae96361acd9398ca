import { LadingError } from '../../oci/index.js';
import { canonicalInputType, InputType } from '../types.js';
import { dirInput } from './dir.js';
import { fileInput } from './file.js';
import { helmInput } from './helm.js';
import type { InputBlob, InputContext, InputMethod } from './types.js';
import { utf8Input } from './utf8.js';

const wgetInput: InputMethod = async (spec) => {
  throw new LadingError('UNSUPPORTED', `Wget/v1 input (${JSON.stringify(spec.url)}) is not supported yet`);
};

/** The built-in input methods by canonical type (upstream's CLI has these five). */
export const builtinInputMethods: ReadonlyMap<string, InputMethod> = new Map<string, InputMethod>([
  [InputType.File, fileInput],
  [InputType.Dir, dirInput],
  [InputType.UTF8, utf8Input],
  [InputType.Helm, helmInput],
  [InputType.Wget, wgetInput],
]);

/**
 * Runs the input method for `spec` (any accepted spelling of its type). Errors keep their code
 * and get `where` (for example `component-constructor.yaml:14: components[0].resources[2].input`)
 * in front of the message.
 */
export async function runInput(
  spec: Record<string, unknown>,
  context: InputContext,
  options: { where?: string; methods?: ReadonlyMap<string, InputMethod> } = {},
): Promise<InputBlob> {
  const prefix = options.where ? `${options.where}: ` : '';
  try {
    const type = canonicalInputType(spec.type);
    const method = (options.methods ?? builtinInputMethods).get(type);
    if (!method) throw new LadingError('UNKNOWN_TYPE', `no input method for type "${type}"`);
    return await method(spec, context);
  } catch (error) {
    if (error instanceof LadingError) {
      throw new LadingError(error.code, `${prefix}${error.message}`, { cause: error });
    }
    if ((error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${prefix}${(error as Error).message}`, { cause: error });
  }
}
