// Runs the real Pulumi program (infra/index.ts) offline, under pulumi.runtime.setMocks, with a stack's
// config, and records every resource it registers: type, name, inputs, parent, provider and dependsOn. The
// tests use it to check wiring, and `npm run render` to write what `up` would apply. Each run loads the
// program afresh, so one process can run many stacks and configs.
//
// Mocked outputs are derived from the resource's name (see MOCK_OUTPUTS), so a test can tell exactly
// which resource's output flowed into which input.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { readStackFile, stackFilePath } from '../infra/stack-file';

export const REPO_ROOT = path.resolve(__dirname, '..');
const PROGRAM = path.join(REPO_ROOT, 'infra', 'index.ts');

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  /** Inputs as the provider would get them, with secrets unwrapped (see `secretInputs`). */
  inputs: Record<string, any>;
  /** Dotted paths of the inputs that were Pulumi secrets, e.g. `registries`. */
  secretInputs: string[];
  /** Outputs the mock gave back (inputs plus MOCK_OUTPUTS). */
  state: Record<string, any>;
  id: string;
  custom: boolean;
  /** An existing object the program reads (`Resource.get`), not one it manages. */
  read?: boolean;
  parent?: string;
  /** Provider reference `urn::id`, when one was set explicitly or inherited from a parent. */
  provider?: string;
  dependsOn: string[];
}

export interface ProgramRun {
  stack: string;
  resources: RecordedResource[];
  /** The program's stack outputs, resolved. */
  outputs: Record<string, unknown>;
  ofType(type: string): RecordedResource[];
  /** The single resource of `type` (whose logical name ends with `nameSuffix`, when given). */
  one(type: string, nameSuffix?: string): RecordedResource;
  byUrn(urn: string): RecordedResource;
  /** The provider resource a resource uses, following `provider` references. */
  providerOf(r: RecordedResource): RecordedResource | undefined;
  /** Walks parents up to the root: the chain of component URNs. */
  ancestors(r: RecordedResource): RecordedResource[];
}

/** Stable fake values per resource: the same name always yields the same address, email, digest … */
export function fakeOf(kind: string, name: string): string {
  return crypto.createHash('sha256').update(`${kind}:${name}`).digest('hex');
}
export function fakeIp(name: string, prefix = '10.99'): string {
  const h = fakeOf('ip', name);
  return `${prefix}.${parseInt(h.slice(0, 2), 16)}.${(parseInt(h.slice(2, 4), 16) % 253) + 1}`;
}

/** A real (throwaway, self-signed) certificate as the mocked cluster CA, because consumers parse it. */
export const MOCK_CLUSTER_CA_PEM = fs.readFileSync(path.join(__dirname, 'mock-cluster-ca.pem'), 'utf8');

type OutputMock = (name: string, inputs: Record<string, any>) => Record<string, any>;

/** Outputs the cloud would compute, for the types whose outputs the program reads. Extend as needed. */
export const MOCK_OUTPUTS: Record<string, OutputMock> = {
  'gcp:container/cluster:Cluster': (name, i) => ({
    endpoint: fakeIp(name, '203.0'),
    // GKE reports the internal endpoint and the DNS endpoint of every cluster, private nodes or not.
    privateClusterConfig: { ...(i.privateClusterConfig ?? {}), privateEndpoint: fakeIp(`${name}-private`, '172.16') },
    controlPlaneEndpointsConfig: {
      ...(i.controlPlaneEndpointsConfig ?? {}),
      dnsEndpointConfig: { ...(i.controlPlaneEndpointsConfig?.dnsEndpointConfig ?? {}), endpoint: `gke-${fakeOf('dns', name).slice(0, 32)}.mock-region.gke.goog` },
    },
    masterAuth: { ...(i.masterAuth ?? {}), clusterCaCertificate: Buffer.from(MOCK_CLUSTER_CA_PEM).toString('base64') },
  }),
  'gcp:serviceaccount/account:Account': (_name, i) => ({
    email: `${i.accountId}@${i.project ?? 'mock-project'}.iam.gserviceaccount.com`,
  }),
  'gcp:compute/network:Network': (name) => ({ selfLink: `https://compute/networks/${name}` }),
  'gcp:compute/subnetwork:Subnetwork': (name) => ({ selfLink: `https://compute/subnetworks/${name}` }),
  'gcp:compute/instance:Instance': (name, i) => ({
    networkInterfaces: (i.networkInterfaces ?? []).map((n: Record<string, unknown>) => ({ ...n, networkIp: fakeIp(name, '10.10') })),
    selfLink: `https://compute/instances/${name}`,
  }),
  'gcp:compute/address:Address': (name, i) => ({ address: i.address ?? fakeIp(name, '10.10') }),
  'gcp:artifactregistry/repository:Repository': (name, i) => ({
    registryUri: `${i.location ?? 'mock-region'}-docker.pkg.dev/${i.project ?? 'mock-project'}/${i.repositoryId ?? name}`,
  }),
  // docker-build's ref is the first tag's repository at the pushed digest.
  'docker-build:index:Image': (name, i) => ({
    digest: `sha256:${fakeOf('digest', name)}`,
    ref: `${typeof i.tags?.[0] === 'string' ? i.tags[0].replace(/:[^:/]+$/, '') : `mock.registry/${name}`}@sha256:${fakeOf('digest', name)}`,
  }),
  'kubernetes:helm.sh/v3:Release': (_name, i) => ({
    status: { name: i.name, namespace: i.namespace, chart: i.chart, version: i.version, status: 'deployed' },
  }),
  'kubernetes:core/v1:Service': (name, i) => ({
    spec: { ...(i.spec ?? {}), clusterIP: fakeIp(name, '10.24') },
    status: i.spec?.type === 'LoadBalancer' ? { loadBalancer: { ingress: [{ ip: fakeIp(name, '10.10') }] } } : {},
  }),
};

