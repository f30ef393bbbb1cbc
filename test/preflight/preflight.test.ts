// `npm run preflight` against stand-ins of pulumi, gcloud, docker and gke-gcloud-auth-plugin (test/preflight/
// shims, the only programs on PATH): one all-green run, then one scenario per check that fails only that
// line, with its fix.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPreflight } from '../../preflight/cli';
import { PREFLIGHT_CHECKS, REQUIRED_ROLES, minimumPulumi } from '../../preflight/checks';
import { REPO_ROOT } from '../../tools/offline-program';
import { parseLines, type Line } from '../doctor/check-lines';

const SHIMS = path.join(__dirname, 'shims');
interface Run { code: number; out: string; err: string; lines: Map<string, Line>; log: string[] }

describe('npm run preflight', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-preflight-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs preflight with only the shims on PATH (minus `without`), and `fake` as their FAKE_* settings. */
  async function preflight(args: string[], fake: Record<string, string> = {}, opts: { without?: string; repoRoot?: string } = {}): Promise<Run> {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    for (const tool of fs.readdirSync(SHIMS).filter((t) => t !== opts.without)) fs.symlinkSync(path.join(SHIMS, tool), path.join(bin, tool));
    const log = path.join(bin, 'calls.log');
    fs.writeFileSync(log, '');
    let out = '';
    let err = '';
    const code = await runPreflight(args, {
      env: { PATH: bin, HOME: dir, SHIM_LOG: log, ...fake }, repoRoot: opts.repoRoot,
      out: (t) => (out += t), err: (t) => (err += t),
    });
    return { code, out, err, lines: parseLines(out), log: fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }
  const failing = (r: Run) => [...r.lines].filter(([, l]) => l.status === 'FAIL').map(([n]) => n);

  it('passes every check on a ready machine, one line each, and exits 0', async () => {
    const r = await preflight(['--stack', 'dev']);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.lines.size, PREFLIGHT_CHECKS.length);
    assert.deepEqual(failing(r), []);
    assert.equal(r.lines.get('stack settings Pulumi.dev.yaml')?.detail, 'project meshscope-dev, zone europe-west1-b, 3 × e2-standard-4');
    assert.match(r.lines.get('project meshscope-dev reachable, Service Usage API on')!.detail, /^the stack will enable container\.googleapis\.com, artifactregistry/);
    assert.equal(r.lines.get('your roles on meshscope-dev')?.detail, 'alice@example.com is an owner');
    assert.match(r.out, new RegExp(`${PREFLIGHT_CHECKS.length} passed, 0 failed, 0 skipped\\n$`));
  });

  it('reads only: asks gcloud for the project\'s APIs and policy, never to change them', async () => {
    const r = await preflight(['--stack', 'dev']);
    assert.ok(r.log.includes('gcloud projects get-iam-policy meshscope-dev --format=json'));
    assert.deepEqual(r.log.filter((l) => /\b(enable|add-iam-policy-binding|login|set)\b/.test(l)), []);
  });

  const scenarios: { what: string; fake?: Record<string, string>; without?: string; check: RegExp; detail: RegExp; next: RegExp }[] = [
    { what: 'no Pulumi CLI', without: 'pulumi', check: /^Pulumi CLI /, detail: /^pulumi is not on PATH$/, next: /pulumi\.com\/docs\/install/ },
    { what: 'a Pulumi CLI older than the SDK', fake: { FAKE_PULUMI_VERSION: '3.100.0' }, check: /^Pulumi CLI /, detail: /^pulumi v3\.100\.0 is older$/, next: /update the Pulumi CLI/ },
    { what: 'no Pulumi login', fake: { FAKE_PULUMI_LOGGED_OUT: '1' }, check: /^logged in/, detail: /PULUMI_ACCESS_TOKEN must be set/, next: /^`pulumi login`/ },
    { what: 'no gcloud', without: 'gcloud', check: /^gcloud CLI$/, detail: /^gcloud is not on PATH$/, next: /sdk\/docs\/install/ },
    { what: 'no GKE auth plugin', without: 'gke-gcloud-auth-plugin', check: /^gke-gcloud-auth-plugin/, detail: /not on PATH/, next: /gcloud components install gke-gcloud-auth-plugin/ },
    { what: 'no application-default credentials', fake: { FAKE_NO_ADC: '1' }, check: /^application-default credentials/, detail: /Your default credentials were not found/, next: /^`gcloud auth application-default login`$/ },
    { what: 'Docker without buildx', fake: { FAKE_NO_BUILDX: '1' }, check: /^Docker with BuildKit/, detail: /'buildx' is not a docker command/, next: /buildx plugin/ },
    { what: 'a Docker daemon that does not answer', fake: { FAKE_NO_DOCKERD: '1' }, check: /^Docker with BuildKit/, detail: /^docker info \(the daemon\) exited 1: Cannot connect to the Docker daemon/, next: /`docker info` must answer/ },
    { what: 'the Service Usage API off', fake: { FAKE_ENABLED_APIS: 'compute.googleapis.com' }, check: /reachable, Service Usage API on$/, detail: /serviceusage\.googleapis\.com is off/, next: /gcloud services enable serviceusage\.googleapis\.com --project meshscope-dev/ },
    {
      what: 'an account without the roles', check: /^your roles on meshscope-dev$/,
      fake: { FAKE_IAM_POLICY: JSON.stringify({ bindings: [{ role: 'roles/compute.admin', members: ['user:alice@example.com'] }, { role: 'roles/owner', members: ['user:bob@example.com'] }] }) },
      detail: /^alice@example\.com lacks roles\/serviceusage\.serviceUsageAdmin, roles\/container\.admin, .* \(roles held through a group are not seen here\)$/,
      next: /^gcloud projects add-iam-policy-binding meshscope-dev --member=user:alice@example\.com --role=roles\/serviceusage\.serviceUsageAdmin; /,
    },
  ];
  for (const s of scenarios) {
    it(`fails only its own line, with the fix, on ${s.what}`, async () => {
      const r = await preflight(['--stack', 'dev'], s.fake, { without: s.without });
      assert.equal(r.code, 1);
      const f = failing(r);
      assert.equal(f.length, 1, `expected one failure, got: ${f.join('; ')}`);
      assert.match(f[0], s.check);
      const line = r.lines.get(f[0])!;
      assert.match(line.detail, s.detail);
      assert.match(line.next ?? '', s.next);
    });
  }

  it('accepts an account holding every role needed, without owner', async () => {
    const policy = { bindings: REQUIRED_ROLES.map((x) => ({ role: x.role, members: ['user:alice@example.com'] })) };
    const r = await preflight(['--stack', 'dev'], { FAKE_IAM_POLICY: JSON.stringify(policy) });
    assert.equal(r.lines.get('your roles on meshscope-dev')?.detail, 'alice@example.com holds every role needed');
  });

  it('fails the settings line on a broken stack file, naming the file, and skips what needs its project', async () => {
    const root = fs.mkdtempSync(path.join(dir, 'repo-'));
    fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
    fs.writeFileSync(path.join(root, 'Pulumi.dev.yaml'), 'config:\n  gcp:project: [oops\n');
    const r = await preflight(['--stack', 'dev'], {}, { repoRoot: root });
    assert.equal(r.code, 1);
    assert.deepEqual(failing(r), ['stack settings Pulumi.dev.yaml']);
    assert.match(r.lines.get('stack settings Pulumi.dev.yaml')!.detail, /^Pulumi\.dev\.yaml: line \d+, column \d+: /);
    assert.equal([...r.lines.values()].filter((l) => l.status === 'SKIP').length, 2);
  });

  it('exits 2 naming the known stacks for a stack without a settings file', async () => {
    const r = await preflight(['--stack', 'staging']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--stack staging: no Pulumi\.staging\.yaml; known stacks: dev, prod/);
  });

  it('asks for the CLI version package.json pins the SDK at', () => {
    assert.match(minimumPulumi(REPO_ROOT), /^3\.\d+\.\d+$/);
  });
});
