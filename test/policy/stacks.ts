// The stacks of the repository: one `Pulumi.<stack>.yaml` each at the root.
import * as fs from 'node:fs';
import { REPO_ROOT } from '../infra/harness';

export function stackFileNames(): string[] {
  return fs.readdirSync(REPO_ROOT)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
