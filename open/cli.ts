// `npm run open -- --stack <name>`: from a deployed stack to the SkyWalking UI. Gets the cluster's
// credentials (gcloud, from the stack's outputs and settings), port-forwards the SkyWalking UI and the
// receiver's admin page, prints the shop's address and what to look at first, and stops both forwards
// cleanly on Ctrl-C. Exit 0 after a clean stop; 1 when a step fails (its words and the fix); 2 on bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OBSERVABILITY_NAMESPACE, RECEIVER_NAME, SKYWALKING_NAMES } from '../infra/observability';
import { RECEIVER_ADMIN_PORT } from '../infra/ports';
import { stacksWithFiles } from '../infra/stack-file';
import { graphql } from '../doctor/oap-graphql';
import { readStackLocation } from '../doctor/stack-location';
import { userKubectl } from '../tools/packaged-binaries';
import { firstLine, runCommand } from '../preflight/command';
import { PortForward } from './port-forward';

const REPO_ROOT = path.resolve(__dirname, '..');
/** The UI's Service port (skywalking-helm 4.9.0 ui.service.externalPort). */
const UI_SERVICE_PORT = 80;
const USAGE = `Usage: npm run open -- --stack <name> [--outputs FILE] [--ui-port N] [--receiver-port N]
  Gets the cluster's credentials (gcloud container clusters get-credentials), port-forwards the SkyWalking UI
  (default 127.0.0.1:8080) and the receiver's admin port (default 127.0.0.1:9091), prints the shop's
  address and what to look at first. Ctrl-C stops. Stack outputs: --outputs FILE (pulumi stack output
  --json), else \`pulumi stack output\` is run. 0 as a port takes any free one.`;

export interface OpenOutputs { clusterName: string; frontendAddress?: string; vms?: { name: string }[] }

class UsageError extends Error {}

export function parseOpenOutputs(text: string, source: string): OpenOutputs {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: the stack outputs are not JSON (${(e as Error).message})`);
  }
  const o = v as Partial<OpenOutputs> | null;
  if (!o || typeof o.clusterName !== 'string' || !o.clusterName) throw new Error(`${source}: no clusterName output (is the stack deployed? \`pulumi up\`)`);
  return { clusterName: o.clusterName, frontendAddress: typeof o.frontendAddress === 'string' ? o.frontendAddress : undefined, vms: Array.isArray(o.vms) ? o.vms : [] };
}

function port(value: string | undefined, dflt: number, flag: string): number {
  const n = Number(value ?? dflt);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} ${value}: expected a port, 0-65535`);
  return n;
}

/** OAP's time zone, asked through the UI's own /graphql proxy; undefined when it does not answer. */
async function oapTimeZone(uiUrl: string): Promise<string | undefined> {
  try {
    const d = await graphql<{ getTimeInfo: { timezone: string } }>(async (body) => {
      const r = await fetch(`${uiUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.text() };
    }, 'timeInfo');
    return d.getTimeInfo.timezone;
  } catch {
    return undefined;
  }
}

export function guide(a: { stack: string; ui: string; receiver: string; frontendAddress?: string; timezone?: string; vms: string[] }): string {
  const shop = a.frontendAddress ? `http://${a.frontendAddress}/` : 'no address yet (the frontend load balancer is still being made: `pulumi stack output frontendAddress` in a minute)';
  const vms = a.vms.length ? a.vms.join(' and ') : 'the VM workloads';
  return [
    `SkyWalking UI   ${a.ui}/`,
    `receiver        ${a.receiver}/metrics  (${a.receiver}/readyz)`,
    `the shop        ${shop}  (the loadgenerator already sends it traffic)`,
    '',
    'What to look at first:',
    `  1. In the UI, Service Mesh → Services (the MESH layer), then Topology: the shop's services, ${vms} on VMs among them, and the calls between them.`,
    `  2. The UI's time zone must match OAP's${a.timezone ? ` (${a.timezone})` : ''}: set it in the UI's settings, or the last minutes look empty.`,
    `  3. Nothing there after a few minutes? \`npm run doctor -- --stack ${a.stack}\`.`,
    '',
    'Ctrl-C stops the port-forwards.',
    '',
  ].join('\n');
}

export interface OpenIo { env: NodeJS.ProcessEnv; out: (t: string) => void; err: (t: string) => void; stopSignal: Promise<unknown>; repoRoot?: string }

