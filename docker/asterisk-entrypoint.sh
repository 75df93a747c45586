#!/bin/sh
# Writes the credential include files from the environment (as scripts/lab.sh does) and runs
# Asterisk in the foreground with pinverify's config folder.
set -eu
etc=/etc/pinverify-asterisk
cp /etc/asterisk/indications.conf "$etc/" 2>/dev/null || true
# Inside a container the services listen on all of the container's addresses; publish ports
# on the host's loopback only (see docker-compose.yml).
sed -i 's/^bindaddr = 127.0.0.1/bindaddr = 0.0.0.0/' "$etc/http.conf" "$etc/manager.conf"
sed -i 's/^bind = 127.0.0.1:5060/bind = 0.0.0.0:5060/' "$etc/pjsip.conf"
printf '[%s]\ntype = user\nread_only = no\npassword = %s\npassword_format = plain\n' "$ARI_USER" "$ARI_PASSWORD" >"$etc/ari-users.conf"
printf '[%s]\nsecret = %s\ndeny = 0.0.0.0/0.0.0.0\npermit = %s\nread =\nwrite = user,reporting\n' \
  "$AMI_USER" "$AMI_SECRET" "${AMI_PERMIT:-0.0.0.0/0.0.0.0}" >"$etc/manager-users.conf"
printf '[softphone]\ntype = auth\nauth_type = userpass\nusername = softphone\npassword = %s\n' "$LAB_SOFTPHONE_PASSWORD" >"$etc/pjsip-softphone-auth.conf"
mkdir -p /var/run/pinverify-asterisk /var/log/pinverify-asterisk
exec /usr/sbin/asterisk -C "$etc/asterisk.conf" -f
