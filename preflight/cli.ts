// `npm run preflight -- --stack <name>`: checks the user's machine and Google Cloud project for what
// `pulumi up` needs, one line per check (PASS/FAIL/SKIP, and under a failure `next:` with the fix). Exit 0
// when nothing failed, 1 when something did, 2 on bad input, as `npm run doctor`.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseStackConfig, type StackConfig } from '../infra/config';
import { readStackFile, stackFilePath, stacksWithFiles } from '../infra/stack-file';
import { formatLines, type CheckLine } from '../doctor/run-checks';
import { PREFLIGHT_CHECKS, type PreflightContext } from './checks';

const REPO_ROOT = path.resolve(__dirname, '..');
const USAGE = `Usage: npm run preflight -- --stack <name>
  Checks what \`pulumi up --stack <name>\` needs: Node, the Pulumi CLI and its login, the stack's settings,
  gcloud with gke-gcloud-auth-plugin and application-default credentials, Docker with BuildKit, the
  project's Service Usage API and your roles on it. Read-only.`;

export interface PreflightIo { env: NodeJS.ProcessEnv; out: (t: string) => void; err: (t: string) => void; repoRoot?: string }

export async function runPreflight(argv: string[], io: PreflightIo): Promise<number> {
  const repoRoot = io.repoRoot ?? REPO_ROOT;
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { stack: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    io.err(`preflight: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const known = stacksWithFiles(repoRoot);
  if (!values.stack || !known.includes(values.stack)) {
    io.err(`preflight: ${values.stack ? `--stack ${values.stack}: no Pulumi.${values.stack}.yaml` : '--stack <name> is required'}; known stacks: ${known.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const ctx: PreflightContext = { stack: values.stack, env: io.env, repoRoot };
  try {
    ctx.config = parseStackConfig(readStackFile(stackFilePath(repoRoot, values.stack)), values.stack) as StackConfig;
  } catch (e) {
    ctx.configError = (e as Error).message.replace(/\n\s*/g, ' ');
  }
  io.out(`meshscope preflight: stack ${values.stack}\n`);
  const lines: CheckLine[] = [];
  for (const check of PREFLIGHT_CHECKS) {
    const name = check.name(ctx);
    let outcome;
    try {
      outcome = await check.run(ctx);
    } catch (e) {
      outcome = { ok: false as const, detail: (e as Error).message };
    }
    if ('skipped' in outcome) lines.push({ name, status: 'SKIP', detail: outcome.skipped });
    else if (outcome.ok) lines.push({ name, status: 'PASS', detail: outcome.detail });
    else lines.push({ name, status: 'FAIL', detail: outcome.detail, hint: outcome.fix ?? check.fix(ctx) });
  }
  io.out(formatLines(lines));
  return lines.some((l) => l.status === 'FAIL') ? 1 : 0;
}

if (require.main === module) {
  void runPreflight(process.argv.slice(2), { env: process.env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) })
    .then((code) => (process.exitCode = code));
}
