// `npm run bench`'s command line: --help lists every flag, BENCHMARKS.md changes only with --write, and
// the bench runs under the Node package.json's engines names even when started by another.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { enginesMajor, toolsNode } from '../../receiver/bench/bench-node';

const REPO = path.join(__dirname, '..', '..');
const RUN = path.join(REPO, 'receiver', 'bench', 'run.ts');
const run = promisify(execFile);
const bench = (node: string, ...args: string[]) => run(node, ['--import', 'tsx', RUN, ...args], { cwd: REPO, timeout: 120_000 });
const digest = () => crypto.createHash('sha256').update(fs.readFileSync(path.join(REPO, 'BENCHMARKS.md'))).digest('hex');

describe('npm run bench: its command line', function () {
  this.timeout(150_000);

  it('prints every flag with what it does on --help, and exits 0', async () => {
    const { stdout } = await bench(process.execPath, '--help');
    const source = fs.readFileSync(RUN, 'utf8');
    const block = source.slice(source.indexOf('const OPTIONS = {'), source.indexOf('} as const;'));
    const names = [...block.matchAll(/^ {2}'?([a-z-]+)'?: \{/gm)].map((m) => m[1]!);
    assert.ok(names.length >= 20, `found ${names.length} options in run.ts`);
    for (const name of names) assert.match(stdout, new RegExp(`^  --${name}\\b`, 'm'), `--${name} in --help`);
    assert.match(stdout, /--write\n\s+write the table into BENCHMARKS\.md/);
  });

  it('refuses an unknown flag, naming it, with the list of flags', async () => {
    await assert.rejects(bench(process.execPath, '--entires', '5'), (err: { stderr: string; code: number }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /Unknown option '--entires'/);
      assert.match(err.stderr, /--entries VALUE/);
      return true;
    });
  });

  it('started by another Node, runs again under the engines\' Node, says which, and leaves BENCHMARKS.md alone without --write', async function () {
    const other = ['/usr/bin/node', '/bin/node'].find((n) => fs.existsSync(n));
    const engines = toolsNode(enginesMajor());
    if (!other || !fs.existsSync(engines)) this.skip(); // a machine whose only Node is the engines' one
    const before = digest();
    const { stdout } = await bench(other!, '--modes', 'raw', '--entries', '2000', '--runs', '1', '--no-pin');
    if (!stdout.includes(`is not the engines' Node ${enginesMajor()}`)) {
      // The other Node was the engines' one after all: it ran directly.
      assert.match(stdout, new RegExp(`driver on node v${enginesMajor()}\\.`));
    } else {
      assert.match(stdout, new RegExp(`running again under ${engines.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    assert.match(stdout, new RegExp(`bench: driver on node v${enginesMajor()}\\.`));
    assert.match(stdout, /\| \(a0\) transport only/);
    assert.equal(digest(), before, 'BENCHMARKS.md changed without --write');
  });
});
