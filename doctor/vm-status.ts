// The status document a VM writes to its GCE guest attributes (vm-bootstrap/status-report.sh) and the
// doctor reads back through the Compute API: one typed schema, so writer and reader agree by construction.
// It holds states, names, addresses and times only, never a token or key.
import Ajv from 'ajv';

/** Guest attribute namespace and key: one key per VM, because guest attributes allow few writes a minute. */
export const VM_STATUS_NAMESPACE = 'meshscope';
export const VM_STATUS_KEY = 'status';
export const VM_STATUS_SCHEMA = 'meshscope.vm-status/v1';

export interface VmStatus {
  schema: typeof VM_STATUS_SCHEMA;
  workload: string;
  /** When the VM wrote this document (UTC, RFC 3339 to the second). */
  reportedAt: string;
  /** How the last bootstrap run ended, as its caller told the reporter. */
  bootstrap: { phase: string; exitCode: number; lastError: string | null };
  /** The istio-token file's modification time (when bootstrap last minted it) and its JWT's exp; null when there is none. */
  token: { mintedAt: string | null; expiresAt: string | null };
  /** istiod's name as the VM resolves it (it must be the east-west gateway's IP) and a TCP connect to it. */
  istiod: { host: string; expectedIp: string; resolvedIp: string | null; port: number; reachable: boolean };
  /** Each callee's cluster name, resolved on the VM (the sidecar's DNS capture answers these). */
  dns: { host: string; resolvedIp: string | null }[];
  /** The sidecar's clusters (Envoy admin /clusters) for each callee: `outbound|port||host`. */
  sidecar: { adminReachable: boolean; clusters: { name: string; present: boolean; endpoints: number; healthy: number }[] };
  /** systemd units of the mesh and the workload, with their ActiveState. */
  units: { name: string; activeState: string }[];
  /** Envoy's ALS cluster (`envoy_accesslog_service`): active connections to the receiver's address. */
  als: { address: string; activeConnections: number };
}

const RFC3339_SECONDS = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$';
const text = { type: 'string', minLength: 1, maxLength: 253 } as const;
const count = { type: 'integer', minimum: 0 } as const;

/** The JSON Schema of VmStatus; the writer's test and the reader both validate with it. */
export const vmStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['schema', 'workload', 'reportedAt', 'bootstrap', 'token', 'istiod', 'dns', 'sidecar', 'units', 'als'],
  properties: {
    schema: { type: 'string', const: VM_STATUS_SCHEMA },
    workload: text,
    reportedAt: { type: 'string', pattern: RFC3339_SECONDS },
    bootstrap: {
      type: 'object', additionalProperties: false, required: ['phase', 'exitCode', 'lastError'],
      properties: {
        phase: text,
        exitCode: { type: 'integer', minimum: 0, maximum: 255 },
        lastError: { type: 'string', maxLength: 1024, nullable: true },
      },
    },
    token: {
      type: 'object', additionalProperties: false, required: ['mintedAt', 'expiresAt'],
      properties: {
        mintedAt: { type: 'string', pattern: RFC3339_SECONDS, nullable: true },
        expiresAt: { type: 'string', pattern: RFC3339_SECONDS, nullable: true },
      },
    },
    istiod: {
      type: 'object', additionalProperties: false, required: ['host', 'expectedIp', 'resolvedIp', 'port', 'reachable'],
      properties: {
        host: text, expectedIp: text, resolvedIp: { ...text, nullable: true },
        port: { type: 'integer', minimum: 1, maximum: 65535 }, reachable: { type: 'boolean' },
      },
    },
    dns: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['host', 'resolvedIp'],
        properties: { host: text, resolvedIp: { ...text, nullable: true } },
      },
    },
    sidecar: {
      type: 'object', additionalProperties: false, required: ['adminReachable', 'clusters'],
      properties: {
        adminReachable: { type: 'boolean' },
        clusters: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['name', 'present', 'endpoints', 'healthy'],
            properties: { name: { type: 'string', minLength: 1, maxLength: 300 }, present: { type: 'boolean' }, endpoints: count, healthy: count },
          },
        },
      },
    },
    units: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'activeState'],
        properties: { name: text, activeState: text },
      },
    },
    als: {
      type: 'object', additionalProperties: false, required: ['address', 'activeConnections'],
      properties: { address: text, activeConnections: count },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile<VmStatus>(vmStatusSchema);

/** The document, typed, or an error naming each field that breaks the schema. */
export function parseVmStatus(json: string, where: string): VmStatus {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`${where}: the status is not JSON (${(err as Error).message}); expected a ${VM_STATUS_SCHEMA} document`);
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim());
    throw new Error(`${where}: the status breaks ${VM_STATUS_SCHEMA}: ${problems.join('; ')}`);
  }
  return value;
}
