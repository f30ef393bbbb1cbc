// What `pulumi up` would apply to the cluster, computed offline: the program runs under Pulumi's mocks
// (tools/offline-program.ts), each Helm release it declares is rendered by a real `helm template` of the
// chart folder the release itself names in the chart cache, with exactly the values the program passes, and
// the program's own Kubernetes objects are taken from their inputs. Values only the cloud knows (IP addresses, digests) are the mocks' stand-ins.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { ChartPin } from '../infra/charts';
import { metadataKeys } from '../vm-bootstrap/metadata-keys';
import { chartDirOfRelease, pinOfRelease } from './chart-cache';
import { ensureHelm } from './packaged-binaries';
import { fakeOf, RecordedResource, runProgram } from './offline-program';
import { gcpResources, RenderedGcpResource } from './render-gcp';
import { helmTemplateArgs } from './helm-template-args';

const run = promisify(execFile);

export { KUBE_VERSION } from './helm-template-args';
const HELM_RELEASE_TYPE = 'kubernetes:helm.sh/v3:Release';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderedObject {
  object: K8sObject;
  /** `release <name>` for a chart's object, `program <logical name>` for one the program declares. */
  origin: string;
  /** The Helm hook events the chart runs it at (`post-install` …); empty for ordinary objects. */
  hooks: string[];
}

export interface RenderedRelease {
  name: string;
  namespace: string;
  pin: ChartPin;
  /** Helm waits for the release's workloads before it counts as installed (and before post-install hooks). */
  waits: boolean;
  values: Record<string, unknown>;
  objects: RenderedObject[];
}

export interface RenderedStack {
  stack: string;
  releases: RenderedRelease[];
  /** Every object, the releases' and the program's own, in a stable order. */
  objects: RenderedObject[];
  /** Objects the program reads (`Resource.get`) and so expects to exist. */
  reads: { kind: string; apiVersion: string; namespace?: string; name: string; by: string }[];
  /** The workloads that run on VMs: what each instance's metadata hands its container. */
  vms: RenderedVm[];
  /** The stack's outputs, as the mocks resolve them. */
  outputs: Record<string, unknown>;
  /** The Google Cloud side: every GCP resource with its inputs (tools/render-gcp.ts). */
  gcp: RenderedGcpResource[];
}

export interface RenderedVm {
  /** The Online Boutique service it runs. */
  workload: string;
  namespace: string;
  instance: string;
  image: string;
  env: Record<string, string>;
}

/** A VM's workload env file: one `NAME=value` a line, each value literal (podman --env-file). */
function parseLiteralEnv(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter(Boolean).map((line) => {
    const eq = line.indexOf('=');
    return [line.slice(0, eq), line.slice(eq + 1)];
  }));
}

function renderedVm(r: RecordedResource): RenderedVm {
  const md = (r.inputs.metadata ?? {}) as Record<string, string>;
  return {
    workload: md[metadataKeys.workload],
    namespace: md[metadataKeys.namespace],
    instance: r.inputs.name ?? r.name,
    image: md[metadataKeys.workloadImage],
    env: parseLiteralEnv(md[metadataKeys.workloadEnv] ?? ''),
  };
}

/** Kinds that live outside namespaces; everything else a chart or the program leaves unplaced goes to its namespace. */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'PriorityClass',
  'StorageClass', 'PersistentVolume', 'IngressClass', 'APIService', 'RuntimeClass', 'GatewayClass',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** `kubernetes:apps/v1:Deployment` → apps/v1 Deployment; `kubernetes:core/v1:Service` → v1 Service. */
export function kindOfType(type: string): { apiVersion: string; kind: string } {
  const m = /^kubernetes:(.+)\/([^/:]+):([A-Za-z]+)$/.exec(type);
  if (!m) throw new Error(`not a Kubernetes resource type: ${type}`);
  return { apiVersion: m[1] === 'core' ? m[2] : `${m[1]}/${m[2]}`, kind: m[3] };
}

function hooksOf(obj: K8sObject): string[] {
  const hook = obj.metadata?.annotations?.['helm.sh/hook'];
  return hook ? hook.split(',').map((h) => h.trim()).filter(Boolean) : [];
}

function placed(obj: K8sObject, namespace: string): K8sObject {
  if (isClusterScoped(obj.kind) || obj.metadata.namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

/** Replaces each value the program marked secret, so a render written to disk never holds one. */
function maskSecrets(value: unknown, secretPaths: string[], at = ''): unknown {
  if (secretPaths.includes(at)) return '[secret]';
  if (Array.isArray(value)) return value.map((v, i) => maskSecrets(v, secretPaths, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, secretPaths, at ? `${at}.${k}` : k)]));
  }
  return value;
}

