// Every setting of a stack, read once and validated here; the rest of the program imports typed values.
// Pulumi keeps config as strings (objects as JSON); `parseStackConfig` is pure so tests can feed it raw
// values, and `readStackConfig` is the one place that reads Pulumi's config (every `meshscope:` key, to refuse unknown ones).
import * as pulumi from '@pulumi/pulumi';
import { BOUTIQUE_SERVICES } from '../catalog/src/online-boutique';
import { ISTIO_RELEASES, ONLINE_BOUTIQUE_RELEASES, SKYWALKING_RELEASES } from './charts';
import { GCP_REGIONS, zonesOf } from './gcp-locations';
import { machineTypesIn } from './machine-types';
import { nearestName } from './nearest-name';

export type ReleaseChannel = 'RAPID' | 'REGULAR' | 'STABLE' | 'EXTENDED';
export type VmProtocol = 'grpc' | 'http' | 'tcp';
export type AlsTarget = 'receiver' | 'oap';
/** OAP's storage: BanyanDB, the one storage subchart the chart cache holds, so the only one rendered and
 * tested here (the published chart's Elasticsearch and PostgreSQL subcharts are kept off). */
export type OapStorage = 'banyandb';

export interface VmWorkloadConfig {
  /** Online Boutique service that runs on a VM instead of a pod, e.g. `checkoutservice`. */
  name: string;
  /** The port the service listens on (and its Kubernetes Service exposes); default: the catalog's, its only valid value. */
  port: number;
  /** Default: the catalog's, its only valid value. */
  protocol: VmProtocol;
  /** GCE machine type of its VM (default e2-small). */
  machineType: string;
}

/** The VM workloads of a stack that names none: the two services the seed ran on VMs. */
export const DEFAULT_VM_WORKLOADS: readonly { name: string; machineType: string }[] = [
  { name: 'checkoutservice', machineType: 'e2-small' },
  { name: 'paymentservice', machineType: 'e2-small' },
];

export interface StackConfig {
  stack: string;
  gcp: { project: string; region: string; zone: string };
  network: { subnetCidr: string; podsCidr: string; servicesCidr: string; masterCidr: string };
  cluster: {
    machineType: string;
    nodeCount: number;
    privateNodes: boolean;
    releaseChannel: ReleaseChannel;
    /** Refuse `pulumi destroy` of the cluster (on for prod). */
    deletionProtection: boolean;
  };
  versions: {
    istio: string; skywalking: string; skywalkingChart: string; onlineBoutique: string;
    /** SHA-256 the VMs require of istio-sidecar.deb; '' trusts the .sha256 file the release publishes next to it. */
    istioSidecarSha256: string;
  };
  observability: {
    /** Where sidecars send ALS: our receiver (which forwards metrics to OAP) or OAP's own mx-mesh analysis. */
    alsTarget: AlsTarget;
    oapReplicas: number;
    oapStorage: OapStorage;
    receiverReplicas: number;
    receiverMaxReplicas: number;
  };
  vmWorkloads: VmWorkloadConfig[];
}

/** The keys this program reads, by namespace (`gcp:` holds provider settings too, which are not ours to judge). */
export const CONFIG_KEYS = {
  gcp: ['project', 'region', 'zone'],
  meshscope: ['network', 'cluster', 'versions', 'observability', 'vmWorkloads'],
} as const;

