// The stack outputs the doctor needs, read from `pulumi stack output --json` (piped in, a file, or run
// here) and checked against the shape infra/index.ts exports, so a missing output is named up front.
import Ajv, { type JSONSchemaType } from 'ajv';

export interface VmOutput { name: string; instance: string; internalIp: string }

export interface StackOutputs {
  vms: VmOutput[];
  boutiqueNamespace: string;
  eastwestGatewayIp: string;
  alsAddressForVms: string;
  /** Absent when not given (or shown as `[secret]`): the user's current kubectl context is used. */
  kubeconfig?: string;
}

const name = { type: 'string', minLength: 1 } as const;

const outputsSchema: JSONSchemaType<StackOutputs> = {
  type: 'object',
  required: ['vms', 'boutiqueNamespace', 'eastwestGatewayIp', 'alsAddressForVms'],
  properties: {
    vms: {
      type: 'array',
      items: { type: 'object', required: ['name', 'instance', 'internalIp'], properties: { name, instance: name, internalIp: name } },
    },
    boutiqueNamespace: name,
    eastwestGatewayIp: name,
    alsAddressForVms: name,
    kubeconfig: { type: 'string', nullable: true },
  },
};

const validate = new Ajv({ allErrors: true }).compile(outputsSchema);

/** What `pulumi stack output --show-secrets=false` prints in place of a secret value. */
const SECRET_PLACEHOLDER = '[secret]';

export function parseStackOutputs(text: string, source: string): StackOutputs {
  const expected = 'expected the JSON object `pulumi stack output --json` prints';
  if (text.trim() === '') throw new Error(`${source}: no stack outputs (the input is empty); ${expected}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: the stack outputs are not JSON (${(err as Error).message}); ${expected}`);
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || 'the outputs'} ${e.message ?? ''}`.trim());
    throw new Error(`${source}: the stack outputs lack what the doctor reads: ${problems.join('; ')} (is the stack deployed? \`pulumi up\`)`);
  }
  const outputs = value;
  if (outputs.kubeconfig === SECRET_PLACEHOLDER || outputs.kubeconfig === '') delete outputs.kubeconfig;
  return outputs;
}
