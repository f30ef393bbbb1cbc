// Which Node the bench runs under: the major package.json's engines names (the image's and CI's), found
// where .ci/run installs it when the Node on PATH is another. Benchmarks of another runtime measured
// something the receiver does not ship on.
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

/** The major of package.json's `engines.node` (">=24" → 24). */
export function enginesMajor(): number {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const m = /(\d+)/.exec(pkg.engines?.node ?? '');
  if (!m) throw new Error(`package.json engines.node ${JSON.stringify(pkg.engines?.node)} names no Node major`);
  return Number(m[1]);
}

/** Where .ci/run installs Node `major` (npm package node@major) when the machine's Node is another. */
export function toolsNode(major: number): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = process.env.MESHSCOPE_TOOLS_DIR || path.join(cache, 'meshscope-tools');
  return path.join(dir, `node${major}`, 'node_modules', 'node', 'bin', 'node');
}

export function majorOf(nodeBinary: string): number {
  return Number(execFileSync(nodeBinary, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
}

/**
 * Under the engines' Node: returns. Under another: runs this same command under the engines' Node and
 * exits with its status; without one installed, exits 2 saying how to get it.
 */
export function requireEnginesNode(): void {
  const major = enginesMajor();
  if (Number(process.versions.node.split('.')[0]) === major) return;
  const node = toolsNode(major);
  if (!fs.existsSync(node) || majorOf(node) !== major) {
    console.error(`bench: running under Node ${process.version}, but package.json engines names Node ${major} (the image's); ` +
      `no Node ${major} at ${node}. Install it as .ci/run does: npm install --prefix ${path.dirname(path.dirname(path.dirname(path.dirname(node))))} --no-save node@${major}, ` +
      `or put a Node ${major} first on PATH.`);
    process.exit(2);
  }
  console.log(`bench: Node ${process.version} is not the engines' Node ${major}; running again under ${node}`);
  const r = spawnSync(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', cwd: process.cwd() });
  process.exit(r.status ?? 1);
}
