# shellcheck shell=bash
# Source this (bash): `. scripts/env.sh` — exports the connection variables the
# integration tests read for the servers started by scripts/services.sh.
# Values already set in the environment are kept.

_hm_scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export HM_SERVICES_DIR="${HM_SERVICES_DIR:-/tmp/hm-services}"
export HM_SERVICES_SCRIPT="${HM_SERVICES_SCRIPT:-$_hm_scripts_dir/services.sh}"
export HM_SERVICES=1

export HM_RABBITMQ_URI="${HM_RABBITMQ_URI:-amqp://guest:guest@127.0.0.1:5672/%2F}"
export HM_INFLUXDB_URL="${HM_INFLUXDB_URL:-http://127.0.0.1:8086}"
export HM_SMTP_HOST="${HM_SMTP_HOST:-127.0.0.1}"
export HM_SMTP_PORT="${HM_SMTP_PORT:-2525}"              # STARTTLS offered; AUTH hm/secret after STARTTLS
export HM_SMTP_PLAIN_PORT="${HM_SMTP_PLAIN_PORT:-2526}"  # no TLS, no AUTH
export HM_SMTPS_PORT="${HM_SMTPS_PORT:-2465}"            # implicit TLS, AUTH hm/secret
export HM_SMTP_USER="${HM_SMTP_USER:-hm}"
export HM_SMTP_PASSWORD="${HM_SMTP_PASSWORD:-secret}"
export HM_SMTP_DIR="${HM_SMTP_DIR:-$HM_SERVICES_DIR/smtp/messages}"      # one JSON file per message
export HM_SMTP_CA_FILE="${HM_SMTP_CA_FILE:-$HM_SERVICES_DIR/smtp/cert.pem}"  # self-signed, CN/SAN localhost + 127.0.0.1
export HM_MONGO_URI="${HM_MONGO_URI:-mongodb://127.0.0.1:27017}"
# The venv scripts/services.sh creates (secantusdb, pymongo, pika): runs docker/event-sink.
export HM_EVENT_SINK_PYTHON="${HM_EVENT_SINK_PYTHON:-$(cd "$_hm_scripts_dir/.." && pwd)/.venv-services/bin/python}"

unset _hm_scripts_dir
