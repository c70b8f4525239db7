#!/bin/sh
# Install the Debian packages the test suite runs for real (OpenLDAP, Samba AD DC, PostgreSQL, ...),
# only those that are missing. Services are kept from starting: the tests run their own private instances.
set -eu
# slapd + ldap-utils: private OpenLDAP instances; libldap2-dev + libsasl2-dev: build python-ldap (no wheel);
# samba + samba-ad-dc + samba-ad-provision: a private Samba AD DC (the provisioning data is only a Recommends).
# 389-ds-base: a private 389 Directory Server (the LDAP connector's retro changelog delta).
# chromium: the dashboard's browser tests (driven by Playwright with executable_path, no downloaded browser).
PACKAGES="slapd ldap-utils libldap2-dev libsasl2-dev samba samba-ad-dc samba-ad-provision postgresql 389-ds-base chromium"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# A policy-rc.d that denies service starts keeps the system daemons down during install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
