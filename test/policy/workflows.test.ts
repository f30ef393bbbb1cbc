// The GitHub Actions workflows, read as data: every stack file is previewed on pull requests with the
// policy pack, `up` runs only for dev on pushes to main, Google auth is Workload Identity Federation, and
// the tests run before Pulumi touches anything.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../infra/harness';
import { stackFileNames } from './stacks';

const WORKFLOWS_DIR = path.join(REPO_ROOT, '.github', 'workflows');
const PULUMI_ACTION = 'pulumi/actions';
const AUTH_ACTION = 'google-github-actions/auth';
const GCLOUD_ACTION = 'google-github-actions/setup-gcloud';
const POLICY_PACK = 'policy';

type Step = { id?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string> };
type Job = {
  uses?: string; needs?: string | string[]; steps?: Step[]; permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, any> }; outputs?: Record<string, string>; container?: unknown;
};
interface Workflow { file: string; text: string; on: Record<string, any>; jobs: Record<string, Job>; permissions?: Record<string, string> }

function loadWorkflows(): Workflow[] {
  return fs.readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((file) => {
    const text = fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
    const doc = parse(text) as { on: unknown; jobs: Record<string, Job>; permissions?: Record<string, string> };
    // `on: push` and `on: [push]` are short for objects with empty triggers.
    const on = typeof doc.on === 'string' ? { [doc.on]: null } : Array.isArray(doc.on) ? Object.fromEntries(doc.on.map((t) => [t, null])) : (doc.on as Record<string, any>);
    return { file, text, on, jobs: doc.jobs, permissions: doc.permissions };
  });
}

const actionOf = (step: Step) => step.uses?.split('@')[0];
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** Every job that runs a Pulumi command, with its workflow. */
function pulumiJobs(workflows: Workflow[]): { wf: Workflow; name: string; job: Job; step: Step }[] {
  return workflows.flatMap((wf) => Object.entries(wf.jobs).flatMap(([name, job]) =>
    (job.steps ?? []).filter((s) => actionOf(s) === PULUMI_ACTION).map((step) => ({ wf, name, job, step }))));
}

