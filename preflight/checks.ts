// What `pulumi up` needs on the user's machine and in the Google Cloud project, one row each: what is
// checked, how, and the one thing to do when it fails. `npm run preflight` runs them in order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StackConfig } from '../infra/config';
import { GOOGLE_APIS, SERVICE_USAGE_API } from '../infra/google-apis';
import { firstLine, runCommand, type CommandResult } from './command';

export interface PreflightContext {
  stack: string;
  env: NodeJS.ProcessEnv;
  repoRoot: string;
  /** The stack's settings, when its file reads and validates; the project checks need them. */
  config?: StackConfig;
  configError?: string;
}

export type Outcome = { ok: true; detail: string } | { ok: false; detail: string; fix?: string } | { skipped: string };

export interface PreflightCheck {
  name: (ctx: PreflightContext) => string;
  run: (ctx: PreflightContext) => Promise<Outcome>;
  /** The one thing to do when it fails. */
  fix: (ctx: PreflightContext) => string;
}

/** The roles a person running `pulumi up` needs on the project (roles/owner holds them all), and why. */
export const REQUIRED_ROLES: readonly { role: string; why: string }[] = [
  { role: 'roles/serviceusage.serviceUsageAdmin', why: 'enable the APIs the stack uses' },
  { role: 'roles/compute.admin', why: 'the VPC, firewall rules, NAT, reserved addresses and VMs' },
  { role: 'roles/container.admin', why: 'the cluster, its node pool, and every object inside it (RBAC included)' },
  { role: 'roles/iam.serviceAccountAdmin', why: 'the node and VM service accounts' },
  { role: 'roles/iam.serviceAccountUser', why: 'attach those accounts to nodes and VMs' },
  { role: 'roles/iam.roleAdmin', why: "the VMs' custom role" },
  { role: 'roles/resourcemanager.projectIamAdmin', why: "grant the accounts' project roles" },
  { role: 'roles/artifactregistry.admin', why: "the receiver image's repository, and pushing the image" },
];

/** The oldest Pulumi CLI this project is used with: the SDK version package.json pins. */
export function minimumPulumi(repoRoot: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const m = /(\d+\.\d+\.\d+)/.exec(pkg.dependencies['@pulumi/pulumi'] ?? '');
  if (!m) throw new Error('package.json pins no @pulumi/pulumi version');
  return m[1];
}

