#!/usr/bin/env bash
# meshscope launcher: the GCE startup script of every meshscope VM (metadata key startup-script).
#
# It stays small and stable on purpose: it only installs the agent (the meshscope-agent attribute) as
# meshscope-agent.service and makes sure it runs. Everything else (joining the mesh, retrying, following
# metadata changes) is the agent's and the bootstrap's, which arrive as attributes that GCE updates in place.
#
# Test hooks: MESHSCOPE_ROOT prefixes every file path, MESHSCOPE_METADATA_URL replaces the metadata server.
set -Eeuo pipefail

readonly TAG=meshscope-launcher
readonly ROOT="${MESHSCOPE_ROOT:-}"
readonly METADATA_URL="${MESHSCOPE_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
readonly AGENT=/usr/local/sbin/meshscope-agent
readonly UNIT=meshscope-agent.service

log() {
  printf '%s: %s\n' "$TAG" "$*" >&2
  logger -t "$TAG" -- "$*" 2>/dev/null || true
}

die() {
  log "ERROR: $*"
  exit 1
}

WORK="$(mktemp -d)"
readonly WORK
trap 'rm -rf "$WORK"' EXIT

# put_file SRC DEST MODE: installs SRC at $ROOT$DEST when its content differs; sets WROTE=1 when it wrote.
WROTE=0
put_file() {
  local dest=$ROOT$2
  WROTE=0
  cmp -s "$1" "$dest" && return 0
  mkdir -p "$(dirname "$dest")"
  install -m "$3" "$1" "$dest.meshscope-new"
  mv -f "$dest.meshscope-new" "$dest"
  WROTE=1
  log "wrote $2"
}

status="$(curl -sS --retry 10 --retry-connrefused --retry-delay 2 --connect-timeout 5 --max-time 30 \
  -H 'Metadata-Flavor: Google' -o "$WORK/agent" -w '%{http_code}' \
  "$METADATA_URL/instance/attributes/meshscope-agent")" || die "cannot reach the metadata server at $METADATA_URL"
[[ $status == 200 && -s $WORK/agent ]] || die "instance metadata attribute meshscope-agent: HTTP $status or empty"
changed=0
put_file "$WORK/agent" "$AGENT" 755
changed=$((changed | WROTE))

# StartLimitIntervalSec=0: systemd never gives up restarting it.
cat >"$WORK/unit" <<EOF
[Unit]
Description=meshscope agent: joins this VM to the mesh and follows its instance metadata
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
ExecStart=$AGENT
Restart=always
RestartSec=10

[Install]
WantedBy=multi-user.target
EOF
put_file "$WORK/unit" "/etc/systemd/system/$UNIT" 644
changed=$((changed | WROTE))

if ((changed)); then
  systemctl daemon-reload
  systemctl enable "$UNIT"
  systemctl restart "$UNIT"
  log "installed and (re)started $UNIT"
else
  systemctl start "$UNIT"
fi
