// Where the stack's VMs live (GCP project and zone): read from the stack's own settings file
// (Pulumi.<stack>.yaml) through the program's config parser, so the doctor agrees with `pulumi up`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStackConfig } from '../infra/config';
import { readStackFile } from '../infra/stack-file';

export interface StackLocation { project: string; zone: string }

export function readStackLocation(stack: string, repoRoot: string): StackLocation {
  const file = path.join(repoRoot, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(repoRoot).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    throw new Error(`stack "${stack}" has no settings file ${file}; known stacks: ${known.join(', ')}`);
  }
  // Pulumi hands the program objects as JSON text; readStackFile does the same so the program's parser reads them.
  const { gcp } = parseStackConfig(readStackFile(file), stack);
  return { project: gcp.project, zone: gcp.zone };
}
