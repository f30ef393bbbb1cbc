// `npm run render-diff -- --base <git ref> | --base-dir DIR [--stack <name> …] [--out FILE]`: which Kubernetes
// objects this checkout would change against a base, object by object and field by field, as Markdown (the
// pull-request comment). Both sides are real renders: this checkout's program under mocks with every Helm
// release rendered by helm from the chart cache, and the base either rendered the same way from a git ref
// (exported to a temporary folder, never checked out here) or read from a folder `npm run render` wrote.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chartCacheDir, REPO_ROOT } from './chart-cache';
import { diffRenders, fromRendered, readRenderDir, renderDiffMarkdown } from './render-diff';
import { renderStack } from './render-stack';

const USAGE = `usage: npm run render-diff -- (--base <git ref> | --base-dir DIR) [--stack <name> …] [--out FILE]

Renders each stack from this checkout (as npm run render does) and from the base, and prints, as Markdown,
every Kubernetes object added, removed or changed, with each changed field's old and new value.

  --base REF      a git commit, branch or tag: exported to a temporary folder and rendered there, with this
                  checkout's node_modules and chart cache (the base's own pins are filled into it first)
  --base-dir DIR  a folder written by npm run render -- --out DIR (its DIR/<stack> is read)
  --stack NAME    a stack with a Pulumi.NAME.yaml (repeatable; default: every stack file)
  --out FILE      write the Markdown there instead of to stdout`;

function stacksInRepo(): string[] {
  return fs.readdirSync(REPO_ROOT).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

/** Renders the given stacks of a git ref into `out`, from an export of that ref (the checkout is not touched). */
export function renderGitRef(ref: string, stacks: string[], out: string): void {
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-base-'));
  try {
    // safe.directory: CI runs the tests as root in a container over a checkout another user owns.
    const archive = execFileSync('git', ['-c', `safe.directory=${REPO_ROOT}`, '-C', REPO_ROOT, 'archive', '--format=tar', ref], { maxBuffer: 512 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', tree], { input: archive });
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    const cache = chartCacheDir();
    const env = { ...process.env, MESHSCOPE_CHART_CACHE: cache };
    const tool = (script: string, args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', path.join('tools', script), ...args],
      { cwd: tree, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    // The base may pin other chart versions: the same cache gets them (what is there is kept and checked).
    tool('fill-chart-cache.ts', ['--cache', cache]);
    try {
      tool('render-cli.ts', [...stacks.flatMap((s) => ['--stack', s]), '--out', out]);
    } catch (e) {
      // The render exits 1 when its checks find a problem, and still writes every file: the base is what it is.
      if (!stacks.every((s) => fs.existsSync(path.join(out, s)))) throw new Error(`rendering ${ref} failed: ${(e as { stderr?: string }).stderr ?? e}`);
    }
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' }, 'base-dir': { type: 'string' }, stack: { type: 'string', multiple: true }, out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.base === !values['base-dir']) throw new Error('give exactly one of --base <git ref> and --base-dir DIR');
  const known = stacksInRepo();
  const stacks = values.stack ?? known;
  const unknown = stacks.filter((s) => !known.includes(s));
  if (unknown.length) throw new Error(`--stack ${unknown.join(', ')}: no Pulumi.<stack>.yaml; known stacks: ${known.join(', ')}`);
  console.error(`chart cache: ${chartCacheDir()}`);

  let baseDir = values['base-dir'] ? path.resolve(values['base-dir']) : undefined;
  const scratch = baseDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-base-render-'));
  try {
    if (!baseDir) {
      baseDir = scratch!;
      renderGitRef(values.base!, stacks, baseDir);
    }
    const parts: string[] = [];
    for (const stack of stacks) {
      const head = await renderStack(stack);
      const changes = diffRenders(readRenderDir(path.join(baseDir, stack)), fromRendered(head.objects));
      parts.push(renderDiffMarkdown(stack, changes, { base: values.base ? `\`${values.base}\`` : `\`${values['base-dir']}\``, head: 'this checkout' }));
      console.error(`${stack}: ${changes.length} object(s) differ`);
    }
    const markdown = parts.join('\n');
    if (values.out) fs.writeFileSync(values.out, markdown);
    else process.stdout.write(markdown);
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`render-diff: ${e.message}`);
    if (/usage|Unknown option|argument|exactly one/i.test(e.message)) console.error(USAGE);
    process.exit(1);
  });
}
