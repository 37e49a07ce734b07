# Shared set-up for scripts/serve and scripts/test; sourced, not run.
#
# It makes a fresh Debian machine ready: system packages, a virtual
# environment in .venv, and MariaDB and Redis answering where
# config/database.ini (and its SLEEPLOG_* overrides) says they are. A server
# already answering there is used as it is; otherwise a private one is
# started with its data under var/, on the configured port.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR="$ROOT/var"
VENV="$ROOT/.venv"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"
    fi
}

# ini_value FILE SECTION KEY: the value of KEY in [SECTION], or nothing.
ini_value() {
    awk -F '=' -v section="[$2]" -v key="$3" '
        /^\[/ { here = ($0 == section) }
        here && $1 ~ "^[ \t]*" key "[ \t]*$" {
            sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]+$/, ""); print; exit
        }' "$1"
}

# setting SECTION KEY: the effective value, honouring SLEEPLOG_<SECTION>_<KEY>.
setting() {
    local name value file
    name=$(printf 'SLEEPLOG_%s_%s' "$1" "$2" | tr '[:lower:]' '[:upper:]')
    if [ -n "${!name+set}" ]; then printf '%s' "${!name}"; return; fi
    for file in "${SLEEPLOG_CONFIG_DIR:-$ROOT/config}"/*.ini; do
        value=$(ini_value "$file" "$1" "$2")
        if [ -n "$value" ]; then printf '%s' "$value"; return; fi
    done
}

install_system_packages() {
    local missing=()
    command -v python3 >/dev/null || missing+=(python3)
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    command -v mariadbd >/dev/null || command -v mysqld >/dev/null \
        || missing+=(mariadb-server)
    command -v mariadb >/dev/null || command -v mysql >/dev/null \
        || missing+=(mariadb-client)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

make_venv() {
    local extras=$1
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
    fi
    say "installing sleeplog and its dependencies into .venv"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT$extras"
}

mysql_answers() {
    "$VENV/bin/python" - "$@" <<'PY' 2>/dev/null
import sys
import pymysql
host, port, user, password = sys.argv[1:5]
pymysql.connect(host=host, port=int(port), user=user, password=password,
                connect_timeout=3).close()
PY
}

start_mariadb() {
    local host port user password datadir
    host=$(setting mysql host); port=$(setting mysql port)
    user=$(setting mysql user); password=$(setting mysql password)
    if mysql_answers "$host" "$port" "$user" "$password"; then
        say "MariaDB/MySQL answers at $host:$port"
        return
    fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        die "something listens on $host:$port but refuses user '$user'; fix config/database.ini"
    fi

    datadir="$VAR/mariadb"
    mkdir -p "$datadir"
    if [ ! -d "$datadir/mysql" ]; then
        say "initialising a private MariaDB in $datadir"
        # --no-defaults: the system's my.cnf names its own user and paths.
        mariadb-install-db --no-defaults --datadir="$datadir" \
            --auth-root-authentication-method=normal \
            --skip-test-db --user="$(id -un)" >"$VAR/mariadb-install.log" 2>&1 \
            || die "mariadb-install-db failed; see $VAR/mariadb-install.log"
    fi
    say "starting a private MariaDB on $host:$port"
    # As root, mariadbd refuses to run unless told which user to be.
    mariadbd --no-defaults --datadir="$datadir" --user="$(id -un)" \
        --bind-address="$host" --port="$port" --socket="$VAR/mariadb.sock" \
        --pid-file="$VAR/mariadb.pid" --log-error="$VAR/mariadb.log" \
        --skip-name-resolve >/dev/null 2>&1 &
    for _ in $(seq 60); do
        mysql_answers "$host" "$port" root "" && break
        sleep 0.5
    done
    mysql_answers "$host" "$port" root "" || die "MariaDB did not start; see $VAR/mariadb.log"
    if [ "$user" != root ]; then
        "$VENV/bin/python" - "$host" "$port" "$user" "$password" <<'PY'
import sys
import pymysql
host, port, user, password = sys.argv[1:5]
connection = pymysql.connect(host=host, port=int(port), user="root", password="")
with connection.cursor() as cursor:
    cursor.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
    cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%'", (user,))
connection.close()
PY
    fi
}

start_redis() {
    local url port
    url=$(setting redis url)
    if redis-cli -u "$url" ping 2>/dev/null | grep -q PONG; then
        say "Redis answers at $url"
        return
    fi
    port=$(printf '%s' "$url" | sed -E 's#^[a-z]+://([^@/]*@)?[^:/]*:?([0-9]*).*#\2#')
    port=${port:-6379}
    mkdir -p "$VAR/redis"
    say "starting a private Redis on 127.0.0.1:$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$VAR/redis" \
        --save "" --appendonly no --logfile "$VAR/redis.log" --pidfile "$VAR/redis.pid"
    for _ in $(seq 40); do
        redis-cli -u "$url" ping 2>/dev/null | grep -q PONG && return
        sleep 0.25
    done
    die "Redis did not start; see $VAR/redis.log"
}

# ensure_secret_key: unless the configuration or SLEEPLOG_AUTH_SECRET_KEYS
# names real token-signing keys, make one random key in var/secret_key (mode
# 600) the first time, and export it, so tokens outlive a restart.
ensure_secret_key() {
    local current
    current=$(setting auth secret_keys)
    if [ -n "$current" ] && [ "$current" != CHANGE-ME ]; then
        return
    fi
    mkdir -p "$VAR"
    if [ ! -s "$VAR/secret_key" ]; then
        say "making a token-signing key in $VAR/secret_key"
        (umask 077 && "$VENV/bin/python" -c \
            'import secrets; print(secrets.token_urlsafe(48))' >"$VAR/secret_key")
    fi
    chmod 600 "$VAR/secret_key"
    SLEEPLOG_AUTH_SECRET_KEYS=$(cat "$VAR/secret_key")
    export SLEEPLOG_AUTH_SECRET_KEYS
}
