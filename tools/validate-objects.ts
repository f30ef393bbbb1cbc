// Checks rendered objects against the schemas the API server would use: Kubernetes' own types through
// kubernetes-models (its JSON schemas are generated from Kubernetes' OpenAPI), and custom resources against
// the `openAPIV3Schema` of the CRD that defines them, taken from the same render (e.g. Istio's base chart).
// Not checked: fields the schemas leave open (unknown fields pass, as the API server only warns on them)
// and CEL rules (`x-kubernetes-validations`).
import Ajv, { ValidateFunction } from 'ajv';
import type { K8sObject } from './render-stack';

export interface SchemaProblem {
  object: string;
  message: string;
}

interface CrdVersion { name: string; schema?: { openAPIV3Schema?: object } }
interface Crd { spec: { group: string; names: { kind: string }; versions: CrdVersion[] } }

export function describe(o: K8sObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name} (${o.apiVersion})`;
}

type Model = new (data: unknown) => { validate(): void };

/** kubernetes-models lays out one module per kind: `kubernetes-models/<group or nothing>/<version>/<Kind>`. */
function builtInModel(apiVersion: string, kind: string): Model | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const id = ['kubernetes-models', group, version, kind].filter(Boolean).join('/');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(id) as Record<string, Model>)[kind];
  } catch {
    return undefined;
  }
}

/** One Ajv for the process: it keeps each compiled schema by identity, so re-checking the same render's CRDs
 * compiles nothing again. Formats and Kubernetes' `x-kubernetes-*` keywords are left to the API server. */
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

export class ObjectValidator {
  private readonly custom = new Map<string, ValidateFunction>();

  /** Learns the custom resources the given CRDs define (every served version). */
  constructor(crds: K8sObject[]) {
    for (const crd of crds as unknown as Crd[]) {
      for (const v of crd.spec.versions) {
        const schema = v.schema?.openAPIV3Schema;
        if (schema) this.custom.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, ajv.compile(schema));
      }
    }
  }

  /** Problems of one object; an object whose kind no schema knows is a problem too, never a silent pass. */
  check(o: K8sObject): SchemaProblem[] {
    const object = describe(o);
    const customSchema = this.custom.get(`${o.apiVersion} ${o.kind}`);
    if (customSchema) {
      if (customSchema(o)) return [];
      return (customSchema.errors ?? []).map((e) => ({ object, message: `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` }));
    }
    const Model = builtInModel(o.apiVersion, o.kind);
    if (!Model) return [{ object, message: 'no schema knows this kind (neither Kubernetes\' own types nor a CRD in the render)' }];
    try {
      new Model(o).validate();
      return [];
    } catch (e) {
      return [{ object, message: (e as Error).message }];
    }
  }

  checkAll(objects: K8sObject[]): SchemaProblem[] {
    return objects.flatMap((o) => this.check(o));
  }
}

/** A validator that knows the CRDs among `objects`. */
export function validatorFor(objects: K8sObject[]): ObjectValidator {
  return new ObjectValidator(objects.filter((o) => o.kind === 'CustomResourceDefinition' && o.apiVersion === 'apiextensions.k8s.io/v1'));
}
