// Nothing is granted to the public: `allUsers` is anyone on the internet and `allAuthenticatedUsers` anyone
// with a Google account. Judged on every IAM member, binding and policy of every GCP module (a public
// bucket, a project owner) and on Cloud Storage ACLs, which can make a bucket public without IAM.
import { isUnknown, Props, ResourceRule, RuleContext } from './rule';

const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'];
const ACL_ENTITY_TYPES = [
  'gcp:storage/bucketAccessControl:BucketAccessControl',
  'gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl',
  'gcp:storage/objectAccessControl:ObjectAccessControl',
];
const ACL_LIST_TYPES = ['gcp:storage/bucketACL:BucketACL', 'gcp:storage/defaultObjectACL:DefaultObjectACL', 'gcp:storage/objectACL:ObjectACL'];

const isPublic = (member: unknown) => typeof member === 'string' && PUBLIC_MEMBERS.includes(member.replace(/^(group|user):/, ''));

function refuse(where: string, member: string, role: unknown): string {
  return `${where} grants ${typeof role === 'string' ? `${role} ` : ''}to ${member}, which is ${member.endsWith('allUsers') ? 'anyone on the internet' : 'anyone with a Google account'}; ` +
    'allowed: named users, groups and service accounts';
}

/** Public members of a list input, noting unknown entries. */
function publicIn(list: unknown, ctx: RuleContext): string[] {
  if (isUnknown(list)) {
    ctx.undecided(list);
    return [];
  }
  return (Array.isArray(list) ? list : []).filter((m) => (isUnknown(m) ? (ctx.undecided(m), false) : isPublic(m))).map(String);
}

function policyDataProblems(props: Props, ctx: RuleContext): string[] {
  if (isUnknown(props.policyData)) {
    ctx.undecided(props.policyData);
    return [];
  }
  let doc: { bindings?: { role?: string; members?: unknown[] }[] };
  try {
    doc = JSON.parse(String(props.policyData ?? '{}'));
  } catch {
    return [`policyData is not JSON (${JSON.stringify(props.policyData)}); allowed: an IAM policy document`];
  }
  return (doc.bindings ?? []).flatMap((b) => publicIn(b.members, ctx).map((m) => refuse('policyData', m, b.role)));
}

export const noPublicIam: ResourceRule = {
  name: 'no-public-iam',
  description: 'No IAM member, binding, policy or Cloud Storage ACL grants anything to allUsers or allAuthenticatedUsers.',
  types: [...ACL_ENTITY_TYPES, ...ACL_LIST_TYPES],
  typePattern: /^gcp:[^:]+:\w*Iam(Member|Binding|Policy)$/i,
  validate(type, props, ctx) {
    if (ACL_ENTITY_TYPES.includes(type)) return publicIn([props.entity], ctx).map((m) => refuse('entity', m, props.role));
    if (ACL_LIST_TYPES.includes(type)) {
      // Entries read `ROLE:entity`, e.g. `READER:allUsers`.
      if (isUnknown(props.roleEntities)) {
        ctx.undecided(props.roleEntities);
        return [];
      }
      return (Array.isArray(props.roleEntities) ? props.roleEntities : []).flatMap((e: unknown) => {
        if (isUnknown(e)) return (ctx.undecided(e), []);
        const [role, ...entity] = String(e).split(':');
        return isPublic(entity.join(':')) ? [refuse('roleEntities', entity.join(':'), role)] : [];
      });
    }
    if (/Policy$/i.test(type)) return policyDataProblems(props, ctx);
    const members = /Binding$/i.test(type) ? props.members : [props.member];
    return publicIn(members, ctx).map((m) => refuse(/Binding$/i.test(type) ? 'members' : 'member', m, props.role));
  },
};
