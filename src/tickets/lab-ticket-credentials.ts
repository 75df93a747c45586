/**
 * The credentials the lab's ticket stand-ins accept (src/lab/ticket-stand-ins.ts). Published in
 * this repository, so ticketConnectorFromEnv refuses them unless PINVERIFY_LAB=1. Secrets start
 * with "lab-only-" (the rule app-config's labSecretProblems already applies); the webhook secret
 * cannot, being whsec_ + base64, and is listed by value.
 */
export const LAB_ZENDESK_EMAIL = 'desk@lab.pinverify.test';
export const LAB_ZENDESK_API_TOKEN = 'lab-only-zendesk-api-token';
export const LAB_CONNECTWISE_COMPANY_ID = 'pinverify_lab';
export const LAB_CONNECTWISE_PUBLIC_KEY = 'lab-only-cw-public';
export const LAB_CONNECTWISE_PRIVATE_KEY = 'lab-only-cw-private';
export const LAB_CONNECTWISE_CLIENT_ID = '00000000-0000-4000-8000-000000008027';
/** whsec_ + base64("pinverify-lab-only-ticket-webhook!"). */
export const LAB_TICKET_WEBHOOK_SECRET = 'whsec_cGludmVyaWZ5LWxhYi1vbmx5LXRpY2tldC13ZWJob29rIQ==';

/** The lab values that are secrets, for "published secret used outside the lab" checks. */
export const LAB_TICKET_SECRET_VALUES: readonly string[] = [
  LAB_ZENDESK_API_TOKEN,
  LAB_CONNECTWISE_PRIVATE_KEY,
  LAB_TICKET_WEBHOOK_SECRET,
];
