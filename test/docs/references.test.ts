// Every relative path and `npm run` script the READMEs name exists, so following them never ends in
// "No such file" or "Missing script". A path counts when its first segment is an entry of the README's
// folder or of the repository (so `infra/boutique-catalog.ts` is checked, `apps/v1` is not a path);
// paths the tools write (rendered/, .chart-cache/, test-output/, dist/) are outputs, not sources.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../tools/offline-program';

const GENERATED = ['rendered', '.chart-cache', 'test-output', 'dist', 'node_modules'];

function readmes(dir = REPO_ROOT): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return GENERATED.includes(e.name) || e.name === '.git' ? [] : readmes(path.join(dir, e.name));
    return /^(README|BENCHMARKS)\.md$/.test(e.name) ? [path.join(dir, e.name)] : [];
  });
}

/** Code spans and link targets: where a README names a path or a command. */
function spans(text: string): string[] {
  const code = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  const links = [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]);
  return [...code, ...blocks, ...links];
}

export function pathsIn(text: string, baseDirs: string[]): string[] {
  const tops = new Set(baseDirs.flatMap((d) => fs.readdirSync(d)));
  const found = new Set<string>();
  for (const span of spans(text)) {
    for (const token of span.split(/[\s,;()'"=]+/)) {
      const t = token.replace(/[.:]+$/, '');
      if (!t || /^[a-z]+:\/\//.test(t) || t.startsWith('/') || t.startsWith('~') || /[<>*{}$[\]|]/.test(t)) continue;
      const first = t.replace(/^\.\//, '').split('/')[0];
      if (!tops.has(first) || t.split('/').some((seg) => GENERATED.includes(seg))) continue;
      if (t.includes('/') || /\.(ts|md|ya?ml|json|sh|proto|js)$/.test(t)) found.add(t.replace(/^\.\//, ''));
    }
  }
  return [...found].sort();
}

export function scriptsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]))].sort();
}

const scriptsOf = (dir: string): string[] => {
  const file = path.join(dir, 'package.json');
  return fs.existsSync(file) ? Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { scripts?: object }).scripts ?? {}) : [];
};

describe('what the READMEs name exists', () => {
  const files = readmes();

  it('finds the READMEs (README.md, receiver/README.md, vm-bootstrap/README.md …)', () => {
    const rel = files.map((f) => path.relative(REPO_ROOT, f));
    for (const f of ['README.md', 'receiver/README.md', 'vm-bootstrap/README.md']) assert.ok(rel.includes(f), f);
  });

  for (const file of readmes()) {
    const rel = path.relative(REPO_ROOT, file);
    const text = fs.readFileSync(file, 'utf8');
    const dir = path.dirname(file);

    it(`${rel}: every relative path it names exists`, () => {
      const paths = pathsIn(text, [dir, REPO_ROOT]);
      const missing = paths.filter((p) => !fs.existsSync(path.join(dir, p)) && !fs.existsSync(path.join(REPO_ROOT, p)));
      assert.deepEqual(missing, [], `${rel} names paths that do not exist`);
    });

    it(`${rel}: every \`npm run\` script it names exists`, () => {
      const known = new Set([...scriptsOf(REPO_ROOT), ...scriptsOf(dir)]);
      assert.deepEqual(scriptsIn(text).filter((s) => !known.has(s)), [], `${rel} names scripts package.json lacks`);
    });
  }

  it('would notice a path that is gone and a script that is missing', () => {
    const text = 'see `infra/boutique-catalog.ts` and [the doctor](doctor/cli.ts), then `npm run nothing-here` and `npm run doctor`';
    assert.deepEqual(pathsIn(text, [REPO_ROOT]), ['doctor/cli.ts', 'infra/boutique-catalog.ts']);
    assert.deepEqual(scriptsIn(text), ['doctor', 'nothing-here']);
  });
});
