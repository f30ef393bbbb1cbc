import { strict as assert } from 'node:assert';
import { apiOfType, GOOGLE_APIS } from '../../infra/google-apis';
import { ProgramRun, runProgram } from './harness';

const SERVICE = 'gcp:projects/service:Service';

describe('Google APIs', () => {
  let run: ProgramRun;
  before(async () => { run = await runProgram({ stack: 'dev' }); });

  it('enables each API of the table once, in the stack\'s project, and leaves it enabled on destroy', () => {
    const services = run.ofType(SERVICE);
    assert.deepEqual(services.map((s) => s.inputs.service).sort(), GOOGLE_APIS.map((a) => a.api).sort());
    for (const s of services) {
      assert.equal(s.inputs.project, 'meshscope-dev');
      assert.equal(s.inputs.disableOnDestroy, false, `${s.inputs.service} stays enabled`);
    }
  });

  it('knows the API of every Google Cloud resource type the program declares', () => {
    const types = [...new Set(run.resources.filter((r) => r.custom && r.type.startsWith('gcp:') && r.type !== SERVICE).map((r) => r.type))];
    assert.deepEqual(types.filter((t) => !apiOfType(t)), [], 'add a row to GOOGLE_APIS (infra/google-apis.ts)');
  });

  it('makes every Google Cloud resource wait for the API it calls', () => {
    const serviceOf = new Map(run.ofType(SERVICE).map((s) => [s.inputs.service as string, s.urn]));
    const gcpResources = run.resources.filter((r) => r.custom && !r.read && r.type.startsWith('gcp:') && r.type !== SERVICE);
    assert.ok(gcpResources.length > 20);
    for (const r of gcpResources) {
      const api = apiOfType(r.type)!;
      assert.ok(r.dependsOn.includes(serviceOf.get(api)!), `${r.type} ${r.name} depends on ${api}`);
    }
  });

  it('uses every API it enables', () => {
    const used = new Set(run.resources.map((r) => apiOfType(r.type)).filter(Boolean));
    assert.deepEqual(GOOGLE_APIS.map((a) => a.api).filter((a) => !used.has(a)), []);
  });
});
