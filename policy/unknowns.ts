// @pulumi/policy hands a policy its inputs behind a proxy that throws UnknownValueError on the first
// unknown value read, which turns the whole policy into one advisory note for that resource. This reads
// the inputs once, replacing each unknown value by an `Unknown` marker at its path, so rules can judge
// everything that is known.
import * as pulumi from '@pulumi/pulumi';
import { Props, Unknown } from './rule';

// The SDK exports UnknownValueError at run time, but its typings leave it out (marked internal).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { UnknownValueError } = require('@pulumi/policy') as { UnknownValueError: new (sentinel: string, path: string[]) => Error };

function resolve(value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  const child = (key: string) => (path ? `${path}.${key}` : key);
  const read = (obj: any, key: string | number, at: string): unknown => {
    try {
      return resolve(obj[key], at);
    } catch (e) {
      if (e instanceof UnknownValueError) return new Unknown(at);
      throw e;
    }
  };
  if (Array.isArray(value)) return Array.from({ length: value.length }, (_, i) => read(value, i, `${path}[${i}]`));
  return Object.fromEntries(Object.keys(value).map((k) => [k, read(value, k, child(k))]));
}

/** Plain inputs with `Unknown` markers where the engine sent unknown values. */
export function resolveUnknowns(props: Props): Props {
  return resolve(props, '') as Props;
}

/**
 * The error @pulumi/policy turns into an advisory note ("can't run policy … during preview: …"); thrown
 * after the known violations were reported, which stay mandatory.
 */
export function undecidedError(paths: string[]): Error {
  const error = new UnknownValueError(pulumi.runtime.unknownValue, []);
  error.message = `${paths.join(', ')} ${paths.length === 1 ? 'is' : 'are'} not known until the update, which judges ${paths.length === 1 ? 'it' : 'them'}; everything known was judged now`;
  return error;
}
