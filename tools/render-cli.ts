// `npm run render -- --stack <name> [--stack <name> …] [--out DIR]`: writes every Kubernetes object `pulumi up`
// would apply for a stack, one file per object, so two stacks or two commits can be compared with `diff -r`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { chartCacheDir, REPO_ROOT } from './chart-cache';
import { renderProblems } from './check-render';
import { writeGcpRender } from './render-gcp';
import { K8sObject, KUBE_VERSION, RenderedStack, renderStack } from './render-stack';

const USAGE = `usage: npm run render -- --stack <name> [--stack <name> …] [--out DIR]

Evaluates the Pulumi program offline (no cloud, no credentials) and writes what \`pulumi up\` would apply:
every Helm release rendered by helm from the chart cache with the program's values, and the program's own
objects; and the Google Cloud side (firewall rules, instances with their metadata, service accounts, IAM
bindings …). Output: DIR/<stack>/<namespace or _cluster>/<Kind>[.<group>]_<name>.yaml,
DIR/<stack>/_releases/<release>.values.yaml (the values handed to helm) and
DIR/<stack>/_gcp/<module>.<Kind>_<name>.yaml (each resource's inputs). DIR defaults to ./rendered.
Values only the cloud knows (IP addresses, image digests) are stand-ins derived from resource names.
Then checks the render: schemas (Kubernetes and the rendered CRDs), names that point at nothing, releases
that wait on their own post-install hooks, Deployments an HPA scales that also set replicas. Any problem is
printed and the command exits 1 (the files are still written, to look at).

  --stack NAME   a stack with a Pulumi.NAME.yaml (repeatable; default: every stack file)
  --out DIR      output folder (each stack's folder is replaced)

Environment: MESHSCOPE_CHART_CACHE (chart cache; default ../shared/charts when present, else .chart-cache,
filled by \`npm run charts\`), MESHSCOPE_HELM (a helm binary to use instead of the pinned one).`;

function stacksInRepo(): string[] {
  return fs.readdirSync(REPO_ROOT).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

export function fileNameOf(o: K8sObject): string {
  const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
  return `${o.kind}${group}_${o.metadata.name}.yaml`;
}

/** Writes one stack's render, replacing what an earlier run left for that stack. */
export function writeRender(rendered: RenderedStack, outDir: string): number {
  const root = path.join(outDir, rendered.stack);
  fs.rmSync(root, { recursive: true, force: true });
  for (const { object, origin } of rendered.objects) {
    const dir = path.join(root, object.metadata.namespace ?? '_cluster');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, fileNameOf(object)), `# ${origin}\n${stringify(object, { lineWidth: 0 })}`);
  }
  const releasesDir = path.join(root, '_releases');
  fs.mkdirSync(releasesDir, { recursive: true });
  for (const r of rendered.releases) {
    const header = `# helm template ${r.name} ${r.pin.chart} ${r.pin.version} --namespace ${r.namespace} --kube-version ${KUBE_VERSION}\n# from ${r.pin.source}\n`;
    fs.writeFileSync(path.join(releasesDir, `${r.name}.values.yaml`), header + stringify(r.values, { lineWidth: 0 }));
  }
  writeGcpRender(rendered.gcp, root);
  return rendered.objects.length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stack: { type: 'string', multiple: true }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const known = stacksInRepo();
  const stacks = values.stack ?? known;
  const unknown = stacks.filter((s) => !known.includes(s));
  if (unknown.length) throw new Error(`--stack ${unknown.join(', ')}: no Pulumi.<stack>.yaml; known stacks: ${known.join(', ')}`);
  const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'rendered'));
  console.log(`chart cache: ${chartCacheDir()}`);
  let failed = false;
  for (const stack of stacks) {
    const rendered = await renderStack(stack);
    const count = writeRender(rendered, out);
    const perRelease = rendered.releases.map((r) => `${r.name} ${r.objects.length}`).join(', ');
    console.log(`${stack}: ${count} objects (${perRelease}, program ${count - rendered.releases.reduce((n, r) => n + r.objects.length, 0)}) and ${rendered.gcp.length} Google Cloud resources (_gcp/) → ${path.join(out, stack)}`);
    const problems = renderProblems(rendered);
    for (const p of problems) console.log(`  problem: ${p}`);
    console.log(`${stack}: ${problems.length ? `${problems.length} problem(s)` : 'checks passed (schemas, references, install order, autoscaling)'}`);
    failed ||= problems.length > 0;
  }
  if (failed) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`render: ${e.message}`);
    if (/usage|Unknown option|argument/i.test(e.message)) console.error(USAGE);
    process.exit(1);
  });
}
