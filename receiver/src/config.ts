// Settings, from flags and RECEIVER_* environment variables (flags win), each validated once; the rest
// of the receiver gets a typed ReceiverConfig. The flag and env names of the first block are relied on
// by the stack and other tools: do not rename them.
import { parseArgs } from 'node:util';
import { NODE_WITHOUT_METADATA, PEERLESS_CALLS, type NodeWithoutMetadata, type PeerlessCalls } from './analysis/analyze';
import { PROTOCOL_DETECTIONS, type ProtocolDetection } from './analysis/analyze-entry';
import { INSTANCE_PROPERTY_MODES, type InstancePropertiesMode } from './analysis/analyze-workload';
import { LOG_LEVELS, type LogLevel } from './log';

export const SINK_NAMES = ['oap', 'memory', 'jsonl'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

export interface ReceiverConfig {
  listen: string;
  admin: string;
  sink: SinkName;
  oapAddress: string | undefined;
  serviceNameRule: string | undefined;
  instanceNameRule: string | undefined;
  protocolDetection: ProtocolDetection;
  peerlessCalls: PeerlessCalls;
  instanceProperties: InstancePropertiesMode;
  nodeWithoutMetadata: NodeWithoutMetadata;
  queueCapacity: number;
  batchSize: number;
  flushIntervalMs: number;
  maxMessageBytes: number;
  maxStreams: number;
  maxStreamsPerPeer: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  oapReresolveMs: number;
  oapRetryMaxMs: number;
  oapCallsInFlight: number;
  shutdownTimeoutMs: number;
  topologyWindowSeconds: number;
  logLevel: LogLevel;
  workers: number;
  receiveWindowBytes: number;
}

type Kind =
  | { type: 'address' }
  | { type: 'grpc-target' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'int'; min: number; max: number }
  | { type: 'text' };

interface Setting {
  key: keyof ReceiverConfig;
  flag: string;
  env: string;
  kind: Kind;
  /** undefined: unset unless given (rules: the analyzer's SkyWalking defaults; oap-address: required for oap). */
  default: string | undefined;
  help: string;
}

const INT = (min: number, max: number): Kind => ({ type: 'int', min, max });

/** Every setting, in the order `--help` lists them. */
export const SETTINGS: readonly Setting[] = [
  { key: 'listen', flag: 'listen', env: 'RECEIVER_LISTEN', kind: { type: 'address' }, default: '127.0.0.1:11800',
    help: 'ALS gRPC address (host:port) Envoy streams to; loopback unless told otherwise (the Deployment sets 0.0.0.0:11800)' },
  { key: 'admin', flag: 'admin', env: 'RECEIVER_ADMIN', kind: { type: 'address' }, default: '127.0.0.1:8080',
    help: 'admin HTTP address: /healthz /readyz /metrics /api/topology; loopback unless told otherwise (then only localhost names are served); the Deployment sets 0.0.0.0:8080' },
  { key: 'sink', flag: 'sink', env: 'RECEIVER_SINK', kind: { type: 'enum', values: SINK_NAMES }, default: 'memory',
    help: 'where metrics go: oap (SkyWalking OAP), memory (topology at /api/topology), jsonl (stdout)' },
  { key: 'oapAddress', flag: 'oap-address', env: 'RECEIVER_OAP_ADDRESS', kind: { type: 'grpc-target' }, default: undefined,
    help: 'OAP gRPC target, usually port 11800: host:port, dns:///host:port (every address the name resolves to, calls spread round-robin: a headless Service gives every OAP pod) or ipv4:ip:port,ip:port; required with --sink oap' },
  { key: 'serviceNameRule', flag: 'service-name-rule', env: 'RECEIVER_SERVICE_NAME_RULE', kind: { type: 'text' },
    default: undefined, help: "service name rule, SkyWalking metadata-service-mapping syntax (default: SkyWalking's)" },
  { key: 'instanceNameRule', flag: 'instance-name-rule', env: 'RECEIVER_INSTANCE_NAME_RULE', kind: { type: 'text' },
    default: undefined, help: "instance name rule, same syntax (default: SkyWalking's, ${NAME})" },
  // Our additions to SkyWalking's analysis, each off (`skywalking`) unless chosen; receiver/README.md.
  { key: 'protocolDetection', flag: 'protocol-detection', env: 'RECEIVER_PROTOCOL_DETECTION',
    kind: { type: 'enum', values: PROTOCOL_DETECTIONS }, default: 'skywalking',
    help: 'skywalking: HTTP when the scheme starts with http, else gRPC; grpc: also gRPC by content type, grpc-status or an HTTP/2 POST to /pkg.Service/Method, and HTTP without a scheme' },
  { key: 'peerlessCalls', flag: 'peerless-calls', env: 'RECEIVER_PEERLESS_CALLS',
    kind: { type: 'enum', values: PEERLESS_CALLS }, default: 'skywalking',
    help: 'skywalking: an entry without peer metadata gives no metric (counted); upstream-host: its peer is the service host of its outbound|PORT|SUBSET|HOST cluster (never an IP address), an inbound caller UNKNOWN' },
  { key: 'instanceProperties', flag: 'instance-properties', env: 'RECEIVER_INSTANCE_PROPERTIES',
    kind: { type: 'enum', values: INSTANCE_PROPERTY_MODES }, default: 'skywalking',
    help: 'skywalking: pod and namespace; extended: also cluster_id, workload, version, istio_version, platform (the memory sink draws platforms from it)' },
  { key: 'nodeWithoutMetadata', flag: 'node-without-metadata', env: 'RECEIVER_NODE_WITHOUT_METADATA',
    kind: { type: 'enum', values: NODE_WITHOUT_METADATA }, default: 'skywalking',
    help: 'skywalking: a sidecar that sent no node metadata is named -.- / -; node-id: named from its node id (POD.NAMESPACE) and cluster' },
  { key: 'queueCapacity', flag: 'queue-capacity', env: 'RECEIVER_QUEUE_CAPACITY', kind: INT(1, 10_000_000),
    default: '50000', help: 'metrics the sink may hold while its destination is slow or away; beyond: dropped, counted' },
  { key: 'batchSize', flag: 'batch-size', env: 'RECEIVER_BATCH_SIZE', kind: INT(1, 100_000), default: '500',
    help: 'metrics per batch sent to the OAP' },
  { key: 'flushIntervalMs', flag: 'flush-interval-ms', env: 'RECEIVER_FLUSH_INTERVAL_MS', kind: INT(1, 600_000),
    default: '1000', help: 'longest a partial batch waits before it is sent' },
  { key: 'maxMessageBytes', flag: 'max-message-bytes', env: 'RECEIVER_MAX_MESSAGE_BYTES',
    kind: INT(1024, 1024 * 1024 * 1024), default: String(4 * 1024 * 1024),
    help: 'largest ALS message accepted; a bigger one fails its stream with RESOURCE_EXHAUSTED' },
  { key: 'maxStreams', flag: 'max-streams', env: 'RECEIVER_MAX_STREAMS', kind: INT(1, 1_000_000), default: '2000',
    help: 'open ALS streams allowed; more are refused with RESOURCE_EXHAUSTED' },
  // 32: an Envoy opens one stream per worker thread (Istio sidecars run 2, gateways one per core), twice
  // that while an aged connection hands its streams over; far below --max-streams, so no client takes them all.
  { key: 'maxStreamsPerPeer', flag: 'max-streams-per-peer', env: 'RECEIVER_MAX_STREAMS_PER_PEER', kind: INT(1, 1_000_000), default: '32',
    help: 'open ALS streams one client IP address may hold over all its connections; more are refused with RESOURCE_EXHAUSTED, so one client cannot take the streams of the others' },
  // Load spreading on scale-out (receiver/README.md, "Scale-out"). 5 min: a reconnect per sidecar every
  // 5 min costs nothing measurable, and a replica the HPA adds gets its share within age + grace (~6.5 min).
  { key: 'maxConnectionAgeMs', flag: 'max-connection-age-ms', env: 'RECEIVER_MAX_CONNECTION_AGE_MS', kind: INT(0, 86_400_000),
    default: '300000', help: 'ALS connections older than this (±10 %) get a GOAWAY and their streams are ended at a message boundary, so sidecars reconnect and spread over the replicas; 0: never' },
  // 90 s: must outlast the ±10 % jitter of the GOAWAY (0.2 × age = 60 s) plus a sidecar's flush interval (1 s).
  { key: 'maxConnectionAgeGraceMs', flag: 'max-connection-age-grace-ms', env: 'RECEIVER_MAX_CONNECTION_AGE_GRACE_MS',
    kind: INT(0, 86_400_000), default: '90000',
    help: 'after the GOAWAY, how long a connection may carry its streams before it is closed; at least a fifth of the age plus 1000' },
  { key: 'oapReresolveMs', flag: 'oap-reresolve-ms', env: 'RECEIVER_OAP_RERESOLVE_MS', kind: INT(1000, 3_600_000),
    default: '30000', help: 'how often a dns:/// OAP target is resolved again, so OAP pods added later take calls too' },
  // 1 s: delivery resumes within about 1.2 s of the OAP's return however long it was away; an attempt to
  // an absent OAP is one refused connection per channel.
  { key: 'oapRetryMaxMs', flag: 'oap-retry-max-ms', env: 'RECEIVER_OAP_RETRY_MAX_MS', kind: INT(100, 60_000),
    default: '1000', help: 'longest wait between attempts to reach an OAP that is away (reconnects, DNS lookups, resent calls): bounds how soon delivery resumes once it is back' },
  // 8: with 4, at (b)'s load the OAP's round trips were the limit: the queue sat at its high-water mark and
  // its batches were most of the receiver's memory (BENCHMARKS.md, round 6). Each call stays short (4 batches).
  { key: 'oapCallsInFlight', flag: 'oap-calls-in-flight', env: 'RECEIVER_OAP_CALLS_IN_FLIGHT', kind: INT(1, 64),
    default: '8', help: 'collect calls to the OAP at once (each up to 4 batches); more carry more while each waits for its answer' },
  { key: 'shutdownTimeoutMs', flag: 'shutdown-timeout-ms', env: 'RECEIVER_SHUTDOWN_TIMEOUT_MS',
    kind: INT(0, 600_000), default: '10000', help: 'on SIGTERM, how long to keep flushing the queue before exiting' },
  { key: 'topologyWindowSeconds', flag: 'topology-window-seconds', env: 'RECEIVER_TOPOLOGY_WINDOW_SECONDS',
    kind: INT(1, 3600), default: '60', help: 'window of the rates the memory sink reports' },
  { key: 'receiveWindowBytes', flag: 'receive-window-bytes', env: 'RECEIVER_RECEIVE_WINDOW_BYTES', kind: INT(65_535, 2 ** 31 - 1),
    default: String(256 * 1024), help: 'HTTP/2 receive window granted each sidecar connection; larger lets each sidecar have more in flight, and a paused stream hold as much' },
  { key: 'workers', flag: 'workers', env: 'RECEIVER_WORKERS', kind: INT(1, 64), default: '1',
    help: 'receiver processes sharing the ALS port, one per core (the Deployment sets it from its CPU limit); /metrics and /api/topology add up all of them' },
  { key: 'logLevel', flag: 'log-level', env: 'RECEIVER_LOG_LEVEL', kind: { type: 'enum', values: LOG_LEVELS },
    default: 'info', help: 'least severe log level written (JSON lines on stderr)' },
];

export class ConfigError extends Error {}

export type ParsedCommandLine = { help: true } | { help: false; config: ReceiverConfig };

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Allowed flags: ${SETTINGS.map((s) => `--${s.flag}`).join(', ')}, --help`);
  }
  if (values.help) return { help: true };

  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromFlag = values[s.flag] as string | undefined;
    const fromEnv = env[s.env] === '' ? undefined : env[s.env];
    const raw = fromFlag ?? fromEnv ?? s.default;
    const origin = fromFlag !== undefined ? `--${s.flag}` : fromEnv !== undefined ? s.env : `default of --${s.flag}`;
    config[s.key] = raw === undefined ? undefined : validate(s, raw, origin);
  }
  const result = config as unknown as ReceiverConfig;
  if (result.sink === 'oap' && !result.oapAddress) {
    throw new ConfigError('--sink oap needs the OAP address: set --oap-address or RECEIVER_OAP_ADDRESS (host:port, e.g. skywalking-oap.skywalking:11800)');
  }
  // The receiver ends an aged connection's streams from 1.1 × age on (the latest jittered GOAWAY), between
  // two of their messages (up to HANDOFF_QUIET_MS.max apart); grpc-js closes the connection at 0.9 × age +
  // grace at the earliest. So the grace must cover a fifth of the age plus that second.
  if (result.maxConnectionAgeMs > 0 && result.maxConnectionAgeGraceMs < minGraceMs(result.maxConnectionAgeMs)) {
    throw new ConfigError(`--max-connection-age-grace-ms ${result.maxConnectionAgeGraceMs} is too short for --max-connection-age-ms ${result.maxConnectionAgeMs}; allowed: at least a fifth of the age plus ${HANDOFF_QUIET_MAX_MS} ms (${minGraceMs(result.maxConnectionAgeMs)})`);
  }
  return { help: false, config: result };
}

function validate(s: Setting, raw: string, origin: string): string | number {
  const bad = (allowed: string) => new ConfigError(`${origin}: invalid value ${JSON.stringify(raw)}; allowed: ${allowed}`);
  switch (s.kind.type) {
    case 'address':
      if (!isHostPort(raw)) throw bad('host:port with a port 0-65535 (IPv6 in brackets, e.g. [::]:11800)');
      return raw;
    case 'grpc-target':
      if (!isGrpcTarget(raw)) throw bad('host:port, dns:///host:port or ipv4:ip:port[,ip:port…] (ports 0-65535)');
      return raw;
    case 'enum':
      if (!s.kind.values.includes(raw)) throw bad(s.kind.values.join(' | '));
      return raw;
    case 'int': {
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < s.kind.min || n > s.kind.max) {
        throw bad(`a whole number from ${s.kind.min} to ${s.kind.max}`);
      }
      return n;
    }
    case 'text':
      return raw;
  }
}

function isHostPort(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

/** Longest a stream of an aged connection waits for a quiet moment (server.ts HANDOFF_QUIET_MS.max). */
export const HANDOFF_QUIET_MAX_MS = 1000;

/** The shortest grace an age allows (see parseConfig). */
export function minGraceMs(maxConnectionAgeMs: number): number {
  return Math.ceil(maxConnectionAgeMs / 5) + HANDOFF_QUIET_MAX_MS;
}

/** The gRPC target forms the OAP sink accepts (grpc-js naming: dns:[//authority/]host:port, ipv4:list). */
function isGrpcTarget(value: string): boolean {
  const dns = /^dns:(?:\/\/[^/]*\/)?(.*)$/.exec(value);
  if (dns) return isHostPort(dns[1]!);
  if (value.startsWith('ipv4:')) {
    return value.slice(5).split(',').every((a) => /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(a) && isHostPort(a));
  }
  return isHostPort(value);
}

export function helpText(): string {
  const lines = [
    'Usage: node receiver/dist/main.js [flags]',
    '',
    'Envoy ALS v3 receiver: Istio metadata-exchange analysis into SkyWalking service-mesh metrics.',
    'Every flag has an environment variable; the flag wins when both are set.',
    '',
  ];
  const width = Math.max(...SETTINGS.map((s) => s.flag.length)) + 10;
  for (const s of SETTINGS) {
    lines.push(`  --${`${s.flag} <value>`.padEnd(width)} ${s.help}`);
    lines.push(`    ${''.padEnd(width)} env ${s.env}${s.default !== undefined ? `, default ${s.default}` : ''}`);
  }
  lines.push(`  --${'help'.padEnd(width)} this text`);
  return lines.join('\n') + '\n';
}

/** Splits a validated host:port (IPv6 brackets removed) for node:http's listen. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}
