// Where `pulumi up` takes each chart from: the local chart cache that `npm run render` and the tests read,
// never a repository at deploy time. Before a chart is handed to a Helm release, its unpacked tree is hashed
// and compared with the digest committed in infra/charts.lock.json, so what was reviewed is what is applied.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChartPin } from './charts';

/** The Pulumi project's folder: chart paths handed to releases are relative to it (the provider resolves a
 * local chart against the program's directory), so the state does not change with the machine. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');
/** Used when MESHSCOPE_CHART_CACHE is unset and it exists: the read-only copy laid beside the project. */
export const SHARED_CACHE = path.resolve(PROJECT_ROOT, '..', 'shared', 'charts');
/** Where `npm run charts` puts what it pulls by default (git-ignored). */
export const LOCAL_CACHE = path.join(PROJECT_ROOT, '.chart-cache');
export const CHART_LOCK_FILE = path.join(PROJECT_ROOT, 'infra', 'charts.lock.json');
/** What every "the cache lacks it" message tells the user to run. */
export const FILL_COMMAND = 'npm run charts';

/** The one chart cache every command uses: MESHSCOPE_CHART_CACHE, else ../shared/charts when present, else .chart-cache. */
export function chartCacheDir(): string {
  if (process.env.MESHSCOPE_CHART_CACHE) return path.resolve(process.env.MESHSCOPE_CHART_CACHE);
  return fs.existsSync(SHARED_CACHE) ? SHARED_CACHE : LOCAL_CACHE;
}

/** One locked chart or manifest, keyed in the lock by where it sits in the cache. */
export interface LockEntry {
  /** What it is: `<repo> <chart> <version>` for a chart, the release URL for a manifest. */
  ref: string;
  /** `sha256:` of the content: for a chart, of its unpacked tree (see treeDigest), for a manifest, of the file. */
  digest: string;
  /** `upstream`: recorded from what `npm run charts` pulled from `ref` in the same run; `copy`: from a
   * copy already in the cache, which may differ from the published artifact (see `note`). */
  recordedFrom: 'upstream' | 'copy';
  /** For a chart pulled from its repository: `sha256:` of the archive helm downloaded (the registry's digest). */
  archiveDigest?: string;
  note?: string;
}

export interface ChartLock {
  about: string;
  entries: Record<string, LockEntry>;
}

export function readChartLock(file = CHART_LOCK_FILE): ChartLock {
  if (!fs.existsSync(file)) return { about: '', entries: {} };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ChartLock;
}

/**
 * The content digest of an unpacked folder: SHA-256 over each regular file's path (relative, `/`-separated,
 * sorted) and the SHA-256 of its bytes. File modes and timestamps are left out: they depend on how the
 * archive was unpacked, not on what the chart says.
 */
export function treeDigest(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) lines.push(`${p}\0${crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, p))).digest('hex')}`);
      else throw new Error(`${path.join(dir, p)}: neither a file nor a folder; a chart holds only files`);
    }
  };
  walk('');
  lines.sort();
  return `sha256:${crypto.createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

export function fileDigest(file: string): string {
  return `sha256:${crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;
}

/** The digest of a cache target as the lock records it: a tree for a folder, the bytes for a file. */
export function contentDigest(target: string): string {
  return fs.statSync(target).isDirectory() ? treeDigest(target) : fileDigest(target);
}

/**
 * Why a cache target cannot be used, or undefined when it is present and matches its lock entry. `cachePath`
 * is the target's path inside the cache (the lock's key).
 */
export function lockProblem(cachePath: string, cache = chartCacheDir(), lock = readChartLock()): string | undefined {
  const target = path.join(cache, cachePath);
  if (!fs.existsSync(target)) return `${cachePath} is not in the chart cache ${cache}`;
  const entry = lock.entries[cachePath];
  if (!entry) {
    return `${cachePath} has no digest in ${path.relative(PROJECT_ROOT, CHART_LOCK_FILE)} (a pin moved?): review it, then run \`${FILL_COMMAND} -- --update-lock\``;
  }
  const found = contentDigest(target);
  if (found !== entry.digest) {
    return `${cachePath} in ${cache} has digest ${found}, but ${path.relative(PROJECT_ROOT, CHART_LOCK_FILE)} locks ${entry.digest} `
      + `(recorded from ${entry.recordedFrom === 'copy' ? 'a copy' : entry.ref}); it is not the chart that was reviewed`
      // A digest taken from a modified copy can never match a pulled chart: say how to record the published one.
      + (entry.recordedFrom === 'copy'
        ? `. The lock entry was recorded from a copy, not from ${entry.ref}: once, where the repository is reachable, fill a fresh cache with \`${FILL_COMMAND} -- --update-lock\`, review the lock's diff and \`npm run render-diff\`, and commit the lock`
        : '');
  }
  return undefined;
}

/**
 * The chart reference a Helm release installs: the pin's folder in the chart cache, as a path relative to the
 * project, after checking it against the lock (an absent or different chart stops the program here, before
 * anything is deployed). `version` stays, so a version change shows in the release's diff.
 */
export function helmSource(pin: ChartPin): { chart: string; version: string } {
  const cache = chartCacheDir();
  const problem = lockProblem(pin.cachePath, cache);
  if (problem) {
    const fix = fs.existsSync(path.join(cache, pin.cachePath)) ? '' : `: run \`${FILL_COMMAND}\`, or set MESHSCOPE_CHART_CACHE to a folder that holds it`;
    throw new Error(`chart ${pin.chart} ${pin.version}: ${problem}${fix}`);
  }
  return { chart: path.relative(PROJECT_ROOT, path.join(cache, pin.cachePath)).split(path.sep).join('/'), version: pin.version };
}
