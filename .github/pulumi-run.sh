#!/usr/bin/env bash
# Runs `pulumi preview` or `pulumi up` on one stack with the policy pack and a property-level diff, and
# always leaves a report, passed or failed: in the job summary, and as a file (step output `report`) that
# the preview job posts on the pull request. pulumi/actions' own command comments only after success and
# runs `up --skip-preview`, where the pack judges each resource only as it is created; here `up` keeps its
# preview phase, so a known violation stops the update before anything changes.
set -uo pipefail

usage() { echo "usage: $0 preview|up <org>/<stack>" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
command=$1
stack=$2
case "$command" in
  preview) args=(preview --diff) ;;
  up) args=(up --yes --diff) ;;
  *) usage ;;
esac

# GitHub refuses comments over 65536 characters: keep the end, where the policy violations and summary are.
MAX_REPORT_CHARS=60000
log=$(mktemp)
report="${RUNNER_TEMP:-$(dirname "$log")}/pulumi-${command}-report.md"

pulumi "${args[@]}" --stack "$stack" --policy-pack policy --non-interactive --color never 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The output is untrusted (a pull request controls what its program prints): it goes in a code fence longer
# than any run of backticks in it, so nothing in it can close the fence and become live Markdown (headings,
# images, @mentions). Inside a fence GitHub renders no HTML either.
body=$(mktemp)
if (($(wc -c <"$log") > MAX_REPORT_CHARS)); then
  echo "[… the start of the output is cut; the full log is in the job]" >"$body"
  tail -c "$MAX_REPORT_CHARS" "$log" >>"$body"
else
  cat "$log" >"$body"
fi
longest=$(grep -o '`\+' "$body" | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
fence=$(printf '%*s' "$((longest < 3 ? 3 : longest + 1))" '' | tr ' ' '`')

{
  if ((status == 0)); then
    echo "### pulumi ${command} of \`${stack}\`: passed"
  else
    echo "### pulumi ${command} of \`${stack}\`: FAILED (exit ${status})"
    echo
    echo "Policy violations, if any, are listed under \"Policies\" at the end of the output."
  fi
  echo
  echo "$fence"
  cat "$body"
  # A last line without its newline would otherwise hold the closing fence.
  [[ -z $(tail -c 1 "$body") ]] || echo
  echo "$fence"
} >"$report"

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then cat "$report" >>"$GITHUB_STEP_SUMMARY"; fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "report=${report}" >>"$GITHUB_OUTPUT"; fi
exit "$status"
