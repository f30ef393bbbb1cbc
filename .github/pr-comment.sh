#!/usr/bin/env bash
# Posts a stack's preview report on a pull request as ONE comment per stack (and per kind: `preview`, the
# default, or `objects`, the render diff), edited in place on every push instead of adding another: the
# comment starts with a hidden marker naming the kind and the stack, and only a comment of this workflow's
# own account (github-actions[bot]) that starts with it is edited.
# Needs GH_TOKEN (the job's token, pull-requests: write) and GITHUB_REPOSITORY.
set -euo pipefail

usage() { echo "usage: $0 <pull-request-number> <stack> <report-file> [preview|objects]" >&2; exit 2; }
[[ $# -eq 3 || $# -eq 4 ]] || usage
pr=$1
stack=$2
report=$3
kind=${4:-preview}
[[ $pr =~ ^[0-9]+$ ]] || usage
[[ $kind == preview || $kind == objects ]] || usage
# The stack name goes into the marker and a jq string: Pulumi's own stack-name characters only.
[[ $stack =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "stack name '${stack}' has characters outside [A-Za-z0-9_.-]" >&2; exit 2; }

BOT_LOGIN='github-actions[bot]'
marker="<!-- meshscope-${kind} stack=${stack} -->"
body=$(mktemp)
{ echo "$marker"; cat "$report"; } >"$body"

ids=$(gh api --paginate "repos/${GITHUB_REPOSITORY}/issues/${pr}/comments" \
  --jq ".[] | select(.user.login == \"${BOT_LOGIN}\" and (.body | startswith(\"${marker}\"))) | .id")
# The first, should an earlier run have raced another and posted twice.
existing=${ids%%$'\n'*}

if [[ -n $existing ]]; then
  gh api --method PATCH "repos/${GITHUB_REPOSITORY}/issues/comments/${existing}" -F "body=@${body}" >/dev/null
  echo "updated the ${kind} comment ${existing} for ${stack}"
else
  gh api --method POST "repos/${GITHUB_REPOSITORY}/issues/${pr}/comments" -F "body=@${body}" >/dev/null
  echo "posted the ${kind} comment for ${stack}"
fi
