#!/usr/bin/env bash
# meshscope agent: keeps this VM joined to the mesh and in step with its instance metadata.
#
# launcher.sh (the GCE startup script) installs it as meshscope-agent.service. It runs the bootstrap (the
# meshscope-bootstrap attribute) until a run succeeds, backing off exponentially between failures, so a
# cluster that is down or an RBAC binding that comes late only delays the VM. Then it waits on the metadata
# server (wait_for_change) and runs the bootstrap again as soon as any meshscope-* attribute changes, and at
# least every RECHECK_WAITS x WAIT_SECONDS, which keeps the istio-token on disk valid. A changed
# meshscope-agent attribute replaces this file; the agent then exits and systemd starts the new one.
#
# Test hooks: MESHSCOPE_ROOT and MESHSCOPE_METADATA_URL as in bootstrap.sh (and passed on to it);
# MESHSCOPE_AGENT_MAX_RUNS ends the agent after that many successful runs (default 0: never).
set -Eeuo pipefail

readonly TAG=meshscope-agent
readonly ROOT="${MESHSCOPE_ROOT:-}"
readonly METADATA_URL="${MESHSCOPE_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
readonly BACKOFF_FIRST=5
readonly BACKOFF_MAX=300
# One wait_for_change lasts at most this long; a run happens at least every RECHECK_WAITS of them.
readonly WAIT_SECONDS=300
readonly RECHECK_WAITS=3
readonly MAX_RUNS="${MESHSCOPE_AGENT_MAX_RUNS:-0}"
readonly INSTALLED="$ROOT/usr/local/sbin/meshscope-agent"

log() {
  printf '%s: %s\n' "$TAG" "$*" >&2
  logger -t "$TAG" -- "$*" 2>/dev/null || true
}

WORK="$(mktemp -d)"
readonly WORK
trap 'rm -rf "$WORK"' EXIT

# read_attributes [ETAG]: every instance attribute as one JSON object into $WORK/attrs.json and its ETag
# into ETAG; given the last ETAG, the metadata server answers only once something changed (or on timeout).
ETAG=
read_attributes() {
  local query='?recursive=true' max_time=30 status
  if [[ -n ${1:-} ]]; then
    query+="&wait_for_change=true&last_etag=$1&timeout_sec=$WAIT_SECONDS"
    max_time=$((WAIT_SECONDS + 30))
  fi
  status="$(curl -sS --connect-timeout 5 --max-time "$max_time" -H 'Metadata-Flavor: Google' -D "$WORK/headers" \
    -o "$WORK/attrs.json" -w '%{http_code}' "$METADATA_URL/instance/attributes/$query")" || return 1
  if [[ $status != 200 ]]; then
    log "metadata server answered HTTP $status for the instance attributes"
    return 1
  fi
  ETAG="$(tr -d '\r' <"$WORK/headers" | sed -n 's/^[Ee][Tt][Aa][Gg]:[[:space:]]*//p' | tail -n 1)"
  jq -e 'type == "object"' "$WORK/attrs.json" >/dev/null
}

# What the bootstrap reads: only a change here calls for a run.
mesh_digest() {
  jq -S 'with_entries(select(.key | startswith("meshscope-")))' "$WORK/attrs.json" | sha256sum | cut -d ' ' -f 1
}

# attribute KEY OUT: the attribute's value into OUT; fails when it is missing or empty.
attribute() {
  jq -j --arg key "$1" '.[$key] // empty' "$WORK/attrs.json" >"$2"
  [[ -s $2 ]]
}

# newer_agent: true when the meshscope-agent attribute differs from the installed agent, after installing it.
newer_agent() {
  [[ -f $INSTALLED ]] && attribute meshscope-agent "$WORK/agent" || return 1
  cmp -s "$WORK/agent" "$INSTALLED" && return 1
  install -m 755 "$WORK/agent" "$INSTALLED.meshscope-new"
  mv -f "$INSTALLED.meshscope-new" "$INSTALLED"
}

