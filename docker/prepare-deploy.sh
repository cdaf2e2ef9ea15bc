#!/bin/sh
# Make what docker/compose.yaml mounts, in docker/deploy/ (or the folder
# given): the network's CA, each node's credentials, the identity provider's
# keys, and the password of the views' database.
#
#   docker/prepare-deploy.sh [FOLDER]
#
# Needs the caseledger command line (pip install ., or $CASELEDGER naming
# another, such as "docker compose -f docker/compose.yaml run --rm --no-deps
# --entrypoint caseledger -v $PWD/docker/deploy:/deploy province" with FOLDER
# /deploy). Runs once per network: it refuses a folder that already holds a
# CA, so a second run cannot replace the keys a running network trusts.
set -eu

here=$(dirname "$0")
deploy=${1:-$here/deploy}
caseledger=${CASELEDGER:-caseledger}
# The nodes of docker/network.yaml, in its order.
codes="370000000000 370100000000 370102000000 370102001000"

if [ -e "$deploy/pki/ca.crt" ]; then
    echo "$deploy/pki already holds a CA; remove it to start a new network" >&2
    exit 1
fi
mkdir -p "$deploy/nodes"
$caseledger network pki init --network shandong --dir "$deploy/pki"
for code in $codes; do
    $caseledger network pki issue "$code" --dir "$deploy/pki" --data "$deploy/nodes/$code"
done
$caseledger identity init --dir "$deploy/pki/identity"
# The views' database password: PostgreSQL's superuser password, and the
# nodes' (the entry point hands it to libpq).
umask 077
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$deploy/views-password"
echo "prepared $deploy"
