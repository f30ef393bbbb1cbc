import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTINGS } from '../../receiver/src/config';

// No Docker here: these read receiver/Dockerfile as data and check what the image promises.
const DIR = path.join(__dirname, '..', '..', 'receiver');
const instructions = readFileSync(path.join(DIR, 'Dockerfile'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  .map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op!.toUpperCase(), args: rest }; });

interface Stage { name: string; base: string; steps: { op: string; args: string[] }[] }
const stages: Stage[] = [];
/** `ARG NAME=default` before the first FROM: what `${NAME}` in a FROM stands for (Docker's global build args). */
const globalArgs = new Map<string, string>();
for (const i of instructions) {
  if (i.op === 'ARG' && stages.length === 0) {
    const [name, value] = i.args[0]!.split(/=(.*)/s);
    globalArgs.set(name!, value ?? '');
  } else if (i.op === 'FROM') {
    const base = i.args[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => globalArgs.get(a ?? b) ?? '');
    stages.push({ base, name: i.args[2] ?? String(stages.length), steps: [] });
  } else stages.at(-1)!.steps.push(i);
}
const runtime = stages.at(-1)!;
/** The Node major the project targets: package.json engines, `>=24` → 24 (a current LTS; Node 20 ended 2026-04-30). */
const ENGINES_NODE_MAJOR = /^>=(\d+)$/.exec(JSON.parse(readFileSync(path.join(DIR, '..', 'package.json'), 'utf8')).engines.node)![1];
const ignoreAllowed = readFileSync(path.join(DIR, 'Dockerfile.dockerignore'), 'utf8')
  .split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).trim());

describe('receiver Dockerfile', () => {
  it('builds in separate stages and runs from a small base of the Node major package.json engines names', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(runtime.base, new RegExp(`^node:${ENGINES_NODE_MAJOR}-(alpine|slim|bookworm-slim|trixie-slim)`));
  });

  it('builds on that same Node major in every stage', () => {
    assert.deepEqual(stages.map((s) => s.base.split('-')[0]), stages.map(() => `node:${ENGINES_NODE_MAJOR}`));
  });

  it('pins every base image by digest (tag for the reader, sha256 for what is built), one base for all stages', () => {
    for (const s of stages) assert.match(s.base, /^node:\d+-[a-z0-9.-]+@sha256:[0-9a-f]{64}$/, `stage ${s.name}: ${s.base}`);
    assert.equal(new Set(stages.map((s) => s.base)).size, 1, stages.map((s) => s.base).join(', '));
  });

  it('runs as a numeric non-root user', () => {
    const user = runtime.steps.filter((s) => s.op === 'USER').at(-1);
    assert.ok(user, 'a USER in the runtime stage');
    const uid = Number(user.args[0]!.split(':')[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `numeric non-root uid, got ${user.args[0]}`);
  });

  it('takes node_modules only from a stage that installed the receiver workspace without dev dependencies', () => {
    const copies = runtime.steps.filter((s) => s.op === 'COPY' && s.args.some((a) => a.includes('node_modules')));
    assert.equal(copies.length, 1);
    const from = copies[0]!.args.find((a) => a.startsWith('--from='))!.slice('--from='.length);
    const install = stages.find((s) => s.name === from)!.steps.filter((s) => s.op === 'RUN').map((s) => s.args.join(' ')).join(' ');
    assert.match(install, /npm ci -w receiver --omit=dev/);
  });

  it('exposes the default ALS and admin ports of the config', () => {
    const port = (flag: string) => SETTINGS.find((s) => s.flag === flag)!.default!.split(':').at(-1);
    const exposed = runtime.steps.filter((s) => s.op === 'EXPOSE').flatMap((s) => s.args);
    assert.deepEqual(exposed.sort(), [port('listen'), port('admin')].sort());
  });

  it('starts main.js with node as PID 1 (exec form), so SIGTERM reaches the receiver', () => {
    const entry = runtime.steps.filter((s) => s.op === 'ENTRYPOINT' || s.op === 'CMD').at(-1)!;
    assert.deepEqual(JSON.parse(entry.args.join(' ')), ['node', 'receiver/dist/main.js']);
  });

  it('copies from the build context only what its dockerignore lets through', () => {
    const fromContext = stages.flatMap((s) => s.steps).filter((s) => s.op === 'COPY' && !s.args.some((a) => a.startsWith('--from=')))
      .flatMap((s) => s.args.slice(0, -1));
    assert.ok(fromContext.length > 0);
    for (const src of fromContext) assert.ok(ignoreAllowed.includes(src), `${src} is not allowed by Dockerfile.dockerignore`);
  });

  it('ships every workspace the receiver depends on at run time (its package.json and compiled dist)', () => {
    const pkg = JSON.parse(readFileSync(path.join(DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const workspaces = Object.keys(pkg.dependencies).filter((d) => d.startsWith('@meshscope/'));
    assert.deepEqual(workspaces, ['@meshscope/boutique-catalog']);
    const copied = runtime.steps.filter((s) => s.op === 'COPY').map((s) => s.args.filter((a) => !a.startsWith('--')).slice(0, -1).join(' '));
    assert.ok(copied.includes('catalog/package.json'), copied.join('; '));
    assert.ok(copied.some((c) => c === '/app/catalog/dist'), copied.join('; '));
  });

  it('ships our skywalking proto, which the oap sink loads at run time', () => {
    assert.ok(runtime.steps.some((s) => s.op === 'COPY' && s.args[0] === 'receiver/proto'));
  });
});