/** One of the program's own Kubernetes objects, as the provider would apply it. */
function programObject(r: RecordedResource): K8sObject {
  const { apiVersion, kind } = kindOfType(r.type);
  const inputs = maskSecrets(r.inputs, r.secretInputs) as Record<string, unknown>;
  const given = inputs.metadata as Partial<K8sObject['metadata']> | undefined;
  // Pulumi names an object without metadata.name `<logical name>-<random>`; a stable stand-in keeps diffs quiet.
  const metadata = { ...given, name: given?.name ?? `${r.name}-${fakeOf('autoname', r.urn).slice(0, 8)}` };
  const obj: K8sObject = { ...inputs, apiVersion, kind, metadata };
  return placed(obj, 'default');
}

/** `helm template` of one chart folder with the given values; rejects with helm's own message. */
export async function helmTemplate(release: string, chartDir: string, namespace: string, values: Record<string, unknown>): Promise<string> {
  const helm = await ensureHelm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-values-'));
  try {
    const valuesFile = path.join(dir, 'values.yaml');
    fs.writeFileSync(valuesFile, stringify(values));
    const { stdout } = await run(helm, helmTemplateArgs(release, chartDir, namespace, valuesFile), { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`helm template of release ${release} (${chartDir}) failed: ${(e.stderr ?? e.message).trim()}`);
    });
    return stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The inputs of a Helm release resource that decide what it installs (a `kubernetes:helm.sh/v3:Release`'s, as the program passes them). */
export interface ReleaseInputs {
  name: string;
  /** The chart's folder in the chart cache, relative to the project (what infra/chart-cache.ts helmSource gives). */
  chart: string;
  version?: string;
  namespace?: string;
  values?: Record<string, unknown>;
  skipAwait?: boolean;
  atomic?: boolean;
}

/**
 * Renders one Helm release from its resource inputs, with a real `helm template` of exactly the chart folder
 * the release names (the one `up` installs) and exactly its values: the objects the release would apply, with
 * their hooks. Shared by `npm run render`, the render diff and the policy pack's checks of chart objects.
 */
export async function renderReleaseInputs(i: ReleaseInputs): Promise<RenderedRelease> {
  const pin = pinOfRelease(i);
  const namespace: string = i.namespace ?? 'default';
  const values = (i.values ?? {}) as Record<string, unknown>;
  const stdout = await helmTemplate(i.name, chartDirOfRelease(i), namespace, values);
  const objects: RenderedObject[] = [];
  for (const doc of parseAllDocuments(stdout)) {
    if (doc.errors.length) throw new Error(`release ${i.name}: helm printed invalid YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (!obj) continue;
    objects.push({ object: placed(obj, namespace), origin: `release ${i.name}`, hooks: hooksOf(obj) });
  }
  // Pulumi's Release waits for readiness unless skipAwait; `atomic` turns waiting back on.
  const waits = i.skipAwait !== true || i.atomic === true;
  return { name: i.name, namespace, pin, waits, values, objects };
}

/** A stable order: namespace (cluster-scoped first), kind, name. */
export function objectKey(o: K8sObject): string {
  return `${o.metadata.namespace ?? ''}\u0000${o.kind}\u0000${o.apiVersion}\u0000${o.metadata.name}`;
}

export async function renderStack(stack: string, opts: { config?: Record<string, unknown> } = {}): Promise<RenderedStack> {
  const program = await runProgram({ stack, config: opts.config });
  const releases = await Promise.all(program.ofType(HELM_RELEASE_TYPE).map((r) => renderReleaseInputs(r.inputs as ReleaseInputs)));
  const own = program.resources
    .filter((r) => r.custom && !r.read && r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:helm.sh/'))
    .map((r): RenderedObject => ({ object: programObject(r), origin: `program ${r.name}`, hooks: [] }));
  const objects = [...releases.flatMap((rel) => rel.objects), ...own]
    .sort((a, b) => objectKey(a.object).localeCompare(objectKey(b.object)));

  const reads = program.resources.filter((r) => r.read && r.type.startsWith('kubernetes:')).map((r) => {
    const [namespace, name] = r.id.includes('/') ? r.id.split('/') : [undefined, r.id];
    return { ...kindOfType(r.type), namespace, name, by: r.name };
  });
  const vms = program.ofType('gcp:compute/instance:Instance').filter((r) => r.inputs.metadata?.[metadataKeys.workload]).map(renderedVm);
  return { stack, releases, objects, reads, vms, outputs: program.outputs, gcp: gcpResources(program) };
}
