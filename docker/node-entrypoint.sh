#!/bin/sh
# The node image's entry point: `python -m caseledger.nodes ARGS`, after
# putting the node's credentials into its data folder.
#
# A node reads its TLS key, certificate, identity and sealing keys and the
# CA's certificate from its data folder (docs/trust.md), which in a container
# is a volume. The operator's copy of them is mounted read-only at
# $CASELEDGER_CREDENTIALS; each is copied into the volume once, when the
# volume has none (cp -n), so a key the node rotates in its volume later is
# never put back to the issued one, and a fresh volume starts with them all.
# It starts as root to read the operator's files whatever their owner and
# mode, gives the volume to the caseledger user, and runs the node as that
# user.
set -eu

credentials=${CASELEDGER_CREDENTIALS:-/run/caseledger/credentials}
data=${CASELEDGER_DATA_DIR:-/var/lib/caseledger}

if [ -d "$credentials" ]; then
    mkdir -p "$data"
    for file in "$credentials"/*; do
        [ -f "$file" ] || continue
        cp -n "$file" "$data/"
    done
fi
# The views' database password, from the secret compose mounts (readable by
# root only), reaches libpq as PGPASSWORD, so the DSN carries none.
if [ -n "${CASELEDGER_VIEWS_PASSWORD_FILE:-}" ] && [ -r "$CASELEDGER_VIEWS_PASSWORD_FILE" ]; then
    PGPASSWORD=$(cat "$CASELEDGER_VIEWS_PASSWORD_FILE")
    export PGPASSWORD
fi
if [ "$(id -u)" = 0 ]; then
    chown -R caseledger:caseledger "$data"
    exec setpriv --reuid=caseledger --regid=caseledger --init-groups \
        /opt/caseledger/venv/bin/python -m caseledger.nodes "$@"
fi
exec /opt/caseledger/venv/bin/python -m caseledger.nodes "$@"
