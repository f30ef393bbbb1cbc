// `npm run charts [-- --cache DIR] [--dry-run] [--update-lock]`: fills the chart cache (the same folder
// `npm run render`, the tests and `pulumi up` read: tools/chart-cache.ts) with every chart and manifest
// pinned in infra/charts.ts, from the upstream repositories (`helm pull`, and the Online Boutique release
// manifest from its tag), then checks every one against its digest in infra/charts.lock.json. What is
// already cached is kept (and checked); `--update-lock` records the digests instead, when a pin moves.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { allCharts, ChartPin, ONLINE_BOUTIQUE_RELEASES } from '../infra/charts';
import {
  CHART_LOCK_FILE, ChartLock, contentDigest, fileDigest, LockEntry, lockProblem, PROJECT_ROOT, readChartLock,
} from '../infra/chart-cache';
import { chartCacheDir } from './chart-cache';
import { ensureHelm } from './packaged-binaries';

const run = promisify(execFile);

export interface FillStep {
  /** What the step leaves in the cache, relative to it (the lock's key). */
  target: string;
  /** What the lock says it is. */
  ref: string;
  describe(cache: string): string;
  /** Puts the target into the cache; returns the digest of the archive it came in, when there was one. */
  run(cache: string, helm: string): Promise<{ archiveDigest?: string }>;
}

const chartRef = (pin: ChartPin) => (pin.repo.startsWith('oci://') ? `${pin.repo}/${pin.chart} ${pin.version}` : `${pin.repo} ${pin.chart} ${pin.version}`);

/** `helm pull` arguments that download a pinned chart's archive into `destination`. */
export function pullArgs(pin: ChartPin, destination: string): string[] {
  const source = pin.repo.startsWith('oci://') ? [`${pin.repo}/${pin.chart}`] : [pin.chart, '--repo', pin.repo];
  return ['pull', ...source, '--version', pin.version, '--destination', destination];
}

/** Where a release manifest of Online Boutique is published: the `release/` folder at its tag. */
export function boutiqueManifestUrl(version: string, file: string): string {
  return `https://raw.githubusercontent.com/GoogleCloudPlatform/microservices-demo/${version}/release/${file}`;
}

