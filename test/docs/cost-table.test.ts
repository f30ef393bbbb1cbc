// The README's cost table prices what the stack files declare: when a stack's nodes or VMs change, the
// table must change with them.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStackConfig } from '../../infra/config';
import { REPO_ROOT, stackFileConfig } from '../../tools/offline-program';

const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const costSection = readme.slice(readme.indexOf('### Cost'), readme.indexOf('### Add an environment'));
/** The cells of the table row whose first cell is `item`. */
const row = (item: string) => costSection.split('\n').find((l) => l.startsWith(`| ${item} |`))?.split('|').map((c) => c.trim()).slice(1, -1);

describe('the README cost table', () => {
  it('is dated and says where its prices come from', () => {
    assert.match(costSection, /list prices for europe-west1/);
    assert.match(costSection, /December 2026/);
  });

  const columns = { dev: 2, prod: 3 } as const;
  for (const stack of ['dev', 'prod'] as const) {
    const c = parseStackConfig(stackFileConfig(stack), stack);

    it(`prices ${stack}'s nodes as its file declares them`, () => {
      assert.match(row('GKE nodes')![columns[stack]], new RegExp(`^${c.cluster.nodeCount} × ${c.cluster.machineType} `));
    });

    it(`prices ${stack}'s VMs as its file declares them`, () => {
      const types = [...new Set(c.vmWorkloads.map((w) => w.machineType))];
      assert.equal(types.length, 1, 'one machine type for every VM, as the table shows');
      assert.match(row('VMs')![columns[stack]], new RegExp(`^${c.vmWorkloads.length} × ${types[0]} `));
    });

    it(`prices ${stack} in its region`, () => {
      assert.equal(c.gcp.region, 'europe-west1');
    });
  }
});
