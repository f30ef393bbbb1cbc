// `npm run render` and `npm run charts` as a user runs them: real processes, real files.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { allCharts, ONLINE_BOUTIQUE_RELEASES } from '../../infra/charts';
import { chartCacheDir, REPO_ROOT } from '../../tools/chart-cache';
import { fillSteps } from '../../tools/fill-chart-cache';

const run = promisify(execFile);
const tsx = (script: string, args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tools', script), ...args], { cwd: REPO_ROOT });

describe('npm run render', () => {
  let out: string;
  let stdout: string;
  before(async function () {
    this.timeout(120_000);
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-render-'));
    fs.mkdirSync(path.join(out, 'dev', 'stale'), { recursive: true });
    fs.writeFileSync(path.join(out, 'dev', 'stale', 'Gone_x.yaml'), 'left by an earlier run');
    ({ stdout } = await tsx('render-cli.ts', ['--stack', 'dev', '--stack', 'prod', '--out', out]));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('writes one file per object, by namespace, kind and name, for each stack asked for', () => {
    const frontend = parse(fs.readFileSync(path.join(out, 'dev', 'boutique', 'Deployment.apps_frontend.yaml'), 'utf8'));
    assert.equal(frontend.kind, 'Deployment');
    assert.ok(fs.existsSync(path.join(out, 'prod', 'skywalking', 'Service_skywalking-oap.yaml')));
    assert.ok(fs.existsSync(path.join(out, 'dev', '_cluster', 'Namespace_boutique.yaml')));
  });

  it('says for each stack that its checks passed, and exits 0', () => {
    assert.match(stdout, /^dev: checks passed/m);
    assert.match(stdout, /^prod: checks passed/m);
  });

  it('writes the values handed to each Helm release, with the helm command that renders them', () => {
    const text = fs.readFileSync(path.join(out, 'dev', '_releases', 'skywalking.values.yaml'), 'utf8');
    assert.match(text, /^# helm template skywalking skywalking-helm 4\.9\.0 --namespace skywalking/);
    assert.equal(parse(text).banyandb.image.tag, '0.10.1');
  });

  it('replaces what an earlier run left for the same stack', () => {
    assert.equal(fs.existsSync(path.join(out, 'dev', 'stale')), false);
  });

  it('writes the same files on a second run, so renders of two commits diff cleanly', async function () {
    this.timeout(120_000);
    const again = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-render-'));
    try {
      await tsx('render-cli.ts', ['--stack', 'dev', '--out', again]);
      const list = (root: string) => fs.readdirSync(root, { recursive: true }).map(String).sort();
      assert.deepEqual(list(path.join(again, 'dev')), list(path.join(out, 'dev')));
      for (const f of list(path.join(out, 'dev')).filter((f) => f.endsWith('.yaml'))) {
        assert.equal(fs.readFileSync(path.join(again, 'dev', f), 'utf8'), fs.readFileSync(path.join(out, 'dev', f), 'utf8'), f);
      }
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
  });

  it('refuses a stack with no Pulumi.<stack>.yaml, naming the known ones', async () => {
    await assert.rejects(tsx('render-cli.ts', ['--stack', 'staging', '--out', out]), (e: { stderr: string }) => {
      assert.match(e.stderr, /--stack staging: no Pulumi\.<stack>\.yaml; known stacks: dev, prod/);
      return true;
    });
  });
});

describe('npm run charts', () => {
  it('plans one step per pinned chart and manifest, each landing where the renderer looks', () => {
    const targets = fillSteps().map((s) => s.target).sort();
    const pinned = [...allCharts().map((p) => p.cachePath), ...Object.values(ONLINE_BOUTIQUE_RELEASES).map((r) => r.manifestPath)].sort();
    assert.deepEqual(targets, pinned);
  });

  it('lists what an empty cache lacks, with the real paths, without fetching anything on --dry-run', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-cache-'));
    try {
      const { stdout } = await tsx('fill-chart-cache.ts', ['--dry-run', '--cache', empty]);
      assert.match(stdout, new RegExp(`^chart cache: ${empty}$`, 'm'));
      assert.match(stdout, /fetch {2}istio\/1\.30\.3\/istiod: helm pull istiod --repo \S+ --version 1\.30\.3 --destination <tmp>, then unpack it into (\S+)istio\/1\.30\.3$/m);
      assert.ok(stdout.includes(`unpack it into ${path.join(empty, 'istio', '1.30.3')}`), stdout);
      assert.match(stdout, /fetch {2}skywalking-helm\/4\.9\.0\/skywalking-helm: helm pull oci:\/\/\S+\/skywalking-helm --version 4\.9\.0/);
      assert.doesNotMatch(stdout, /<cache>/);
      assert.deepEqual(fs.readdirSync(empty), []);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('uses the same cache as npm run render, and prints it', async () => {
    const [charts, render] = await Promise.all([tsx('fill-chart-cache.ts', ['--dry-run']), tsx('render-cli.ts', ['--help'])]);
    assert.match(charts.stdout, new RegExp(`^chart cache: ${chartCacheDir()}$`, 'm'));
    assert.match(render.stdout, /MESHSCOPE_CHART_CACHE/);
  });

  it('checks every cached chart and manifest against the lock, and stops on a changed one with both digests', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-cache-'));
    try {
      const { stdout } = await tsx('fill-chart-cache.ts', ['--cache', chartCacheDir()]);
      assert.match(stdout, /chart cache ready: .*each matching infra\/charts\.lock\.json/);
      fs.cpSync(chartCacheDir(), cache, { recursive: true });
      const manifest = Object.values(ONLINE_BOUTIQUE_RELEASES)[0].manifestPath;
      fs.appendFileSync(path.join(cache, manifest), '\n# edited\n');
      await assert.rejects(tsx('fill-chart-cache.ts', ['--cache', cache]), (e: { stderr: string }) => {
        assert.match(e.stderr, new RegExp(`${manifest.replace(/\./g, '\\.')} in \\S+ has digest sha256:[0-9a-f]{64}, but infra/charts\\.lock\\.json locks sha256:[0-9a-f]{64}`));
        return true;
      });
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
