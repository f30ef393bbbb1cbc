// What is rendered is what is applied: every Helm release installs its chart from the folder of the local chart
// cache that `npm run render` and the tests read, checked against infra/charts.lock.json first; a cache that
// lacks a chart or holds another one stops the program before anything is deployed.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allCharts } from '../../infra/charts';
import { chartCacheDir, readChartLock, treeDigest } from '../../infra/chart-cache';
import { cacheProblems, chartDirOfRelease, pinnedTargets, pinOfRelease } from '../../tools/chart-cache';
import { ProgramRun, runProgram } from './harness';

const RELEASE = 'kubernetes:helm.sh/v3:Release';

/** Runs the program with MESHSCOPE_CHART_CACHE pointing at `cache`, restoring the variable afterwards. */
async function withCache<T>(cache: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.MESHSCOPE_CHART_CACHE;
  process.env.MESHSCOPE_CHART_CACHE = cache;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.MESHSCOPE_CHART_CACHE;
    else process.env.MESHSCOPE_CHART_CACHE = saved;
  }
}

describe('chart source', () => {
  let dev: ProgramRun;
  let scratch: string;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-chart-source-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('installs every release from a chart folder of the chart cache, named relative to the project, never from a repository', () => {
    const releases = dev.ofType(RELEASE);
    assert.equal(releases.length, 4);
    for (const r of releases) {
      assert.equal(r.inputs.repositoryOpts, undefined, r.name);
      assert.doesNotMatch(r.inputs.chart, /^(oci|https?):\/\//, r.name);
      assert.equal(path.isAbsolute(r.inputs.chart), false, `${r.name}: ${r.inputs.chart} would differ from machine to machine`);
      const pin = pinOfRelease(r.inputs);
      assert.equal(chartDirOfRelease(r.inputs), path.join(chartCacheDir(), pin.cachePath));
      assert.equal(r.inputs.version, pin.version);
    }
  });

  it('locks a digest for every pinned chart and manifest, and the cache here matches each', () => {
    assert.deepEqual(Object.keys(readChartLock().entries).sort(), [...pinnedTargets()].sort());
    assert.deepEqual(cacheProblems(), []);
  });

  it('says, for a digest recorded from a copy rather than pulled from the repository, that it is the copy\'s', () => {
    for (const [target, entry] of Object.entries(readChartLock().entries)) {
      if (entry.recordedFrom === 'copy') {
        assert.match(String(entry.note), /not pulled from .*copy/, target);
        assert.equal(entry.archiveDigest, undefined, `${target}: an archive digest is only known for a pulled chart`);
      } else {
        assert.match(String(entry.archiveDigest), /^sha256:[0-9a-f]{64}$/, target);
      }
    }
  });

  it('digests a chart\'s content, not how or when it was unpacked', () => {
    const pin = allCharts()[0];
    const copy = path.join(scratch, 'digest', pin.cachePath);
    fs.cpSync(path.join(chartCacheDir(), pin.cachePath), copy, { recursive: true });
    const chartYaml = path.join(copy, 'Chart.yaml');
    fs.utimesSync(chartYaml, new Date(0), new Date(0));
    fs.chmodSync(chartYaml, 0o600);
    assert.equal(treeDigest(copy), readChartLock().entries[pin.cachePath].digest);
    fs.appendFileSync(path.join(copy, 'values.yaml'), '\n# one more line\n');
    assert.notEqual(treeDigest(copy), readChartLock().entries[pin.cachePath].digest);
  });

  it('stops with both digests when a cached chart is not the locked one', async () => {
    const cache = path.join(scratch, 'changed');
    fs.cpSync(chartCacheDir(), cache, { recursive: true });
    const istiod = allCharts().find((p) => p.chart === 'istiod')!;
    fs.appendFileSync(path.join(cache, istiod.cachePath, 'values.yaml'), '\n# changed after review\n');
    const changed = treeDigest(path.join(cache, istiod.cachePath));
    const locked = readChartLock().entries[istiod.cachePath].digest;
    await withCache(cache, () => assert.rejects(runProgram({ stack: 'dev' }), (e: Error) => {
      assert.match(e.message, /chart istiod 1\.30\.3/);
      assert.ok(e.message.includes(changed) && e.message.includes(locked), e.message);
      // Every entry here was recorded from ../shared/charts: a pulled chart can never match it, so say the one fix.
      if (readChartLock().entries[istiod.cachePath].recordedFrom === 'copy') assert.match(e.message, /recorded from a copy.*npm run charts -- --update-lock/);
      return true;
    }));
  });

  it('stops naming `npm run charts` when the cache is empty', async () => {
    const empty = path.join(scratch, 'empty');
    fs.mkdirSync(empty);
    await withCache(empty, () => assert.rejects(runProgram({ stack: 'dev' }), /is not in the chart cache .*run `npm run charts`/));
  });
});