function newerOrEqual(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

const pass = (detail: string): Outcome => ({ ok: true, detail });
const fail = (detail: string, fix?: string): Outcome => ({ ok: false, detail, fix });
/** A command's failure as a check outcome: missing, or what it printed. */
const failed = (what: string, r: CommandResult): Outcome => fail(r.missing ? `${what} is not on PATH` : `${what} exited ${r.code}: ${firstLine(r)}`);
/** For a check that runs a program another line already checks for: its absence is that line's failure. */
const failedAfter = (what: string, cmd: string, r: CommandResult): Outcome =>
  (r.missing ? { skipped: `needs ${cmd}, which is not on PATH (its own line says so)` } : failed(what, r));
const needsSettings = (ctx: PreflightContext): Outcome | undefined =>
  ctx.config ? undefined : { skipped: `needs valid stack settings (Pulumi.${ctx.stack}.yaml)` };

export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [
  {
    name: () => 'Node.js 24 or newer',
    run: async () => (Number(process.versions.node.split('.')[0]) >= 24 ? pass(`node ${process.versions.node}`) : fail(`node ${process.versions.node}`)),
    fix: () => 'install Node 24 (package.json engines), e.g. from nodejs.org or `npm i -g node@24`',
  },
  {
    name: (ctx) => `Pulumi CLI ${minimumPulumi(ctx.repoRoot)} or newer`,
    run: async (ctx) => {
      const r = await runCommand('pulumi', ['version'], ctx.env);
      if (r.missing || r.code !== 0) return failed('pulumi', r);
      const v = /v?(\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
      if (!v) return fail(`\`pulumi version\` printed ${JSON.stringify(r.stdout.trim())}`);
      return newerOrEqual(v, minimumPulumi(ctx.repoRoot)) ? pass(`pulumi v${v}`) : fail(`pulumi v${v} is older`);
    },
    fix: () => 'install or update the Pulumi CLI: https://www.pulumi.com/docs/install/ (`curl -fsSL https://get.pulumi.com | sh`)',
  },
  {
    name: () => 'logged in to a Pulumi backend',
    run: async (ctx) => {
      const r = await runCommand('pulumi', ['whoami', '--verbose'], ctx.env);
      if (r.missing || r.code !== 0) return failedAfter('pulumi whoami', 'pulumi', r);
      const backend = /Backend URL: (\S+)/.exec(r.stdout)?.[1];
      return pass(`${r.stdout.split('\n')[0].replace(/^User: /, '')}${backend ? ` at ${backend}` : ''}`);
    },
    fix: () => '`pulumi login` (Pulumi Cloud), or `pulumi login --local` / `pulumi login gs://<bucket>` for a self-managed backend',
  },
  {
    name: (ctx) => `stack settings Pulumi.${ctx.stack}.yaml`,
    run: async (ctx) => (ctx.config
      ? pass(`project ${ctx.config.gcp.project}, zone ${ctx.config.gcp.zone}, ${ctx.config.cluster.nodeCount} × ${ctx.config.cluster.machineType}`)
      : fail(ctx.configError ?? 'unreadable')),
    fix: (ctx) => `fix what the message names in Pulumi.${ctx.stack}.yaml (set your project: \`pulumi config set gcp:project <id> --stack ${ctx.stack}\`)`,
  },
  {
    name: () => 'gcloud CLI',
    run: async (ctx) => {
      const r = await runCommand('gcloud', ['version'], ctx.env);
      return r.missing || r.code !== 0 ? failed('gcloud', r) : pass(r.stdout.split('\n')[0].trim());
    },
    fix: () => 'install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install',
  },
  {
    name: () => 'gke-gcloud-auth-plugin (the Kubernetes provider logs in with it)',
    run: async (ctx) => {
      const r = await runCommand('gke-gcloud-auth-plugin', ['--version'], ctx.env);
      return r.missing || r.code !== 0 ? failed('gke-gcloud-auth-plugin', r) : pass(firstLine(r));
    },
    fix: () => '`gcloud components install gke-gcloud-auth-plugin` (or the google-cloud-cli-gke-gcloud-auth-plugin package)',
  },
  {
    name: () => 'application-default credentials (what the Google provider uses)',
    run: async (ctx) => {
      const r = await runCommand('gcloud', ['auth', 'application-default', 'print-access-token'], ctx.env);
      return r.missing || r.code !== 0 ? failedAfter('gcloud auth application-default print-access-token', 'gcloud', r) : pass('a token is issued');
    },
    fix: () => '`gcloud auth application-default login`',
  },
  {
    name: () => 'Docker with BuildKit (buildx), which builds the receiver image',
    run: async (ctx) => {
      const buildx = await runCommand('docker', ['buildx', 'version'], ctx.env);
      if (buildx.missing || buildx.code !== 0) return failed('docker buildx', buildx);
      const daemon = await runCommand('docker', ['info', '--format', '{{.ServerVersion}}'], ctx.env);
      if (daemon.code !== 0) return failed('docker info (the daemon)', daemon);
      return pass(`${firstLine(buildx)}; engine ${daemon.stdout.trim()}`);
    },
    fix: () => 'install Docker Engine or Desktop with the buildx plugin and start it (`docker info` must answer)',
  },
  {
    name: (ctx) => `project ${ctx.config?.gcp.project ?? '(unknown)'} reachable, Service Usage API on`,
    run: async (ctx) => {
      const skip = needsSettings(ctx);
      if (skip) return skip;
      const r = await runCommand('gcloud', ['services', 'list', '--enabled', '--project', ctx.config!.gcp.project, '--format=value(config.name)'], ctx.env);
      if (r.missing || r.code !== 0) return failedAfter('gcloud services list', 'gcloud', r);
      const on = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
      if (!on.has(SERVICE_USAGE_API)) return fail(`${SERVICE_USAGE_API} is off: the stack cannot enable the others`);
      const off = GOOGLE_APIS.map((a) => a.api).filter((a) => !on.has(a));
      return pass(off.length ? `the stack will enable ${off.join(', ')}` : 'every API the stack uses is on');
    },
    fix: (ctx) => `check the project id and your access; \`gcloud services enable ${SERVICE_USAGE_API} --project ${ctx.config?.gcp.project ?? '<project>'}\``,
  },
  {
    name: (ctx) => `your roles on ${ctx.config?.gcp.project ?? '(unknown)'}`,
    run: async (ctx) => {
      const skip = needsSettings(ctx);
      if (skip) return skip;
      const project = ctx.config!.gcp.project;
      const who = await runCommand('gcloud', ['config', 'get-value', 'account'], ctx.env);
      if (who.missing) return failedAfter('gcloud config get-value account', 'gcloud', who);
      const account = who.stdout.trim();
      if (who.code !== 0 || !account) return fail('no gcloud account', '`gcloud auth login`');
      const r = await runCommand('gcloud', ['projects', 'get-iam-policy', project, '--format=json'], ctx.env);
      if (r.missing || r.code !== 0) return failedAfter('gcloud projects get-iam-policy', 'gcloud', r);
      const policy = JSON.parse(r.stdout) as { bindings?: { role: string; members?: string[] }[] };
      const member = account.endsWith('.gserviceaccount.com') ? `serviceAccount:${account}` : `user:${account}`;
      const held = new Set((policy.bindings ?? []).filter((b) => b.members?.includes(member)).map((b) => b.role));
      if (held.has('roles/owner')) return pass(`${account} is an owner`);
      const missing = REQUIRED_ROLES.filter((x) => !held.has(x.role));
      if (!missing.length) return pass(`${account} holds every role needed`);
      return fail(`${account} lacks ${missing.map((x) => x.role).join(', ')} (roles held through a group are not seen here)`,
        missing.map((x) => `gcloud projects add-iam-policy-binding ${project} --member=${member} --role=${x.role}`).join('; '));
    },
    fix: () => 'ask a project owner for the roles listed in README.md, "Prerequisites"',
  },
];
