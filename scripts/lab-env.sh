# pinverify lab defaults. Sourced by scripts/lab.sh and scripts/test-all.sh; every value can be
# overridden from the environment. These are lab credentials for a loopback-only lab: in
# production set your own through the environment (see README, "Configuration").
: "${ARI_URL:=http://127.0.0.1:8088}"
: "${ARI_USER:=pinverify}"
: "${ARI_PASSWORD:=pinverify-lab-ari}"
: "${ARI_APP:=pinverify}"
: "${AMI_HOST:=127.0.0.1}"
: "${AMI_PORT:=5038}"
: "${AMI_USER:=pinverify}"
: "${AMI_SECRET:=pinverify-lab-ami}"
# The CLI's own AMI user: reads events (test-call watches where a call goes) and the dialplan,
# changes nothing. The app's user (above) may only send its UserEvents and read the dialplan.
: "${AMI_CLI_USER:=pinverify-cli}"
: "${AMI_CLI_SECRET:=pinverify-lab-ami-cli}"
: "${PINVERIFY_CODE_SECRET:=lab-only-code-secret-change-me-in-production}"
: "${SMTP_HOST:=127.0.0.1}"
: "${SMTP_PORT:=2525}"
: "${SMTP_FROM:=pinverify lab <verify@lab.pinverify.invalid>}"
: "${TWILIO_ACCOUNT_SID:=AC00000000000000000000000000000000}"
: "${TWILIO_AUTH_TOKEN:=lab-twilio-token}"
: "${TWILIO_FROM:=+12025550100}"
: "${TWILIO_SINK_PORT:=8025}"
: "${TWILIO_API_BASE_URL:=http://127.0.0.1:${TWILIO_SINK_PORT}}"
: "${SMTP_SINK_PORT:=${SMTP_PORT}}"
# The desk's ticket notes go to the lab's Zendesk stand-in (src/lab/ticket-stand-ins.ts), which
# accepts these published lab credentials; the webhook sink (src/lab/webhook-sink.ts) is the lab's
# subscriber to verification and call events (demo data subscribes it).
: "${WEBHOOK_SINK_PORT:=8026}"
: "${TICKET_STAND_IN_PORT:=8027}"
: "${TICKET_SYSTEM:=zendesk}"
: "${ZENDESK_URL:=http://127.0.0.1:${TICKET_STAND_IN_PORT}}"
: "${ZENDESK_EMAIL:=desk@lab.pinverify.test}"
: "${ZENDESK_API_TOKEN:=lab-only-zendesk-api-token}"
: "${LAB_SOFTPHONE_PASSWORD:=softphone-lab}"
: "${LOG_LEVEL:=info}"
# A lab: the published secrets above are accepted and the SMTP sink needs no TLS. Never set in production.
: "${PINVERIFY_LAB:=1}"
# On SIGTERM the app gives calls in progress this long to finish before routing them (production
# default 20 s; short in the lab so app-stop and the tests stay quick).
: "${SHUTDOWN_DRAIN_MS:=5000}"
# Outbound verification calls leave through the lab's PSTN stand-in (asterisk-conf/pjsip.conf).
: "${OUTBOUND_DIAL:=PJSIP/{number\}@lab-pstn}"
# DATABASE_URL, when set, is used as it is; otherwise the lab creates this database on the
# machine's PostgreSQL cluster.
: "${PINVERIFY_LAB_DATABASE_URL:=postgres://pinverify:pinverify@127.0.0.1:5432/pinverify}"
export ARI_URL ARI_USER ARI_PASSWORD ARI_APP AMI_HOST AMI_PORT AMI_USER AMI_SECRET AMI_CLI_USER AMI_CLI_SECRET PINVERIFY_CODE_SECRET \
  SMTP_HOST SMTP_PORT SMTP_FROM TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_FROM TWILIO_SINK_PORT \
  TWILIO_API_BASE_URL SMTP_SINK_PORT LAB_SOFTPHONE_PASSWORD LOG_LEVEL PINVERIFY_LAB_DATABASE_URL SHUTDOWN_DRAIN_MS PINVERIFY_LAB OUTBOUND_DIAL \
  WEBHOOK_SINK_PORT TICKET_STAND_IN_PORT TICKET_SYSTEM ZENDESK_URL ZENDESK_EMAIL ZENDESK_API_TOKEN
