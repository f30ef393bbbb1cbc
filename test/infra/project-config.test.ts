// Pulumi.yaml's project-level `config:` block describes every meshscope: setting with its default, and
// those defaults are the ones infra/config.ts applies: a stack that leaves a key out gets the same
// program whether Pulumi fills the key from Pulumi.yaml or config.ts fills each field.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_KEYS, parseStackConfig, RawConfig, SETTINGS } from '../../infra/config';
import { REPO_ROOT, stackFileConfig } from './harness';

interface Declaration { type?: string; items?: unknown; description?: string; secret?: boolean; default?: unknown; value?: unknown }

const project = parse(fs.readFileSync(path.join(REPO_ROOT, 'Pulumi.yaml'), 'utf8')) as { name: string; config?: Record<string, Declaration> };
const declared = project.config ?? {};
/** The fields of each key's object (or of each list row), as config.ts knows them. */
const FIELDS: Record<string, readonly string[]> = {
  network: SETTINGS.network, cluster: SETTINGS.cluster, versions: SETTINGS.versions,
  observability: SETTINGS.observability, vmWorkloads: SETTINGS.vmWorkload,
};
/** What Pulumi's project schema allows in a declaration (pulumi/pulumi sdk/go/common/workspace/project.json,
 * `configTypeDeclaration`), and the types it knows: objects have none. */
const DECLARATION_FIELDS = ['type', 'items', 'description', 'secret', 'default', 'value'];
const PULUMI_CONFIG_TYPES = ['string', 'integer', 'boolean', 'array'];

function programSees(key: string, value: unknown | undefined): unknown {
  const raw: RawConfig = stackFileConfig('dev');
  const full = `${project.name}:${key}`;
  if (value === undefined) delete raw[full];
  else raw[full] = JSON.stringify(value);
  return (parseStackConfig(raw, 'dev') as unknown as Record<string, unknown>)[key];
}

describe('Pulumi.yaml project config', () => {
  it('declares exactly the meshscope: keys infra/config.ts reads, in the project namespace', () => {
    assert.equal(project.name, 'meshscope');
    assert.deepEqual(Object.keys(declared).sort(), [...CONFIG_KEYS.meshscope].sort());
  });

  for (const key of CONFIG_KEYS.meshscope) {
    describe(`meshscope:${key}`, () => {
      const d = () => declared[key] ?? assert.fail(`Pulumi.yaml declares no ${key}`);

      it('is a declaration Pulumi accepts: known fields, a known type if any, a description and a default', () => {
        assert.deepEqual(Object.keys(d()).filter((f) => !DECLARATION_FIELDS.includes(f)), []);
        if (d().type !== undefined) assert.ok(PULUMI_CONFIG_TYPES.includes(d().type!), `type ${d().type}`);
        assert.ok(typeof d().description === 'string' && d().description!.length > 20, 'a description');
        assert.notEqual(d().default, undefined, 'a default');
      });

      it('names every one of its settings in the description', () => {
        for (const field of FIELDS[key]) assert.match(d().description!, new RegExp(`\\b${field}\\b`), `${field} described`);
      });

      it('writes out every field in its default', () => {
        const rows = Array.isArray(d().default) ? d().default as Record<string, unknown>[] : [d().default as Record<string, unknown>];
        // A VM row's port and protocol default to the catalog's: the default names the service only.
        const required = key === 'vmWorkloads' ? ['name', 'machineType'] : FIELDS[key];
        for (const row of rows) assert.deepEqual(Object.keys(row).sort(), [...required].sort());
      });

      it('has the default infra/config.ts applies when a stack leaves the key out', () => {
        assert.deepEqual(programSees(key, d().default), programSees(key, undefined));
      });
    });
  }

  it('would notice a default that disagrees with config.ts', () => {
    const cluster = { ...(declared.cluster.default as Record<string, unknown>), nodeCount: 4 };
    assert.notDeepEqual(programSees('cluster', cluster), programSees('cluster', undefined));
  });
});