/** Results of provider functions (invokes) the program calls. */
export const MOCK_CALLS: Record<string, (inputs: Record<string, any>) => Record<string, any>> = {
  'gcp:organizations/getClientConfig:getClientConfig': () => ({ accessToken: 'mock-access-token', project: 'mock-project' }),
};

/** A Kubernetes object read with `.get(name, "namespace/name")` has that metadata. */
function readMetadata(type: string, id: string | undefined): Record<string, any> {
  if (!id || !type.startsWith('kubernetes:')) return {};
  const [namespace, name] = id.includes('/') ? id.split('/') : [undefined, id];
  return { metadata: { name, namespace } };
}

/** Pulumi's marker for a serialized secret: `{ [SECRET_SIG]: SECRET_VALUE, value }`. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const SECRET_VALUE = '1b47061264138c4ac30d75fd1eb44270';

/** Replaces each serialized secret by its value, collecting where the secrets were. */
function unwrapSecrets(v: any, at: string, found: string[]): any {
  if (Array.isArray(v)) return v.map((x, i) => unwrapSecrets(x, `${at}[${i}]`, found));
  if (v && typeof v === 'object') {
    if (v[SECRET_SIG] === SECRET_VALUE) {
      found.push(at);
      return unwrapSecrets(v.value, at, found);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x, at ? `${at}.${k}` : k, found)]));
  }
  return v;
}

function deserializeInputs(struct: unknown): { inputs: Record<string, any>; secretInputs: string[] } {
  const secretInputs: string[] = [];
  const inputs = unwrapSecrets(pulumi.runtime.deserializeProperties(struct as any), '', secretInputs);
  return { inputs, secretInputs };
}

/** The raw config of `Pulumi.<stack>.yaml`, in the form Pulumi hands to the program. */
export function stackFileConfig(stack: string): Record<string, string> {
  return readStackFile(stackFilePath(REPO_ROOT, stack));
}

function toRawConfig(values: Record<string, unknown>): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    raw[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return raw;
}

export interface RunOptions {
  stack: string;
  /** Config replacing the stack file's keys (values as in the YAML: objects, lists, scalars); null deletes. */
  config?: Record<string, unknown>;
  /** Start from an empty config instead of the stack file. */
  noStackFile?: boolean;
  preview?: boolean;
}

function freshProgramModules(): void {
  for (const id of Object.keys(require.cache)) {
    const tooling = [`${path.sep}node_modules${path.sep}`, `${path.sep}test${path.sep}`, `${path.sep}tools${path.sep}`];
    if (id.startsWith(REPO_ROOT) && !tooling.some((dir) => id.includes(dir))) {
      delete require.cache[id];
    }
  }
}

async function settle(isIdle: () => boolean): Promise<void> {
  let quiet = 0;
  while (quiet < 20) {
    await new Promise((r) => setImmediate(r));
    quiet = isIdle() ? quiet + 1 : 0;
  }
}

