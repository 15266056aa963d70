#!/usr/bin/env bash
# Debian packages VM Lab needs beyond Python: usage: system_packages.sh build|test
#   build: what python-ldap compiles with (a C compiler, OpenLDAP's and SASL's headers, Python's own when the
#          interpreter is Debian's), and GNU gettext (msgfmt compiles the translations, makemessages reads the
#          source), for `make run` and `make test`.
#   test:  OpenLDAP's server and tools (slapd, ldap-utils), which the LDAP tests start on a loopback port.
# Installs only what is missing, with apt-get as root; otherwise says what to install and goes on (the LDAP tests
# then skip, except under CI, where they fail).
set -euo pipefail

case "${1:-}" in
  build)
    python_headers=$("${PYTHON:-python3}" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h
    wanted=(gcc:/usr/bin/gcc libldap2-dev:/usr/include/ldap.h libsasl2-dev:/usr/include/sasl/sasl.h)
    wanted+=("python3-dev:$python_headers" gettext:/usr/bin/msgfmt)
    ;;
  test) wanted=(slapd:/usr/sbin/slapd ldap-utils:/usr/bin/ldapadd) ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for entry in "${wanted[@]}"; do
  [ -e "${entry#*:}" ] || missing+=("${entry%%:*}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "== Missing Debian packages: ${missing[*]} (install them with: apt-get install ${missing[*]}) ==" >&2
  exit 0
fi
echo "== Installing ${missing[*]} =="
export DEBIAN_FRONTEND=noninteractive
# slapd installed for the tests only: no directory of its own configured, no daemon started.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get install -y -q --no-install-recommends "${missing[@]}" \
  || { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
