// One Helm release rendered synchronously by the pinned helm from the chart cache: what the policy pack needs
// to judge the objects a `helm.sh/v3` Release or `helm.sh/v4` Chart would apply, from the resource's own inputs
// (chart, version, repository, values). `npm run render` renders the same way (tools/render-stack.ts).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { cachedChartDir, chartCacheDir, chartDirOfRelease, pinOfRelease } from './chart-cache';
import { helmTemplateArgs } from './helm-template-args';
import { HELM, sha256Of, toolsCacheDir } from './packaged-binaries';

export interface ReleaseInputs {
  name: string;
  namespace: string;
  /** A chart name or `oci://…/name` (found among the pins), or a local chart folder (a path with Chart.yaml). */
  chart: string;
  version?: string;
  repositoryOpts?: { repo?: string };
  values: Record<string, unknown>;
}

export interface ReleaseObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The verified helm binary unpacked by `ensureHelm()` (tools/packaged-binaries.ts), or MESHSCOPE_HELM. */
export function helmBinarySync(): string {
  const override = process.env[HELM.override];
  if (override) return override;
  const target = path.join(toolsCacheDir(), `${HELM.name}-${HELM.version}`, HELM.name);
  if (!fs.existsSync(target) || sha256Of(target) !== HELM.sha256) {
    throw new Error(`helm ${HELM.version} is not unpacked in ${path.dirname(target)}: run \`npm run render\` once (it fetches it), or set ${HELM.override}`);
  }
  return target;
}

/** The chart folder a release installs: a local folder (resolved against the project, as the provider resolves it),
 * else the pinned chart's copy in the cache. */
export function chartDirOf(r: Pick<ReleaseInputs, 'chart' | 'version' | 'repositoryOpts'>, cache = chartCacheDir()): string {
  const local = chartDirOfRelease(r);
  if (fs.existsSync(path.join(local, 'Chart.yaml'))) return local;
  return cachedChartDir(pinOfRelease(r), cache);
}

const rendered = new Map<string, ReleaseObject[]>();

/** Every object `helm template` renders for the release (hooks and CRDs included); memoised per inputs. */
export function renderReleaseSync(r: ReleaseInputs): ReleaseObject[] {
  const chartDir = chartDirOf(r);
  const key = JSON.stringify([chartDir, r.name, r.namespace, r.values]);
  const hit = rendered.get(key);
  if (hit) return hit;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-policy-values-'));
  try {
    const valuesFile = path.join(dir, 'values.yaml');
    fs.writeFileSync(valuesFile, stringify(r.values));
    let stdout: string;
    try {
      stdout = execFileSync(helmBinarySync(), helmTemplateArgs(r.name, chartDir, r.namespace, valuesFile), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`helm template of release ${r.name} (${chartDir}) failed: ${(err.stderr || err.message).trim()}`);
    }
    const objects: ReleaseObject[] = [];
    for (const doc of parseAllDocuments(stdout)) {
      if (doc.errors.length) throw new Error(`release ${r.name}: helm printed invalid YAML: ${doc.errors[0].message}`);
      const obj = doc.toJS() as ReleaseObject | null;
      if (obj) objects.push(obj);
    }
    rendered.set(key, objects);
    return objects;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