/** The step that pulls one pinned chart's archive from its repository and unpacks it into the cache. */
export function chartStep(pin: ChartPin): FillStep {
  return {
    target: pin.cachePath,
    ref: chartRef(pin),
    describe: (cache) => `helm ${pullArgs(pin, '<tmp>').join(' ')}, then unpack it into ${path.join(cache, path.dirname(pin.cachePath))}`,
    async run(cache, helm) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-pull-'));
      try {
        await run(helm, pullArgs(pin, tmp)).catch((e: { stderr?: string; message: string }) => {
          throw new Error(`helm pull of ${chartRef(pin)} failed: ${(e.stderr ?? e.message).trim()}`);
        });
        const archives = fs.readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
        if (archives.length !== 1) throw new Error(`helm pull of ${chartRef(pin)} left ${archives.length} archives: ${archives.join(', ')}`);
        const archive = path.join(tmp, archives[0]);
        const into = path.join(cache, path.dirname(pin.cachePath));
        fs.mkdirSync(into, { recursive: true });
        await run('tar', ['-xzf', archive, '-C', into]);
        if (!fs.existsSync(path.join(cache, pin.cachePath, 'Chart.yaml'))) throw new Error(`${archives[0]} holds no ${pin.chart}/Chart.yaml`);
        return { archiveDigest: fileDigest(archive) };
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}

export function fillSteps(): FillStep[] {
  const charts = allCharts().map(chartStep);
  const manifests = Object.entries(ONLINE_BOUTIQUE_RELEASES).map(([version, release]): FillStep => {
    const url = boutiqueManifestUrl(version, path.basename(release.manifestPath));
    return {
      target: release.manifestPath,
      ref: url,
      describe: () => `download ${url}`,
      async run(cache) {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        const file = path.join(cache, release.manifestPath);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, await res.text());
        return {};
      },
    };
  });
  return [...charts, ...manifests];
}

/**
 * The lock entry for a target as the cache now holds it. A target this run pulled is recorded as upstream,
 * with the archive's digest; one that was already there may be a copy (here ../shared/charts, modified as
 * its README says), so its digest is recorded as the copy's, and says so.
 */
export function lockEntryOf(step: FillStep, cache: string, pulled?: { archiveDigest?: string }): LockEntry {
  const digest = contentDigest(path.join(cache, step.target));
  if (pulled) return { ref: step.ref, digest, recordedFrom: 'upstream', ...(pulled.archiveDigest ? { archiveDigest: pulled.archiveDigest } : {}) };
  const where = path.relative(PROJECT_ROOT, cache) || '.';
  return {
    ref: step.ref, digest, recordedFrom: 'copy',
    note: `not pulled from ${step.ref}: the content digest of the copy in ${where}, which may differ from the published artifact (a modified copy says how in its README); where the repository is reachable, a fresh cache and \`npm run charts -- --update-lock\` record the published one`,
  };
}

export function writeChartLock(lock: ChartLock, file = CHART_LOCK_FILE): void {
  const entries = Object.fromEntries(Object.entries(lock.entries).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(file, `${JSON.stringify({ about: lock.about, entries }, null, 2)}\n`);
}

const LOCK_ABOUT = 'Digests of every chart and manifest pinned in infra/charts.ts, keyed by its place in the chart cache. '
  + 'Checked by `npm run charts` on every fill and by the program before it hands a chart to a Helm release; written by '
  + '`npm run charts -- --update-lock` when a pin moves. `digest` is the content of the unpacked chart (tools: infra/chart-cache.ts treeDigest) '
  + 'or of the manifest file; `archiveDigest` is the archive the repository served, when it was pulled here.';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { cache: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'update-lock': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: npm run charts -- [--cache DIR] [--dry-run] [--update-lock]
Fills the chart cache with every chart and manifest pinned in infra/charts.ts, then checks each against
infra/charts.lock.json. The cache is DIR, else MESHSCOPE_CHART_CACHE, else ../shared/charts when present,
else .chart-cache: the same folder npm run render, the tests and pulumi up read.
  --dry-run      list what is cached and what would be fetched; fetch and check nothing
  --update-lock  record the digests of what the cache holds (after filling it) instead of checking them`);
    return;
  }
  const cache = path.resolve(values.cache ?? chartCacheDir());
  console.log(`chart cache: ${cache}`);
  const steps = fillSteps();
  const todo = steps.filter((s) => !fs.existsSync(path.join(cache, s.target)));
  for (const step of steps) console.log(`${todo.includes(step) ? 'fetch ' : 'cached'} ${step.target}${todo.includes(step) ? `: ${step.describe(cache)}` : ''}`);
  if (values['dry-run']) return;

  const pulled = new Map<FillStep, { archiveDigest?: string }>();
  if (todo.length) {
    const helm = await ensureHelm();
    for (const step of todo) pulled.set(step, await step.run(cache, helm));
  }
  if (values['update-lock']) {
    const lock = readChartLock();
    const entries = Object.fromEntries(steps.map((s) => [s.target, lockEntryOf(s, cache, pulled.get(s))]));
    writeChartLock({ about: LOCK_ABOUT, entries: { ...entries } });
    for (const s of steps) console.log(`locked ${s.target} ${entries[s.target].digest} (${entries[s.target].recordedFrom})${lock.entries[s.target]?.digest === entries[s.target].digest ? '' : ' (changed)'}`);
    console.log(`wrote ${path.relative(PROJECT_ROOT, CHART_LOCK_FILE)}: review its diff with the render's (npm run render-diff)`);
    return;
  }
  const lock = readChartLock();
  const problems = steps.map((s) => {
    const problem = lockProblem(s.target, cache, lock);
    const archive = pulled.get(s)?.archiveDigest;
    return problem && archive ? `${problem}; pulled just now from ${s.ref}, archive ${archive}` : problem;
  }).filter((p): p is string => !!p);
  if (problems.length) throw new Error(`the chart cache does not match infra/charts.lock.json:\n  - ${problems.join('\n  - ')}`);
  console.log(`chart cache ready: ${cache} (${steps.length} pinned charts and manifests, each matching infra/charts.lock.json)`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`charts: ${e.message}`);
    process.exit(1);
  });
}
