// The receiver's modules as a graph of their relative imports (type-only imports included), read with
// TypeScript's own pre-processor: the rooms of receiver/src form no circle.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'receiver', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** Each module's relative imports, resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    graph.set(file, importedFiles.map((f) => f.fileName).filter((f) => f.startsWith('.'))
      .map((f) => path.resolve(path.dirname(file), f) + '.ts'));
  }
  return graph;
}

/** Every circle, as the list of modules it passes through (relative to receiver/src). */
function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to].map((x) => path.relative(SRC, x)));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('receiver/src module graph', () => {
  it('resolves every relative import to a file of receiver/src', () => {
    const missing = [...importGraph()].flatMap(([from, tos]) => tos.filter((t) => !fs.existsSync(t)).map((t) => `${path.relative(SRC, from)} → ${t}`));
    assert.deepEqual(missing, []);
  });

  it('has no import circle, type-only imports included (als-decoder.ts and envoy-protos.ts share access-log.ts)', () => {
    assert.deepEqual(circles(importGraph()), []);
  });

  it('finds a circle when there is one (the check itself can fail)', () => {
    const a = path.join(SRC, 'a.ts');
    const b = path.join(SRC, 'b.ts');
    assert.deepEqual(circles(new Map([[a, [b]], [b, [a]]])), [['a.ts', 'b.ts', 'a.ts']]);
  });
});
