// Where the stack's VMs live (GCP project and zone): read from the stack's own settings file
// (Pulumi.<stack>.yaml) through the program's config parser, so the doctor agrees with `pulumi up`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseStackConfig, type RawConfig } from '../infra/config';

export interface StackLocation { project: string; zone: string }

export function readStackLocation(stack: string, repoRoot: string): StackLocation {
  const file = path.join(repoRoot, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(repoRoot).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    throw new Error(`stack "${stack}" has no settings file ${file}; known stacks: ${known.join(', ')}`);
  }
  const doc = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  // Pulumi hands the program objects as JSON text; do the same so the program's parser reads them.
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    raw[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const { gcp } = parseStackConfig(raw, stack);
  return { project: gcp.project, zone: gcp.zone };
}