# run_bootstrap: one bootstrap run; its log also kept in $WORK/bootstrap.err for the status report.
run_bootstrap() {
  : >"$WORK/bootstrap.err"
  if ! attribute meshscope-bootstrap "$WORK/bootstrap.sh"; then
    log "instance metadata attribute meshscope-bootstrap is missing or empty"
    echo "meshscope-bootstrap: ERROR: instance metadata attribute meshscope-bootstrap is missing or empty" >"$WORK/bootstrap.err"
    return 1
  fi
  local code=0
  # The bootstrap logs to the journal itself (logger); its stderr is kept for the report, then passed on.
  bash "$WORK/bootstrap.sh" 2>"$WORK/bootstrap.err" || code=$?
  cat "$WORK/bootstrap.err" >&2
  return "$code"
}

# report_status EXIT: this VM's state, as of the last bootstrap run (EXIT), written to its guest attributes
# by status-report.sh (the meshscope-status-report attribute) for `npm run doctor`. Its inputs come from
# the same attributes the bootstrap reads; a report that fails is logged and never stops the agent.
report_status() {
  local code=$1 phase="done" last_error="" als callees=() args=()
  if ! attribute meshscope-status-report "$WORK/status-report.sh"; then
    log "instance metadata attribute meshscope-status-report is missing; no status reported"
    return 0
  fi
  if ((code != 0)); then
    phase=failed
    last_error="$(sed -n 's/^meshscope-bootstrap: ERROR: //p' "$WORK/bootstrap.err" 2>/dev/null | tail -n 1)"
  fi
  # The mesh config's envoyAccessLogService.address: the receiver's internal load balancer.
  als="$(jq -r '."meshscope-mesh-config" // ""' "$WORK/attrs.json" \
    | awk '/^ *envoyAccessLogService:/ { als = 1; next } als && /^ *address:/ { print $2; exit }')"
  # Every *_ADDR of the workload's env: the callees whose clusters the sidecar must have.
  mapfile -t callees < <(jq -r '."meshscope-workload-env" // ""' "$WORK/attrs.json" | sed -n 's/^[A-Z0-9_]*_ADDR=//p')
  args=(--workload "$(jq -r '."meshscope-workload"' "$WORK/attrs.json")"
    --istiod-host "$(jq -r '."meshscope-istiod-host"' "$WORK/attrs.json")"
    --east-west-ip "$(jq -r '."meshscope-east-west-gateway-ip"' "$WORK/attrs.json")"
    --als-address "$als" --phase "$phase" --exit-code "$code")
  [[ -n $last_error ]] && args+=(--last-error "$last_error")
  local callee
  for callee in "${callees[@]}"; do args+=(--callee "$callee"); done
  bash "$WORK/status-report.sh" "${args[@]}" || log "status report failed (exit $?); the next wake-up tries again"
}

delay=$BACKOFF_FIRST
last_etag=
converged=
waits=0
runs=0
# The last run's exit status, reported again at every wake-up (at least every WAIT_SECONDS) so the report stays fresh.
last_code=
while :; do
  if ! read_attributes "$last_etag"; then
    log "cannot read the instance attributes from $METADATA_URL; retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2))
    last_etag=
    continue
  fi
  [[ -n $last_etag && $ETAG == "$last_etag" ]] && waits=$((waits + 1))
  digest="$(mesh_digest)"
  if [[ $digest == "$converged" ]] && ((waits < RECHECK_WAITS)); then
    last_etag=$ETAG
    report_status "${last_code:-0}"
    continue
  fi
  if newer_agent; then
    log "installed a new agent from meshscope-agent; exiting so systemd starts it"
    exit 0
  fi
  last_code=0
  run_bootstrap || last_code=$?
  report_status "$last_code"
  if ((last_code == 0)); then
    converged=$digest
    last_etag=$ETAG
    delay=$BACKOFF_FIRST
    waits=0
    runs=$((runs + 1))
    log "converged (run $runs); waiting for a change of the meshscope-* attributes"
    if ((MAX_RUNS > 0 && runs >= MAX_RUNS)); then
      exit 0
    fi
  else
    log "bootstrap failed; retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2))
    last_etag=
  fi
done