export async function runOpen(argv: string[], io: OpenIo): Promise<number> {
  const repoRoot = io.repoRoot ?? REPO_ROOT;
  const forwards: PortForward[] = [];
  try {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, strict: true, options: {
        stack: { type: 'string' }, outputs: { type: 'string' }, 'ui-port': { type: 'string' }, 'receiver-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      } }));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (values.help) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const known = stacksWithFiles(repoRoot);
    if (!values.stack || !known.includes(values.stack)) {
      throw new UsageError(`${values.stack ? `--stack ${values.stack}: no Pulumi.${values.stack}.yaml` : '--stack <name> is required'}; known stacks: ${known.join(', ')}`);
    }
    const stack = values.stack;
    const uiPort = port(values['ui-port'], 8080, '--ui-port');
    const receiverPort = port(values['receiver-port'], 9091, '--receiver-port');
    const location = readStackLocation(stack, repoRoot);

    let outputsText: string;
    let source: string;
    if (values.outputs) {
      if (!fs.existsSync(values.outputs)) throw new UsageError(`--outputs ${values.outputs}: no such file`);
      outputsText = fs.readFileSync(values.outputs, 'utf8');
      source = values.outputs;
    } else {
      const r = await runCommand('pulumi', ['stack', 'output', '--json', '--show-secrets=false', '--stack', stack], io.env, repoRoot);
      if (r.missing) throw new UsageError('no stack outputs: give --outputs FILE, or install the Pulumi CLI');
      if (r.code !== 0) throw new Error(`pulumi stack output --stack ${stack} failed: ${firstLine(r)}`);
      outputsText = r.stdout;
      source = `pulumi stack output --stack ${stack}`;
    }
    const outputs = parseOpenOutputs(outputsText, source);

    const creds = ['container', 'clusters', 'get-credentials', outputs.clusterName, '--zone', location.zone, '--project', location.project];
    io.out(`gcloud ${creds.join(' ')}\n`);
    const got = await runCommand('gcloud', creds, io.env);
    if (got.missing) throw new Error('gcloud is not on PATH; install the Google Cloud CLI (`npm run preflight` checks what `open` needs)');
    if (got.code !== 0) throw new Error(`gcloud could not get the cluster's credentials: ${firstLine(got)} (\`gcloud auth login\`, and roles/container.viewer or more on ${location.project})`);

    const kubectl = await userKubectl(io.env);
    forwards.push(new PortForward(kubectl, { namespace: OBSERVABILITY_NAMESPACE, service: SKYWALKING_NAMES.uiService, remotePort: UI_SERVICE_PORT, localPort: uiPort }, io.env));
    forwards.push(new PortForward(kubectl, { namespace: OBSERVABILITY_NAMESPACE, service: RECEIVER_NAME, remotePort: RECEIVER_ADMIN_PORT, localPort: receiverPort }, io.env));
    const stopped = io.stopSignal.then(() => 'stop' as const);
    const [ui, receiver] = await Promise.race([Promise.all(forwards.map((f) => f.ready)), stopped.then(() => undefined)]) ?? [];
    if (ui && receiver) {
      const timezone = await oapTimeZone(ui);
      io.out(guide({ stack, ui, receiver, frontendAddress: outputs.frontendAddress, timezone, vms: (outputs.vms ?? []).map((v) => v.name) }));
      // Until Ctrl-C, or until a forward ends on its own (the pod went away, the cluster is unreachable).
      const ended = Promise.race(forwards.map((f) => f.done.then(() => f)));
      const why = await Promise.race([stopped, ended]);
      if (why !== 'stop') {
        await Promise.all(forwards.map((f) => f.stop()));
        io.err(`open: kubectl port-forward svc/${why.spec.service} ended; run \`npm run open -- --stack ${stack}\` again\n`);
        return 1;
      }
    }
    await Promise.all(forwards.map((f) => f.stop()));
    io.out('stopped: both port-forwards ended\n');
    return 0;
  } catch (e) {
    await Promise.all(forwards.map((f) => f.stop()));
    io.err(`open: ${(e as Error).message}\n${e instanceof UsageError ? `${USAGE}\n` : ''}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  const stopSignal = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  void runOpen(process.argv.slice(2), { env: process.env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), stopSignal })
    .then((code) => process.exit(code));
}
