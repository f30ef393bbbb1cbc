// Every setting of a stack, read once and validated here; the rest of the program imports typed values.
// Pulumi keeps config as strings (objects as JSON); `parseStackConfig` is pure so tests can feed it raw
// values, and `readStackConfig` is the one place that talks to pulumi.Config.
import * as pulumi from '@pulumi/pulumi';
import { BOUTIQUE_SERVICES } from '../catalog/src/online-boutique';

export type ReleaseChannel = 'RAPID' | 'REGULAR' | 'STABLE' | 'EXTENDED';
export type VmProtocol = 'grpc' | 'http' | 'tcp';
export type AlsTarget = 'receiver' | 'oap';
export type OapStorage = 'banyandb' | 'elasticsearch' | 'postgresql';

export interface VmWorkloadConfig {
  /** Online Boutique service that runs on a VM instead of a pod, e.g. `checkoutservice`. */
  name: string;
  /** The port the service listens on (and its Kubernetes Service exposes). */
  port: number;
  protocol: VmProtocol;
  /** GCE machine type of its VM. */
  machineType: string;
}

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
  versions: { istio: string; skywalking: string; skywalkingChart: string; onlineBoutique: string };
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

/** Raw values as Pulumi holds them: `namespace:key` → string (objects and lists as JSON). */
export type RawConfig = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const RELEASE_CHANNELS: readonly ReleaseChannel[] = ['RAPID', 'REGULAR', 'STABLE', 'EXTENDED'];
const VM_PROTOCOLS: readonly VmProtocol[] = ['grpc', 'http', 'tcp'];
const ALS_TARGETS: readonly AlsTarget[] = ['receiver', 'oap'];
const OAP_STORAGES: readonly OapStorage[] = ['banyandb', 'elasticsearch', 'postgresql'];

