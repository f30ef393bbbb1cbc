// The local chart cache, as the tools and tests see it: a folder holding every chart and manifest pinned in
// infra/charts.ts, unpacked, at `<cache>/<cachePath>`, each matching its digest in infra/charts.lock.json.
// `npm run charts` fills it from the upstream repositories; a machine that cannot reach them points
// MESHSCOPE_CHART_CACHE at a copy (here: ../shared/charts, beside the project). The program itself takes its
// charts from the same folder (infra/chart-cache.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allCharts, ChartPin, ONLINE_BOUTIQUE_RELEASES } from '../infra/charts';
import { chartCacheDir, FILL_COMMAND, lockProblem, PROJECT_ROOT, readChartLock } from '../infra/chart-cache';

export { chartCacheDir, LOCAL_CACHE } from '../infra/chart-cache';
export const REPO_ROOT = PROJECT_ROOT;

/** The pinned chart a Helm release installs: its `chart` is a pin's folder in the chart cache, at the pin's version. */
export function pinOfRelease(release: { chart?: string; version?: string }): ChartPin {
  const chart = (release.chart ?? '').split(path.sep).join('/');
  const pin = allCharts().find((p) => p.version === release.version && (chart === p.cachePath || chart.endsWith(`/${p.cachePath}`)));
  if (!pin) {
    const known = allCharts().map((p) => `<cache>/${p.cachePath} ${p.version}`);
    throw new Error(`chart ${release.chart} ${release.version ?? '(no version)'} is not a pinned chart of the chart cache (infra/charts.ts); pinned: ${known.join('; ')}`);
  }
  return pin;
}

/** The folder a release's `chart` names, resolved as the provider resolves it: against the project folder. */
export function chartDirOfRelease(release: { chart?: string }): string {
  if (!release.chart) throw new Error('a Helm release without a chart');
  return path.resolve(PROJECT_ROOT, release.chart);
}

/** The unpacked chart folder of a pin, or a message that says how to fill the cache. */
export function cachedChartDir(pin: ChartPin, cache = chartCacheDir()): string {
  const dir = path.join(cache, pin.cachePath);
  if (!fs.existsSync(path.join(dir, 'Chart.yaml'))) {
    throw new Error(`chart ${pin.chart} ${pin.version} is not in the chart cache (${dir}): run \`${FILL_COMMAND}\`, or set MESHSCOPE_CHART_CACHE to a folder that holds it`);
  }
  return dir;
}

/** The cached release manifest of an Online Boutique version. */
export function cachedBoutiqueManifest(version: string, cache = chartCacheDir()): string {
  const release = ONLINE_BOUTIQUE_RELEASES[version];
  if (!release) throw new Error(`Online Boutique ${version} is not pinned in infra/charts.ts; pinned: ${Object.keys(ONLINE_BOUTIQUE_RELEASES).join(', ')}`);
  const file = path.join(cache, release.manifestPath);
  if (!fs.existsSync(file)) throw new Error(`Online Boutique ${version} manifest is not in the chart cache (${file}): run \`${FILL_COMMAND}\``);
  return file;
}

/** Every cache target pinned in infra/charts.ts: each chart's folder and each manifest. */
export function pinnedTargets(): string[] {
  return [...allCharts().map((p) => p.cachePath), ...Object.values(ONLINE_BOUTIQUE_RELEASES).map((r) => r.manifestPath)];
}

/** What keeps the cache from serving every pin: a line per missing or mismatching target (empty when ready). */
export function cacheProblems(cache = chartCacheDir()): string[] {
  const lock = readChartLock();
  return pinnedTargets().map((t) => lockProblem(t, cache, lock)).filter((p): p is string => !!p);
}

/**
 * Throws one error naming everything the cache lacks and the command that fills it, so a clone with an empty
 * cache stops once, at the start, rather than in every test or release that needs a chart.
 */
export function assertChartCacheReady(cache = chartCacheDir()): void {
  const problems = cacheProblems(cache);
  if (problems.length === 0) return;
  const missing = problems.filter((p) => p.includes('is not in the chart cache')).length;
  const fix = missing
    ? `run \`${FILL_COMMAND}\` (it pulls every pinned chart and manifest and checks each against infra/charts.lock.json), or set MESHSCOPE_CHART_CACHE to a folder that holds them`
    : 'the lock and the cache disagree: nothing is rendered or applied from a chart that is not the locked one';
  throw new Error(`the chart cache ${cache} is not ready (${problems.length} of ${pinnedTargets().length} pinned charts and manifests): ${fix}\n  - ${problems.join('\n  - ')}`);
}
