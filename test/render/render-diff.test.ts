// A change to a chart value shows object by object: the render diff of base and head (both rendered by a real
// helm from the chart cache) names exactly the objects and fields that change, and reads as a PR comment.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { helmSource } from '../../infra/chart-cache';
import { REPO_ROOT } from '../../tools/chart-cache';
import { diffRenders, fieldChanges, fromRendered, lineDiff, objectId, renderDiffMarkdown } from '../../tools/render-diff';
import { renderReleaseInputs, RenderedStack } from '../../tools/render-stack';
import { rendered } from './rendered';

const run = promisify(execFile);
const tsx = (script: string, args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tools', script), ...args], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });

/** The stack's render with one release rendered again from the same chart with other values. */
async function withReleaseValues(r: RenderedStack, release: string, change: (values: Record<string, any>) => void) {
  const rel = r.releases.find((x) => x.name === release)!;
  const values = structuredClone(rel.values);
  change(values);
  const again = await renderReleaseInputs({ name: rel.name, namespace: rel.namespace, ...helmSource(rel.pin), values, skipAwait: !rel.waits });
  return [...r.objects.filter((o) => o.origin !== `release ${release}`), ...again.objects];
}

describe('render diff', () => {
  it('names exactly the one object and field a chart value changes (OAP replicas 1 → 2 in dev)', async function () {
    this.timeout(120_000);
    const dev = await rendered('dev');
    const head = await withReleaseValues(dev, 'skywalking', (v) => { v.oap.replicas = 2; });
    assert.deepEqual(diffRenders(fromRendered(dev.objects), fromRendered(head)), [{
      id: 'Deployment.apps skywalking/skywalking-oap', change: 'changed', origin: 'release skywalking',
      fields: [{ path: 'spec.replicas', before: 1, after: 2 }],
    }]);
  });

  describe('a config change that moves chart values (alsTarget receiver → oap in dev)', () => {
    let base: RenderedStack;
    let head: RenderedStack;
    before(async function () {
      this.timeout(120_000);
      base = await rendered('dev');
      head = await rendered('dev', { 'meshscope:observability': { alsTarget: 'oap', oapReplicas: 1, oapStorage: 'banyandb', receiverReplicas: 1, receiverMaxReplicas: 3 } });
    });

    it('lists the added env vars of OAP (and its init Job) as fields, by container and variable name', () => {
      const changes = diffRenders(fromRendered(base.objects), fromRendered(head.objects));
      for (const id of ['Deployment.apps skywalking/skywalking-oap', 'Job.batch skywalking/skywalking-oap-init']) {
        assert.deepEqual(changes.find((c) => c.id === id)?.fields, ['HTTP', 'TCP'].map((p) => ({
          path: `spec.template.spec.containers[name=oap].env[name=SW_ENVOY_METRIC_ALS_${p}_ANALYSIS]`,
          after: { name: `SW_ENVOY_METRIC_ALS_${p}_ANALYSIS`, value: 'mx-mesh' },
        })), id);
      }
      assert.equal(changes.find((c) => c.id === 'Service skywalking/oap-ilb')?.change, 'added');
    });

    it('leaves out every object that is the same on both sides, and lists every one that is not', () => {
      const changes = new Set(diffRenders(fromRendered(base.objects), fromRendered(head.objects)).map((c) => c.id));
      const headById = new Map(head.objects.map((o) => [objectId(o.object), o.object]));
      for (const o of base.objects) {
        const id = objectId(o.object);
        const same = JSON.stringify(headById.get(id)) === JSON.stringify(o.object);
        assert.equal(changes.has(id), !same, id);
      }
      const baseIds = new Set(base.objects.map((o) => objectId(o.object)));
      for (const id of headById.keys()) if (!baseIds.has(id)) assert.ok(changes.has(id), `${id} is new in head`);
    });

    it('shows a changed config file held in a ConfigMap as its changed lines', () => {
      const mesh = diffRenders(fromRendered(base.objects), fromRendered(head.objects)).find((c) => c.id === 'ConfigMap istio-system/istio')!;
      const md = renderDiffMarkdown('dev', [mesh], { base: 'base', head: 'head' });
      assert.match(md, /```diff\n- +address: meshscope-receiver\.skywalking\.svc\.cluster\.local:11800\n\+ +address: skywalking-oap\.skywalking\.svc\.cluster\.local:11800\n```/);
    });
  });

  it('matches list items by name, so a variable added in front is one field, not a shifted list', () => {
    const before = { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] };
    const after = { env: [{ name: 'Z', value: '0' }, { name: 'A', value: '1' }, { name: 'B', value: '3' }] };
    assert.deepEqual(fieldChanges(before, after), [
      { path: 'env[name=B].value', before: '2', after: '3' },
      { path: 'env[name=Z]', after: { name: 'Z', value: '0' } },
    ]);
    assert.deepEqual(lineDiff('a\nb\nc', 'a\nB\nc\nd'), ['- b', '+ B', '+ d']);
  });

  it('keeps the comment for the largest diff there is here (dev → prod) within GitHub\'s 65536 characters', async function () {
    this.timeout(120_000);
    const [dev, prod] = await Promise.all([rendered('dev'), rendered('prod')]);
    const changes = diffRenders(fromRendered(dev.objects), fromRendered(prod.objects));
    const md = renderDiffMarkdown('prod', changes, { base: 'dev', head: 'prod' });
    assert.ok(md.length < 65536, `${md.length} characters`);
    for (const c of changes) assert.ok(md.includes(`| \`${c.id}\` | ${c.change}`), c.id);
  });

  describe('npm run render-diff', () => {
    let scratch: string;
    before(() => { scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-render-diff-')); });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it('diffs this checkout against a folder npm run render wrote, as Markdown', async function () {
      this.timeout(240_000);
      const base = path.join(scratch, 'base');
      await tsx('render-cli.ts', ['--stack', 'dev', '--out', base]);
      // The base as an older commit would have had it: the frontend Deployment without one label.
      const file = path.join(base, 'dev', 'boutique', 'Deployment.apps_frontend.yaml');
      const [header, ...rest] = fs.readFileSync(file, 'utf8').split('\n');
      const obj = parse(rest.join('\n'));
      delete obj.metadata.labels.app;
      fs.writeFileSync(file, `${header}\n${stringify(obj)}`);
      const { stdout } = await tsx('render-diff-cli.ts', ['--base-dir', base, '--stack', 'dev']);
      assert.match(stdout, /^### Kubernetes objects of `dev`: `.+` → this checkout$/m);
      assert.match(stdout, /^0 added, 0 removed, 1 changed/m);
      assert.match(stdout, /^\| `Deployment\.apps boutique\/frontend` \| changed \(1 field\) \| program /m);
      assert.match(stdout, /^\| `metadata\.labels\.app` \| — \| `frontend` \|$/m);
    });

    it('renders a git ref from an export, never touching the checkout, and diffs against it', async function () {
      this.timeout(240_000);
      // A checkout made without git (actions/checkout falls back to a download when git is missing) has no history.
      if (!fs.existsSync(path.join(REPO_ROOT, '.git'))) this.skip();
      const out = path.join(scratch, 'ref.md');
      const { stderr } = await tsx('render-diff-cli.ts', ['--base', 'HEAD', '--stack', 'dev', '--out', out]);
      assert.match(stderr, /^dev: \d+ object\(s\) differ$/m);
      assert.match(fs.readFileSync(out, 'utf8'), /^### Kubernetes objects of `dev`: `HEAD` → this checkout$/m);
    });

    it('asks for exactly one base', async () => {
      await assert.rejects(tsx('render-diff-cli.ts', ['--stack', 'dev']), /exactly one of --base/);
    });
  });
});