/** Runs a step's shell script as Actions would, and returns what it wrote to $GITHUB_OUTPUT. */
function runStepOutputs(step: Step): Record<string, string> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-output-')), 'out');
  fs.writeFileSync(out, '');
  execFileSync('bash', ['-eo', 'pipefail', '-c', step.run ?? ''], { cwd: REPO_ROOT, env: { ...process.env, GITHUB_OUTPUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
  return Object.fromEntries(fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * The values a job's `matrix.<key>` takes: a literal list, or `fromJSON(needs.<job>.outputs.<name>)`
 * whose job output is `steps.<id>.outputs.<name>` of a step that is run here to see what it yields.
 */
function matrixValues(wf: Workflow, job: Job, key: string): string[] {
  const m = job.strategy?.matrix?.[key];
  if (Array.isArray(m)) return m.map(String);
  const ref = /^\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}$/.exec(String(m));
  assert.ok(ref, `${wf.file}: matrix.${key} is neither a list nor fromJSON(needs.<job>.outputs.<name>): ${m}`);
  const [, producerName, outputName] = ref;
  assert.ok(needsOf(job).includes(producerName), `${wf.file}: the matrix reads job ${producerName}, which the job does not need`);
  const producer = wf.jobs[producerName];
  const stepRef = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(producer.outputs?.[outputName] ?? '');
  assert.ok(stepRef, `${wf.file}: job ${producerName} output ${outputName} is not a step output`);
  const step = (producer.steps ?? []).find((s) => s.id === stepRef[1]);
  assert.ok(step?.run, `${wf.file}: job ${producerName} has no step ${stepRef[1]} with a script`);
  return JSON.parse(runStepOutputs(step)[stepRef[2]]) as string[];
}

/** The stacks a Pulumi step acts on: its stack-name with `${{ matrix.<key> }}` expanded. */
function stacksOf(wf: Workflow, job: Job, step: Step): string[] {
  const name = String(step.with?.['stack-name'] ?? '');
  const stack = name.slice(name.lastIndexOf('/') + 1);
  const matrixRef = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(stack);
  return matrixRef ? matrixValues(wf, job, matrixRef[1]) : [stack];
}

/** True when the job, directly or through a job it needs (also via a called workflow), runs `bash .ci/run`. */
function runsTestsFirst(workflows: Workflow[], wf: Workflow, job: Job): boolean {
  return needsOf(job).some((n) => {
    const dep = wf.jobs[n];
    if (!dep) return false;
    if (dep.uses?.startsWith('./.github/workflows/')) {
      const called = workflows.find((w) => w.file === path.basename(dep.uses!));
      return !!called && Object.values(called.jobs).some((j) => (j.steps ?? []).some((s) => s.run?.trim() === 'bash .ci/run'));
    }
    return (dep.steps ?? []).some((s) => s.run?.trim() === 'bash .ci/run') || runsTestsFirst(workflows, wf, dep);
  });
}

describe('GitHub Actions workflows', () => {
  const workflows = loadWorkflows();
  const jobs = pulumiJobs(workflows);
  const previews = jobs.filter((j) => j.step.with?.command === 'preview');
  const ups = jobs.filter((j) => j.step.with?.command === 'up');

  it('previews on pull requests and runs up somewhere', () => {
    assert.ok(previews.length > 0 && previews.every((p) => 'pull_request' in p.wf.on), 'a preview job on pull_request');
    assert.ok(ups.length > 0, 'an up job');
  });

  it('previews every Pulumi.<stack>.yaml present on pull requests', () => {
    const previewed = previews.filter((p) => 'pull_request' in p.wf.on).flatMap((p) => stacksOf(p.wf, p.job, p.step)).sort();
    assert.deepEqual(previewed, stackFileNames());
  });

  it('posts the preview diff as a PR comment', () => {
    for (const p of previews) {
      assert.equal(p.step.with?.['comment-on-pr'], true, `${p.wf.file}/${p.name}`);
      assert.equal(p.job.permissions?.['pull-requests'], 'write', `${p.wf.file}/${p.name} may not comment`);
    }
  });

  it('passes the policy pack to every preview and up', () => {
    const without = jobs.filter((j) => j.step.with?.policyPacks !== POLICY_PACK).map((j) => `${j.wf.file}/${j.name}`);
    assert.deepEqual(without, []);
    assert.ok(fs.existsSync(path.join(REPO_ROOT, POLICY_PACK, 'PulumiPolicy.yaml')));
  });

  it('runs up only for dev, only on pushes to main', () => {
    for (const u of ups) {
      assert.deepEqual(Object.keys(u.wf.on), ['push'], `${u.wf.file} runs on ${Object.keys(u.wf.on).join(', ')}`);
      assert.deepEqual(u.wf.on.push?.branches, ['main'], `${u.wf.file} pushes: ${JSON.stringify(u.wf.on.push)}`);
      assert.deepEqual(stacksOf(u.wf, u.job, u.step), ['dev']);
    }
  });

  it('runs no Pulumi command other than preview and up', () => {
    assert.deepEqual(jobs.map((j) => j.step.with?.command).filter((c) => c !== 'preview' && c !== 'up'), []);
  });

  it('logs in to Google with Workload Identity Federation from repository variables before every Pulumi command', () => {
    for (const { wf, name, job, step } of jobs) {
      const steps = job.steps ?? [];
      const auth = steps.find((s) => actionOf(s) === AUTH_ACTION);
      assert.ok(auth && steps.indexOf(auth) < steps.indexOf(step), `${wf.file}/${name}: no ${AUTH_ACTION} before Pulumi`);
      assert.match(String(auth.with?.workload_identity_provider), /^\$\{\{\s*vars\.[A-Z_]+\s*\}\}$/);
      assert.match(String(auth.with?.service_account), /^\$\{\{\s*vars\.[A-Z_]+\s*\}\}$/);
      assert.equal(job.permissions?.['id-token'], 'write', `${wf.file}/${name}: the OIDC token needs id-token: write`);
    }
  });

  it('uses no service account key anywhere', () => {
    for (const wf of workflows) assert.doesNotMatch(wf.text, /credentials_json|GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CREDENTIALS/, wf.file);
  });

  it('installs gke-gcloud-auth-plugin before every Pulumi command (the Kubernetes provider execs it)', () => {
    for (const { wf, name, job, step } of jobs) {
      const steps = job.steps ?? [];
      const gcloud = steps.find((s) => actionOf(s) === GCLOUD_ACTION);
      assert.ok(gcloud && steps.indexOf(gcloud) < steps.indexOf(step), `${wf.file}/${name}`);
      assert.match(String(gcloud.with?.install_components), /\bgke-gcloud-auth-plugin\b/);
    }
  });

  it('gives Pulumi its access token from a secret', () => {
    for (const { wf, name, step } of jobs) {
      assert.match(String(step.env?.PULUMI_ACCESS_TOKEN), /^\$\{\{\s*secrets\.PULUMI_ACCESS_TOKEN\s*\}\}$/, `${wf.file}/${name}`);
    }
  });

  it('installs dependencies with Node 20 before every Pulumi command', () => {
    for (const { wf, name, job, step } of jobs) {
      const steps = job.steps ?? [];
      const node = steps.find((s) => actionOf(s) === 'actions/setup-node');
      const ci = steps.find((s) => /^npm ci\b/.test(s.run?.trim() ?? ''));
      assert.equal(String(node?.with?.['node-version']), '20', `${wf.file}/${name}`);
      assert.ok(ci && steps.indexOf(ci) < steps.indexOf(step), `${wf.file}/${name}: npm ci before Pulumi`);
    }
  });

  it('runs the tests (bash .ci/run) before any Pulumi command', () => {
    assert.deepEqual(jobs.filter((j) => !runsTestsFirst(workflows, j.wf, j.job)).map((j) => `${j.wf.file}/${j.name}`), []);
  });

  it('pins every action to a major version', () => {
    const unpinned = workflows.flatMap((wf) => Object.values(wf.jobs).flatMap((j) => [j.uses, ...(j.steps ?? []).map((s) => s.uses)]))
      .filter((u): u is string => u !== undefined && !u.startsWith('./'))
      .filter((u) => !/^[\w.-]+\/[\w.-]+@v\d+$/.test(u));
    assert.deepEqual(unpinned, []);
  });
});
