// The Google Cloud side of `npm run render`: every Google Cloud resource the program declares (firewall
// rules, instances with their metadata, service accounts, IAM bindings and roles, the network, the cluster,
// the APIs …) with the inputs `pulumi up` would send, one YAML file each under `<stack>/_gcp/`, so a whole
// stack can be reviewed, and two stacks or commits compared, offline. Values only the cloud knows are the
// mocks' stand-ins (tools/offline-program.ts); values the program marks secret are written as `[secret]`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { ProgramRun, RecordedResource } from './offline-program';

export interface RenderedGcpResource {
  /** Pulumi's type token, e.g. `gcp:compute/firewall:Firewall`. */
  type: string;
  /** The program's logical name. */
  logicalName: string;
  /** The file it is written to, relative to `<stack>/_gcp/`. */
  file: string;
  inputs: Record<string, unknown>;
}

export const GCP_DIR = '_gcp';

/** `gcp:compute/firewall:Firewall` → `compute.Firewall`. */
export function kindOfGcpType(type: string): string {
  const m = /^gcp:([^/]+)\/[^:]+:(.+)$/.exec(type);
  if (!m) throw new Error(`not a Google Cloud resource type: ${type}`);
  return `${m[1]}.${m[2]}`;
}

function masked(value: unknown, secretPaths: string[], at = ''): unknown {
  if (secretPaths.includes(at)) return '[secret]';
  if (Array.isArray(value)) return value.map((v, i) => masked(v, secretPaths, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, secretPaths, at ? `${at}.${k}` : k)]));
  }
  return value;
}

/** The Google Cloud resources of a program run, sorted by file name. */
export function gcpResources(program: Pick<ProgramRun, 'resources'>): RenderedGcpResource[] {
  return program.resources
    .filter((r: RecordedResource) => r.custom && !r.read && r.type.startsWith('gcp:'))
    .map((r) => {
      const inputs = masked(r.inputs, r.secretInputs) as Record<string, unknown>;
      // IAM bindings have no name of their own: the logical name says which account and role.
      const named = typeof inputs.name === 'string' ? inputs.name : r.name;
      return { type: r.type, logicalName: r.name, file: `${kindOfGcpType(r.type)}_${named.replace(/[^A-Za-z0-9_.-]/g, '_')}.yaml`, inputs };
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** Writes them under `<stackDir>/_gcp/`, each headed by its type and logical name; returns how many. */
export function writeGcpRender(resources: readonly RenderedGcpResource[], stackDir: string): number {
  const dir = path.join(stackDir, GCP_DIR);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const r of resources) {
    fs.writeFileSync(path.join(dir, r.file), `# ${r.type} (program ${r.logicalName})\n${stringify(r.inputs, { lineWidth: 0 })}`);
  }
  return resources.length;
}
