# Asterisk 22 from Debian sid's asterisk package: the same build the lab runs under chroot.
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends asterisk asterisk-core-sounds-en-gsm \
 && rm -rf /var/lib/apt/lists/*
COPY asterisk-conf/ /etc/pinverify-asterisk/
COPY asterisk-conf/production/extensions_pinverify.conf /etc/pinverify-asterisk/pinverify/
COPY sounds/pinverify/ /usr/share/asterisk/sounds/en/pinverify/
COPY docker/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint.sh
ENTRYPOINT ["/bin/sh", "/usr/local/bin/asterisk-entrypoint.sh"]
