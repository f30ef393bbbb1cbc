// The local chart cache: a folder holding every chart and manifest pinned in infra/charts.ts, unpacked, at
// `<cache>/<cachePath>`. `npm run charts` fills it from the upstream repositories; a machine that cannot
// reach them points MESHSCOPE_CHART_CACHE at a copy (here: ../shared/charts, beside the project).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allCharts, ChartPin, ONLINE_BOUTIQUE_RELEASES } from '../infra/charts';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** Used when MESHSCOPE_CHART_CACHE is unset and it exists: the read-only copy laid beside the project. */
const SHARED_CACHE = path.resolve(REPO_ROOT, '..', 'shared', 'charts');
/** Where `npm run charts` puts what it pulls by default (git-ignored). */
export const LOCAL_CACHE = path.join(REPO_ROOT, '.chart-cache');

export function chartCacheDir(): string {
  if (process.env.MESHSCOPE_CHART_CACHE) return path.resolve(process.env.MESHSCOPE_CHART_CACHE);
  return fs.existsSync(SHARED_CACHE) ? SHARED_CACHE : LOCAL_CACHE;
}

/** The pinned chart a Helm release installs, found by its `chart`, `version` and repository. */
export function pinOfRelease(release: { chart: string; version?: string; repositoryOpts?: { repo?: string } }): ChartPin {
  const pin = allCharts().find((p) => p.version === release.version && (
    p.repo.startsWith('oci://') ? release.chart === `${p.repo}/${p.chart}` : release.chart === p.chart && release.repositoryOpts?.repo === p.repo));
  if (!pin) {
    const known = allCharts().map((p) => `${p.repo.startsWith('oci://') ? `${p.repo}/${p.chart}` : `${p.repo} ${p.chart}`} ${p.version}`);
    throw new Error(`chart ${release.chart} ${release.version ?? '(no version)'} from ${release.repositoryOpts?.repo ?? 'its OCI reference'} is not pinned in infra/charts.ts; pinned: ${known.join('; ')}`);
  }
  return pin;
}

/** The unpacked chart folder of a pin, or a message that says how to fill the cache. */
export function cachedChartDir(pin: ChartPin, cache = chartCacheDir()): string {
  const dir = path.join(cache, pin.cachePath);
  if (!fs.existsSync(path.join(dir, 'Chart.yaml'))) {
    throw new Error(`chart ${pin.chart} ${pin.version} is not in the chart cache (${dir}): run \`npm run charts\`, or set MESHSCOPE_CHART_CACHE to a folder that holds it`);
  }
  return dir;
}

/** The cached release manifest of an Online Boutique version. */
export function cachedBoutiqueManifest(version: string, cache = chartCacheDir()): string {
  const release = ONLINE_BOUTIQUE_RELEASES[version];
  if (!release) throw new Error(`Online Boutique ${version} is not pinned in infra/charts.ts; pinned: ${Object.keys(ONLINE_BOUTIQUE_RELEASES).join(', ')}`);
  const file = path.join(cache, release.manifestPath);
  if (!fs.existsSync(file)) throw new Error(`Online Boutique ${version} manifest is not in the chart cache (${file}): run \`npm run charts\``);
  return file;
}
