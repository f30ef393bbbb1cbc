// `npm run charts [-- --cache DIR] [--dry-run]`: fills the chart cache with every chart and manifest pinned in
// infra/charts.ts, from the upstream repositories (`helm pull … --untar`, and the Online Boutique release
// manifest from its tag). Needs a machine that reaches them; what is already cached is kept.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { allCharts, ChartPin, ONLINE_BOUTIQUE_RELEASES } from '../infra/charts';
import { LOCAL_CACHE } from './chart-cache';
import { ensureHelm } from './packaged-binaries';

export interface FillStep {
  /** What the step leaves in the cache, relative to it. */
  target: string;
  describe: string;
  run(cache: string, helm: string): Promise<void>;
}

/** `helm pull` arguments that unpack a pinned chart into the folder its cachePath names. */
export function pullArgs(pin: ChartPin, cache: string): string[] {
  const untarDir = path.join(cache, path.dirname(pin.cachePath));
  const source = pin.repo.startsWith('oci://') ? [`${pin.repo}/${pin.chart}`] : [pin.chart, '--repo', pin.repo];
  return ['pull', ...source, '--version', pin.version, '--untar', '--untardir', untarDir];
}

/** Where a release manifest of Online Boutique is published: the `release/` folder at its tag. */
export function boutiqueManifestUrl(version: string, file: string): string {
  return `https://raw.githubusercontent.com/GoogleCloudPlatform/microservices-demo/${version}/release/${file}`;
}

export function fillSteps(): FillStep[] {
  const charts = allCharts().map((pin): FillStep => ({
    target: pin.cachePath,
    describe: `helm ${pullArgs(pin, '<cache>').join(' ')}`,
    async run(cache, helm) {
      fs.mkdirSync(path.join(cache, path.dirname(pin.cachePath)), { recursive: true });
      execFileSync(helm, pullArgs(pin, cache), { stdio: 'inherit' });
      if (!fs.existsSync(path.join(cache, pin.cachePath, 'Chart.yaml'))) throw new Error(`helm pull left no ${pin.cachePath}/Chart.yaml`);
    },
  }));
  const manifests = Object.entries(ONLINE_BOUTIQUE_RELEASES).map(([version, release]): FillStep => {
    const url = boutiqueManifestUrl(version, path.basename(release.manifestPath));
    return {
      target: release.manifestPath,
      describe: `download ${url}`,
      async run(cache) {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        const file = path.join(cache, release.manifestPath);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, await res.text());
      },
    };
  });
  return [...charts, ...manifests];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cache: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: npm run charts -- [--cache DIR] [--dry-run]\nFills DIR (default: MESHSCOPE_CHART_CACHE, else .chart-cache) with every chart and manifest pinned in infra/charts.ts.');
    return;
  }
  const cache = path.resolve(values.cache ?? process.env.MESHSCOPE_CHART_CACHE ?? LOCAL_CACHE);
  const steps = fillSteps();
  const todo = steps.filter((s) => !fs.existsSync(path.join(cache, s.target)));
  for (const step of steps) console.log(`${todo.includes(step) ? 'fetch ' : 'cached'} ${step.target}${todo.includes(step) ? `: ${step.describe}` : ''}`);
  if (values['dry-run'] || todo.length === 0) return;
  const helm = await ensureHelm();
  for (const step of todo) await step.run(cache, helm);
  console.log(`chart cache ready: ${cache}${cache === LOCAL_CACHE ? '' : ` (set MESHSCOPE_CHART_CACHE=${cache} for npm run render and the tests)`}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`charts: ${e.message}`);
    process.exit(1);
  });
}