/** Raw values as Pulumi holds them: `namespace:key` → string (objects and lists as JSON). */
export type RawConfig = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[], stack?: string) {
    // Names the file the settings come from, so the user knows where to fix them.
    super(`invalid stack configuration${stack ? ` (Pulumi.${stack}.yaml)` : ''}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const RELEASE_CHANNELS: readonly ReleaseChannel[] = ['RAPID', 'REGULAR', 'STABLE', 'EXTENDED'];
const VM_PROTOCOLS: readonly VmProtocol[] = ['grpc', 'http', 'tcp'];
const ALS_TARGETS: readonly AlsTarget[] = ['receiver', 'oap'];
/** Only BanyanDB: Elasticsearch and PostgreSQL cannot be rendered or tested here and are being dropped. */
const OAP_STORAGES: readonly OapStorage[] = ['banyandb'];

// GCP's own formats, so a typo fails here rather than minutes into `pulumi up`.
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const SERVICE_NAME = /^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/;
/** GCE's smallest subnet primary range. */
const MAX_SUBNET_PREFIX = 29;
/** GKE gives each node a /24 of the pods range at the default 110 pods per node. */
const NODE_POD_PREFIX = 24;
/** RFC 1918: GKE's control plane range must be private. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

/** The settings of each `meshscope:` key that holds an object, in the order the README lists them. */
export const SETTINGS = {
  network: ['subnetCidr', 'podsCidr', 'servicesCidr', 'masterCidr'],
  cluster: ['machineType', 'nodeCount', 'privateNodes', 'releaseChannel', 'deletionProtection'],
  versions: ['istio', 'skywalking', 'skywalkingChart', 'onlineBoutique', 'istioSidecarSha256'],
  observability: ['alsTarget', 'oapReplicas', 'oapStorage', 'receiverReplicas', 'receiverMaxReplicas'],
  vmWorkload: ['name', 'port', 'protocol', 'machineType'],
} as const;

/** `allowed: …` naming the nearest known name when there is one, for a value that is not in `known`. */
function unknownName(value: string, known: readonly string[]): string {
  const near = nearestName(value, known);
  return `unknown setting${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${known.join(', ')}`;
}

/** Reads typed values out of one raw map, collecting every problem instead of stopping at the first. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly raw: RawConfig) {}

  fail(key: string, value: unknown, allowed: string): undefined {
    this.problems.push(`${key}: ${value === undefined ? 'missing' : `got ${JSON.stringify(value)}`}; ${allowed}`);
    return undefined;
  }

  object(key: string): Record<string, unknown> {
    const text = this.raw[key];
    if (text === undefined) return {};
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    this.fail(key, text, 'expected an object of settings');
    return {};
  }

  /** The list under `key`; undefined when absent, null when it is not a list (reported). */
  list(key: string): unknown[] | undefined | null {
    const text = this.raw[key];
    if (text === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v)) return v;
    } catch {
      /* reported below */
    }
    this.fail(key, text, 'expected a list');
    return null;
  }

  string(key: string, value: unknown, pattern: RegExp, allowed: string, dflt?: string): string {
    if (value === undefined && dflt !== undefined) return dflt;
    if (typeof value === 'string' && pattern.test(value)) return value;
    this.fail(key, value, allowed);
    return dflt ?? '';
  }

  oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], dflt?: T, what?: string): T {
    if (value === undefined && dflt !== undefined) return dflt;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    const near = typeof value === 'string' && allowed.length > 3 ? ` (did you mean "${nearestName(value, allowed)}"?)` : '';
    this.fail(key, value, `allowed${what ? ` ${what}` : ''}: ${allowed.join(', ')}${near}`);
    return dflt ?? allowed[0];
  }

  /** A machine type from the table of infra/machine-types.ts for the region, naming the nearest on a typo. */
  machineType(key: string, value: unknown, region: string, dflt: string): string {
    if (value === undefined) return dflt;
    const known = machineTypesIn(region);
    if (typeof value === 'string' && known.includes(value)) return value;
    const near = typeof value === 'string' ? nearestName(value, known) : undefined;
    this.fail(key, value, `allowed: a Compute Engine machine type offered in ${region || 'gcp:region'} (infra/machine-types.ts)${near ? `; did you mean "${near}"?` : ''}`);
    return dflt;
  }

  int(key: string, value: unknown, min: number, max: number, dflt?: number): number {
    if (value === undefined && dflt !== undefined) return dflt;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.fail(key, value, `allowed: a whole number from ${min} to ${max}`);
    return dflt ?? min;
  }

  bool(key: string, value: unknown, dflt: boolean): boolean {
    if (value === undefined) return dflt;
    if (typeof value === 'boolean') return value;
    this.fail(key, value, 'allowed: true or false');
    return dflt;
  }

  cidr(key: string, value: unknown, dflt: string): string {
    const v = value === undefined ? dflt : value;
    if (typeof v === 'string' && parseCidr(v)) return v;
    this.fail(key, value, 'allowed: an IPv4 CIDR such as 10.10.0.0/20 (address aligned to its prefix)');
    return dflt;
  }

  /** Flags keys inside an object that this program does not know, so typos do not pass silently. */
  known(key: string, obj: Record<string, unknown>, keys: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!keys.includes(k)) this.fail(`${key}.${k}`, obj[k], unknownName(k, keys));
    }
  }

  /** Flags `namespace:key` settings the program does not read (a misspelt key would otherwise fall back to defaults). */
  knownTopLevel(namespace: string, keys: readonly string[]): void {
    for (const full of Object.keys(this.raw)) {
      if (!full.startsWith(`${namespace}:`) || this.raw[full] === undefined) continue;
      const k = full.slice(namespace.length + 1);
      // The value is not repeated: a misspelt key may hold a secret.
      if (!keys.includes(k)) this.problems.push(`${full}: ${unknownName(`${namespace}:${k}`, keys.map((x) => `${namespace}:${x}`))}`);
    }
  }
}

/** Parses `a.b.c.d/n` into a [first, last] address range; undefined when malformed or unaligned. */
export function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) return undefined;
  return [addr, addr + size - 1];
}

function prefixOf(cidr: string): number {
  return parseCidr(cidr) ? Number(cidr.split('/')[1]) : 0;
}

/** True when range `inner` lies wholly inside range `outer`. */
function within(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return !!a && !!b && b[0] <= a[0] && a[1] <= b[1];
}

/** The last version of a pinned table (tables list oldest first), the default when a stack names none. */
function newest(versions: readonly string[]): string {
  return versions[versions.length - 1];
}

function overlaps(a: string, b: string): boolean {
  const ra = parseCidr(a);
  const rb = parseCidr(b);
  return !!ra && !!rb && ra[0] <= rb[1] && rb[0] <= ra[1];
}

export function parseStackConfig(raw: RawConfig, stack: string): StackConfig {
  const r = new Reader(raw);

  r.knownTopLevel('meshscope', CONFIG_KEYS.meshscope);

  const gcp = {
    project: r.string('gcp:project', raw['gcp:project'], PROJECT_ID, 'allowed: a GCP project ID (6-30 lowercase letters, digits, hyphens)'),
    region: r.oneOf('gcp:region', raw['gcp:region'], GCP_REGIONS, undefined, 'a Compute Engine region (infra/gcp-locations.ts)'),
    zone: '',
  };
  const zone = raw['gcp:zone'];
  const regionZones = zonesOf(gcp.region);
  if (typeof zone === 'string' && regionZones.includes(zone)) {
    gcp.zone = zone;
  } else if (raw['gcp:region'] === gcp.region) {
    r.fail('gcp:zone', zone, `allowed: a zone of region ${gcp.region}: ${regionZones.join(', ')}`);
  } else if (!(typeof zone === 'string' && GCP_REGIONS.some((g) => zonesOf(g).includes(zone)))) {
    r.fail('gcp:zone', zone, 'allowed: a Compute Engine zone of gcp:region, such as europe-west1-b (set a valid gcp:region first)');
  }

  const cl = r.object('meshscope:cluster');
  r.known('meshscope:cluster', cl, SETTINGS.cluster);
  const cluster = {
    machineType: r.machineType('meshscope:cluster.machineType', cl.machineType, gcp.region, 'e2-standard-4'),
    nodeCount: r.int('meshscope:cluster.nodeCount', cl.nodeCount, 1, 100, 3),
    privateNodes: r.bool('meshscope:cluster.privateNodes', cl.privateNodes, false),
    releaseChannel: r.oneOf('meshscope:cluster.releaseChannel', cl.releaseChannel, RELEASE_CHANNELS, 'REGULAR'),
    deletionProtection: r.bool('meshscope:cluster.deletionProtection', cl.deletionProtection, false),
  };

  const net = r.object('meshscope:network');
  r.known('meshscope:network', net, SETTINGS.network);
  const network = {
    subnetCidr: r.cidr('meshscope:network.subnetCidr', net.subnetCidr, '10.10.0.0/20'),
    podsCidr: r.cidr('meshscope:network.podsCidr', net.podsCidr, '10.20.0.0/14'),
    servicesCidr: r.cidr('meshscope:network.servicesCidr', net.servicesCidr, '10.24.0.0/20'),
    masterCidr: r.cidr('meshscope:network.masterCidr', net.masterCidr, '172.16.0.32/28'),
  };
  const ranges = Object.entries(network);
  ranges.forEach(([ka, a], i) =>
    ranges.slice(i + 1).forEach(([kb, b]) => {
      if (overlaps(a, b)) r.fail(`meshscope:network.${kb}`, b, `overlaps ${ka} "${a}"; allowed: ranges that do not overlap`);
    }),
  );
  if (network.masterCidr && !network.masterCidr.endsWith('/28')) {
    r.fail('meshscope:network.masterCidr', network.masterCidr, "allowed: a /28 range (GKE's control plane needs exactly /28)");
  }
  if (parseCidr(network.masterCidr) && !PRIVATE_RANGES.some((p) => within(network.masterCidr, p))) {
    r.fail('meshscope:network.masterCidr', network.masterCidr, `allowed: a private (RFC 1918) range inside ${PRIVATE_RANGES.join(', ')}`);
  }
  if (prefixOf(network.subnetCidr) > MAX_SUBNET_PREFIX) {
    r.fail('meshscope:network.subnetCidr', network.subnetCidr, `allowed: /${MAX_SUBNET_PREFIX} or larger (GCE's smallest subnet)`);
  }
  // Room for a /24 per node, so the node pool can be scaled to nodeCount.
  const podsPrefixMax = NODE_POD_PREFIX - Math.ceil(Math.log2(cluster.nodeCount));
  if (prefixOf(network.podsCidr) > podsPrefixMax) {
    r.fail('meshscope:network.podsCidr', network.podsCidr,
      `allowed: /${podsPrefixMax} or larger (GKE gives each of the ${cluster.nodeCount} nodes a /${NODE_POD_PREFIX} of pod addresses)`);
  }

  // Versions only from the pinned tables of infra/charts.ts: a chart that is not pinned has not been rendered.
  const ver = r.object('meshscope:versions');
  r.known('meshscope:versions', ver, SETTINGS.versions);
  const pinned = 'pinned in infra/charts.ts';
  const istioVersions = Object.keys(ISTIO_RELEASES);
  const chartVersions = Object.keys(SKYWALKING_RELEASES);
  const boutiqueVersions = Object.keys(ONLINE_BOUTIQUE_RELEASES);
  const skywalkingChart = r.oneOf('meshscope:versions.skywalkingChart', ver.skywalkingChart, chartVersions, newest(chartVersions), `(apache/skywalking-helm charts ${pinned})`);
  const oapVersion = SKYWALKING_RELEASES[skywalkingChart]?.oapVersion;
  const versions = {
    istio: r.oneOf('meshscope:versions.istio', ver.istio, istioVersions, newest(istioVersions), `(Istio releases ${pinned})`),
    skywalking: r.oneOf('meshscope:versions.skywalking', ver.skywalking, oapVersion ? [oapVersion] : [], oapVersion,
      `(the OAP release chart ${skywalkingChart} is pinned with in infra/charts.ts)`),
    skywalkingChart,
    onlineBoutique: r.oneOf('meshscope:versions.onlineBoutique', ver.onlineBoutique, boutiqueVersions, newest(boutiqueVersions), `(Online Boutique releases ${pinned})`),
    // Pins the package beyond TLS and the release's own checksum file (which lives in the same bucket as the .deb).
    istioSidecarSha256: r.string('meshscope:versions.istioSidecarSha256', ver.istioSidecarSha256, /^([0-9a-f]{64})?$/,
      'allowed: 64 lowercase hex digits, the SHA-256 of istio-sidecar.deb of meshscope:versions.istio (its .sha256 file in the release bucket), or empty/unset', ''),
  };

  const obs = r.object('meshscope:observability');
  r.known('meshscope:observability', obs, SETTINGS.observability);
  const observability = {
    alsTarget: r.oneOf('meshscope:observability.alsTarget', obs.alsTarget, ALS_TARGETS, 'receiver'),
    oapReplicas: r.int('meshscope:observability.oapReplicas', obs.oapReplicas, 1, 20, 1),
    oapStorage: r.oneOf('meshscope:observability.oapStorage', obs.oapStorage, OAP_STORAGES, 'banyandb'),
    receiverReplicas: r.int('meshscope:observability.receiverReplicas', obs.receiverReplicas, 1, 50, 1),
    receiverMaxReplicas: r.int('meshscope:observability.receiverMaxReplicas', obs.receiverMaxReplicas, 1, 100, 3),
  };
  // The chart spreads more than one OAP replica with hard anti-affinity: one per node, or some never start.
  if (observability.oapReplicas > 1 && observability.oapReplicas > cluster.nodeCount) {
    r.fail('meshscope:observability.oapReplicas', observability.oapReplicas,
      `allowed: at most meshscope:cluster.nodeCount (${cluster.nodeCount}); replicas are spread one per node (hard anti-affinity)`);
  }
  if (observability.receiverMaxReplicas < observability.receiverReplicas) {
    r.fail('meshscope:observability.receiverMaxReplicas', observability.receiverMaxReplicas, `allowed: at least receiverReplicas (${observability.receiverReplicas})`);
  }

  const vmWorkloads: VmWorkloadConfig[] = [];
  const listed = r.list('meshscope:vmWorkloads');
  if (listed?.length === 0) {
    // Empty, the VM firewall rules would have no ports, which GCE reads as every port.
    r.fail('meshscope:vmWorkloads', listed, 'allowed: a list of one or more {name, machineType, port, protocol} (the mesh is hybrid: at least one service runs on a VM)');
  }
  const rows: unknown[] = listed === undefined ? DEFAULT_VM_WORKLOADS.map((w) => ({ ...w })) : (listed ?? []);
  // A VM runs an Online Boutique image (from the release registry) that others call by name.
  const movable = BOUTIQUE_SERVICES.filter((s) => s.addressEnv !== undefined && 'boutique' in s.image);
  rows.forEach((row, i) => {
    const key = `meshscope:vmWorkloads[${i}]`;
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      r.fail(key, row, 'allowed: an object {name, machineType, port, protocol} (port and protocol default to the catalog\'s)');
      return;
    }
    const o = row as Record<string, unknown>;
    r.known(key, o, SETTINGS.vmWorkload);
    const name = r.string(`${key}.name`, o.name, SERVICE_NAME, 'allowed: a DNS-label service name such as checkoutservice');
    const svc = movable.find((s) => s.name === name);
    if (name && !svc) {
      r.fail(`${key}.name`, name, `allowed: an Online Boutique service others call and whose release image a VM runs: ${movable.map((s) => s.name).join(', ')}`);
    }
    // Port and protocol each have one valid value, the catalog's: they default to it, and a stack that
    // states them must agree.
    const port = r.int(`${key}.port`, o.port, 1, 65535, svc?.containerPort);
    const protocol = r.oneOf(`${key}.protocol`, o.protocol, VM_PROTOCOLS, svc?.protocol as VmProtocol | undefined);
    if (svc && o.port !== undefined && port !== svc.containerPort && Number.isInteger(o.port)) {
      r.fail(`${key}.port`, port, `allowed: ${svc.containerPort}, the port ${svc.name} listens on`);
    }
    if (svc && o.protocol !== undefined && protocol !== svc.protocol && VM_PROTOCOLS.includes(protocol)) {
      r.fail(`${key}.protocol`, protocol, `allowed: ${svc.protocol}, the protocol ${svc.name} speaks`);
    }
    vmWorkloads.push({
      name, port, protocol,
      machineType: r.machineType(`${key}.machineType`, o.machineType, gcp.region, 'e2-small'),
    });
  });
  const seen = new Set<string>();
  for (const w of vmWorkloads) {
    if (seen.has(w.name)) r.fail('meshscope:vmWorkloads', w.name, 'listed twice; allowed: each service once');
    seen.add(w.name);
  }

  if (r.problems.length > 0) throw new ConfigError(r.problems, stack);
  return { stack, gcp, network, cluster, versions, observability, vmWorkloads };
}

export function readStackConfig(): StackConfig {
  const raw: RawConfig = {};
  for (const key of CONFIG_KEYS.gcp) raw[`gcp:${key}`] = new pulumi.Config('gcp').get(key);
  // Every key of our namespace, read or not, so a misspelt one is refused rather than ignored.
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith('meshscope:')) raw[key] = value;
  }
  return parseStackConfig(raw, pulumi.getStack());
}
