#!/bin/sh
# Back up a SQLite node's stores while it runs.
#
#   docker/backup-node.sh DATA_DIR BACKUP_DIR
#
# Each store (<code>.<store>.sqlite) is copied with SQLite's online backup
# (Python's sqlite3 module, which the node's image has): a consistent copy of
# that file, taken while the node keeps writing. The stores are copied one
# after the other, so the order matters: what follows a log (views, index,
# exchange, publisher, witness, quarantine) first, then the logs it follows
# (received, events), then what the log's events need to be read (request
# ids, data-subject keys). A follower copied before its log can only be
# behind it, and catches up after a restore; a follower ahead of its log
# would skip what the log appends next. The node's key and certificate files
# are copied as they are. The lock file, WAL and shared-memory files are not
# copied: each backup is a whole database.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 DATA_DIR BACKUP_DIR" >&2
    exit 2
fi
data=$1
backup=$2
python=${PYTHON:-python3}
mkdir -p "$backup"

backup_store() {
    "$python" - "$1" "$backup/$(basename "$1")" <<'PY'
import sqlite3
import sys

source = sqlite3.connect(sys.argv[1])
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
target.close()
source.close()
PY
}

last="received events requests keys"
for file in "$data"/*.sqlite; do
    [ -f "$file" ] || continue
    store=${file%.sqlite}
    store=${store##*.}
    case " $last " in
    *" $store "*) ;;
    *) backup_store "$file" ;;
    esac
done
for store in $last; do
    for file in "$data"/*."$store".sqlite; do
        if [ -f "$file" ]; then backup_store "$file"; fi
    done
done
for file in "$data"/*; do
    case "$file" in
    *.sqlite | *.sqlite-* | *.lock) ;;
    *) if [ -f "$file" ]; then cp -p "$file" "$backup/"; fi ;;
    esac
done
echo "backed up $data to $backup"