// GCP's own formats, so a typo fails here rather than minutes into `pulumi up`.
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const MACHINE_TYPE = /^[a-z][a-z0-9]*-[a-z0-9-]+$/;
const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;
const BOUTIQUE_VERSION = /^v\d+\.\d+\.\d+$/;
const SERVICE_NAME = /^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/;
/** Istio removed the in-cluster operator in 1.24; we install from its Helm charts, which need 1.24+. */
const MIN_ISTIO_MINOR = 24;

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

  list(key: string): unknown[] | undefined {
    const text = this.raw[key];
    if (text === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v)) return v;
    } catch {
      /* reported below */
    }
    this.fail(key, text, 'expected a list');
    return [];
  }

  string(key: string, value: unknown, pattern: RegExp, allowed: string, dflt?: string): string {
    if (value === undefined && dflt !== undefined) return dflt;
    if (typeof value === 'string' && pattern.test(value)) return value;
    this.fail(key, value, allowed);
    return dflt ?? '';
  }

  oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], dflt?: T): T {
    if (value === undefined && dflt !== undefined) return dflt;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.fail(key, value, `allowed: ${allowed.join(', ')}`);
    return dflt ?? allowed[0];
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
      if (!keys.includes(k)) this.fail(`${key}.${k}`, obj[k], `unknown setting; allowed: ${keys.join(', ')}`);
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

function overlaps(a: string, b: string): boolean {
  const ra = parseCidr(a);
  const rb = parseCidr(b);
  return !!ra && !!rb && ra[0] <= rb[1] && rb[0] <= ra[1];
}

export function parseStackConfig(raw: RawConfig, stack: string): StackConfig {
  const r = new Reader(raw);

  const gcp = {
    project: r.string('gcp:project', raw['gcp:project'], PROJECT_ID, 'allowed: a GCP project ID (6-30 lowercase letters, digits, hyphens)'),
    region: r.string('gcp:region', raw['gcp:region'], REGION, 'allowed: a GCP region such as europe-west1'),
    zone: '',
  };
  const zone = raw['gcp:zone'];
  if (typeof zone === 'string' && zone.startsWith(`${gcp.region}-`) && /^[a-z]$/.test(zone.slice(gcp.region.length + 1))) {
    gcp.zone = zone;
  } else {
    r.fail('gcp:zone', zone, `allowed: a zone of region ${JSON.stringify(gcp.region)}, such as ${gcp.region}-b`);
  }

  const net = r.object('meshscope:network');
  r.known('meshscope:network', net, ['subnetCidr', 'podsCidr', 'servicesCidr', 'masterCidr']);
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

  const cl = r.object('meshscope:cluster');
  r.known('meshscope:cluster', cl, ['machineType', 'nodeCount', 'privateNodes', 'releaseChannel', 'deletionProtection']);
  const cluster = {
    machineType: r.string('meshscope:cluster.machineType', cl.machineType, MACHINE_TYPE, 'allowed: a GCE machine type such as e2-standard-4', 'e2-standard-4'),
    nodeCount: r.int('meshscope:cluster.nodeCount', cl.nodeCount, 1, 100, 3),
    privateNodes: r.bool('meshscope:cluster.privateNodes', cl.privateNodes, false),
    releaseChannel: r.oneOf('meshscope:cluster.releaseChannel', cl.releaseChannel, RELEASE_CHANNELS, 'REGULAR'),
    deletionProtection: r.bool('meshscope:cluster.deletionProtection', cl.deletionProtection, false),
  };

  const ver = r.object('meshscope:versions');
  r.known('meshscope:versions', ver, ['istio', 'skywalking', 'skywalkingChart', 'onlineBoutique']);
  const versions = {
    istio: r.string('meshscope:versions.istio', ver.istio, SEMVER, 'allowed: an Istio release X.Y.Z, 1.24.0 or later', '1.30.3'),
    skywalking: r.string('meshscope:versions.skywalking', ver.skywalking, SEMVER, 'allowed: an Apache SkyWalking OAP release X.Y.Z', '10.4.0'),
    skywalkingChart: r.string('meshscope:versions.skywalkingChart', ver.skywalkingChart, SEMVER, 'allowed: an apache/skywalking-helm chart release X.Y.Z', '4.9.0'),
    onlineBoutique: r.string('meshscope:versions.onlineBoutique', ver.onlineBoutique, BOUTIQUE_VERSION, 'allowed: an Online Boutique release tag vX.Y.Z', 'v0.10.6'),
  };
  const istio = SEMVER.exec(versions.istio);
  if (istio && (Number(istio[1]) !== 1 || Number(istio[2]) < MIN_ISTIO_MINOR)) {
    r.fail('meshscope:versions.istio', versions.istio, `allowed: 1.${MIN_ISTIO_MINOR}.0 or later (installed from Istio's Helm charts; the in-cluster operator is gone since 1.24)`);
  }

  const obs = r.object('meshscope:observability');
  r.known('meshscope:observability', obs, ['alsTarget', 'oapReplicas', 'oapStorage', 'receiverReplicas', 'receiverMaxReplicas']);
  const observability = {
    alsTarget: r.oneOf('meshscope:observability.alsTarget', obs.alsTarget, ALS_TARGETS, 'receiver'),
    oapReplicas: r.int('meshscope:observability.oapReplicas', obs.oapReplicas, 1, 20, 1),
    oapStorage: r.oneOf('meshscope:observability.oapStorage', obs.oapStorage, OAP_STORAGES, 'banyandb'),
    receiverReplicas: r.int('meshscope:observability.receiverReplicas', obs.receiverReplicas, 1, 50, 1),
    receiverMaxReplicas: r.int('meshscope:observability.receiverMaxReplicas', obs.receiverMaxReplicas, 1, 100, 3),
  };
  if (observability.receiverMaxReplicas < observability.receiverReplicas) {
    r.fail('meshscope:observability.receiverMaxReplicas', observability.receiverMaxReplicas, `allowed: at least receiverReplicas (${observability.receiverReplicas})`);
  }

  const vmWorkloads: VmWorkloadConfig[] = [];
  const rows = r.list('meshscope:vmWorkloads');
  if (rows === undefined) {
    r.fail('meshscope:vmWorkloads', undefined, 'allowed: a list of {name, port, protocol, machineType} (may be empty)');
  }
  (rows ?? []).forEach((row, i) => {
    const key = `meshscope:vmWorkloads[${i}]`;
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      r.fail(key, row, 'allowed: an object {name, port, protocol, machineType}');
      return;
    }
    const o = row as Record<string, unknown>;
    r.known(key, o, ['name', 'port', 'protocol', 'machineType']);
    vmWorkloads.push({
      name: r.string(`${key}.name`, o.name, SERVICE_NAME, 'allowed: a DNS-label service name such as checkoutservice'),
      port: r.int(`${key}.port`, o.port, 1, 65535),
      protocol: r.oneOf(`${key}.protocol`, o.protocol, VM_PROTOCOLS),
      machineType: r.string(`${key}.machineType`, o.machineType, MACHINE_TYPE, 'allowed: a GCE machine type such as e2-small', 'e2-small'),
    });
  });
  // A VM runs an Online Boutique image that others call by name: it must be one of those services.
  const movable = BOUTIQUE_SERVICES.filter((s) => s.addressEnv !== undefined);
  vmWorkloads.forEach((w, i) => {
    const svc = movable.find((s) => s.name === w.name);
    if (w.name && !svc) {
      r.fail(`meshscope:vmWorkloads[${i}].name`, w.name, `allowed: an Online Boutique service others call: ${movable.map((s) => s.name).join(', ')}`);
    } else if (svc && w.port && w.port !== svc.containerPort) {
      r.fail(`meshscope:vmWorkloads[${i}].port`, w.port, `allowed: ${svc.containerPort}, the port ${svc.name} listens on`);
    }
  });
  const seen = new Set<string>();
  for (const w of vmWorkloads) {
    if (seen.has(w.name)) r.fail('meshscope:vmWorkloads', w.name, 'listed twice; allowed: each service once');
    seen.add(w.name);
  }

  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { stack, gcp, network, cluster, versions, observability, vmWorkloads };
}

/** The keys this program reads, by namespace; `readStackConfig` asks pulumi.Config for exactly these. */
export const CONFIG_KEYS = {
  gcp: ['project', 'region', 'zone'],
  meshscope: ['network', 'cluster', 'versions', 'observability', 'vmWorkloads'],
} as const;

export function readStackConfig(): StackConfig {
  const raw: RawConfig = {};
  for (const [ns, keys] of Object.entries(CONFIG_KEYS)) {
    const cfg = new pulumi.Config(ns);
    for (const key of keys) raw[`${ns}:${key}`] = cfg.get(key);
  }
  return parseStackConfig(raw, pulumi.getStack());
}
