import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readStackFile, StackFileError } from '../../infra/stack-file';
import { readStackLocation } from '../../doctor/stack-location';

describe('stack files', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-stackfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (stack: string, text: string) => {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  };

  it('names the file, the line and the column of a YAML error', () => {
    const file = write('dev', 'config:\n  meshscope:cluster:\n    nodeCount: 3\n   machineType: e2-standard-4\n');
    assert.throws(() => readStackFile(file), (e: Error) => e instanceof StackFileError && /^Pulumi\.dev\.yaml: line 4, column \d+: /.test(e.message));
  });

  it('names the file when config is not a mapping', () => {
    const file = write('odd', 'config: [1, 2]\n');
    assert.throws(() => readStackFile(file), (e: Error) => /^Pulumi\.odd\.yaml: `config:` must be a mapping/.test(e.message));
  });

  it('hands objects and lists over as JSON text, as Pulumi does', () => {
    const file = write('ok', 'config:\n  gcp:zone: europe-west1-b\n  meshscope:cluster:\n    nodeCount: 3\n');
    assert.deepEqual(readStackFile(file), { 'gcp:zone': 'europe-west1-b', 'meshscope:cluster': '{"nodeCount":3}' });
  });

  it('is what the doctor reads too, so its error names the file', () => {
    write('broken', 'config:\n  gcp:project: [unclosed\n');
    assert.throws(() => readStackLocation('broken', dir), (e: Error) => /^Pulumi\.broken\.yaml: line \d+, column \d+: /.test(e.message));
  });
});
