// A VM's status document, read from outside through the Compute API's instances.getGuestAttributes
// (GET .../projects/{p}/zones/{z}/instances/{i}/getGuestAttributes?queryPath=meshscope/; answer
// `{kind: "compute#guestAttributes", queryPath, queryValue: {items: [{namespace, key, value}]}}`,
// cloud.google.com/compute/docs/reference/rest/v1/instances/getGuestAttributes).
import { parseVmStatus, VM_STATUS_KEY, VM_STATUS_NAMESPACE, type VmStatus } from './vm-status';

export type VmStatusAnswer =
  | { kind: 'status'; status: VmStatus }
  /** The VM wrote nothing under the namespace (404), or wrote other keys only. */
  | { kind: 'none'; why: string }
  | { kind: 'invalid'; why: string }
  /** No HTTP answer at all: the Compute API is unreachable from here (network, proxy, DNS), not a VM setting. */
  | { kind: 'unreachable'; why: string }
  /** The API answered with an error: status and Google's message (400 guest attributes disabled, 403 no permission...). */
  | { kind: 'error'; status: number; why: string };

export interface ComputeTarget { computeUrl: string; project: string; zone: string; instance: string; token: string }

interface GuestAttributes { queryValue?: { items?: { namespace?: string; key?: string; value?: string }[] } }

export async function readVmStatus(t: ComputeTarget): Promise<VmStatusAnswer> {
  const url = `${t.computeUrl}/compute/v1/projects/${encodeURIComponent(t.project)}/zones/${encodeURIComponent(t.zone)}`
    + `/instances/${encodeURIComponent(t.instance)}/getGuestAttributes?queryPath=${encodeURIComponent(`${VM_STATUS_NAMESPACE}/`)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${t.token}` }, signal: AbortSignal.timeout(20_000) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'unreachable', why: `cannot reach the Compute API at ${t.computeUrl}: ${(err as Error).message}${cause?.code ? ` (${cause.code})` : ''}` };
  }
  const body = await res.text();
  if (res.status === 404) return { kind: 'none', why: `no guest attributes under ${VM_STATUS_NAMESPACE}/` };
  if (res.status !== 200) return { kind: 'error', status: res.status, why: `Compute API answered HTTP ${res.status}: ${googleErrorMessage(body)}` };
  const items = (JSON.parse(body) as GuestAttributes).queryValue?.items ?? [];
  const item = items.find((i) => i.namespace === VM_STATUS_NAMESPACE && i.key === VM_STATUS_KEY);
  if (!item?.value) return { kind: 'none', why: `no ${VM_STATUS_NAMESPACE}/${VM_STATUS_KEY} among the VM's guest attributes` };
  try {
    return { kind: 'status', status: parseVmStatus(item.value, `${t.instance} ${VM_STATUS_NAMESPACE}/${VM_STATUS_KEY}`) };
  } catch (err) {
    return { kind: 'invalid', why: (err as Error).message };
  }
}

/** Google APIs answer errors as `{error: {code, message, ...}}`. */
function googleErrorMessage(body: string): string {
  try {
    const e = JSON.parse(body) as { error?: { message?: string } };
    if (e.error?.message) return e.error.message;
  } catch {
    /* not JSON */
  }
  return body.slice(0, 200).trim();
}