/** An Output's value; rejects when anything it was computed from failed (e.g. an apply threw). */
async function resolveOutput(v: unknown): Promise<unknown> {
  // `promise()` is the SDK's own (internal) accessor; unlike `apply`, it rejects on failure.
  if (pulumi.Output.isInstance(v)) return (v as unknown as { promise(): Promise<unknown> }).promise();
  return v;
}

export async function runProgram(opts: RunOptions): Promise<ProgramRun> {
  const base = opts.noStackFile ? {} : stackFileConfig(opts.stack);
  const overrides = opts.config ?? {};
  const raw: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete raw[k];
    else Object.assign(raw, toRawConfig({ [k]: v }));
  }
  pulumi.runtime.setAllConfig(raw);

  const recorded = new Map<string, RecordedResource>();
  const pending = { count: 0 };
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const extra = MOCK_OUTPUTS[args.type]?.(args.name, args.inputs) ?? {};
        return { id: args.id || `${args.name}-id`, state: { ...readMetadata(args.type, args.id), ...args.inputs, ...extra } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return MOCK_CALLS[args.token]?.(args.inputs) ?? args.inputs;
      },
    },
    'meshscope',
    opts.stack,
    opts.preview ?? false,
  );

  // Wrap the mock monitor to see what MockResourceArgs leaves out: parent, dependsOn, provider. A
  // registration and a read (`Resource.get`) differ only in where their properties and id sit.
  const monitor = pulumi.runtime.getMonitor() as any;
  const record = (method: 'registerResource' | 'readResource', describe: (req: any, resp: any) => Partial<RecordedResource>) => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req: any, callback: (err: unknown, resp: any) => void) => {
      pending.count++;
      original(req, (err: unknown, resp: any) => {
        pending.count--;
        if (!err && resp) {
          const urn: string = resp.getUrn();
          recorded.set(urn, {
            urn, type: req.getType(), name: req.getName(), id: '', custom: true, inputs: {}, secretInputs: [], state: {},
            parent: req.getParent() || undefined, provider: req.getProvider() || undefined, dependsOn: req.getDependenciesList(),
            ...describe(req, resp),
          });
        }
        callback(err, resp);
      });
    };
  };
  const stateOf = (struct: unknown) => (struct ? pulumi.runtime.deserializeProperties(struct as any) : {});
  record('registerResource', (req, resp) => ({
    ...deserializeInputs(req.getObject()), state: stateOf(resp.getObject()), id: resp.getId(), custom: req.getCustom(),
  }));
  record('readResource', (req, resp) => ({
    ...deserializeInputs(req.getProperties()), state: stateOf(resp.getProperties()), id: req.getId(), read: true,
  }));

  // A resource whose inputs fail (an apply threw, a value was refused) surfaces only as an unhandled
  // rejection, and whatever depends on it never resolves: the first such error fails the run.
  let failRun: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => { failRun = reject; });
  const onRejection = (e: unknown) => failRun(e);
  process.on('unhandledRejection', onRejection);
  const outputs: Record<string, unknown> = {};
  try {
    freshProgramModules();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(PROGRAM) as Record<string, unknown>;
    for (const [k, v] of Object.entries(program)) outputs[k] = await Promise.race([resolveOutput(v), failed]);
    await Promise.race([settle(() => pending.count === 0), failed]);
  } finally {
    process.off('unhandledRejection', onRejection);
  }

  const resources = [...recorded.values()];
  const byUrn = (urn: string) => {
    const r = recorded.get(urn);
    if (!r) throw new Error(`no resource with URN ${urn}`);
    return r;
  };
  return {
    stack: opts.stack,
    resources,
    outputs,
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, nameSuffix) {
      const found = resources.filter((r) => r.type === type && (!nameSuffix || r.name.endsWith(nameSuffix)));
      if (found.length !== 1) {
        throw new Error(`expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ''}, found ${found.length}: ${found.map((r) => r.name).join(', ')}`);
      }
      return found[0];
    },
    byUrn,
    providerOf(r) {
      if (!r.provider) return undefined;
      // A provider reference is `<urn>::<id>`, and URNs contain `::` themselves.
      return recorded.get(r.provider.slice(0, r.provider.lastIndexOf('::')));
    },
    ancestors(r) {
      const chain: RecordedResource[] = [];
      for (let p = r.parent; p && recorded.has(p); p = recorded.get(p)!.parent) chain.push(recorded.get(p)!);
      return chain;
    },
  };
}
