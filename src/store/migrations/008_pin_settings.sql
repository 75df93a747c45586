-- Defaults of the PIN settings (src/store/config-defaults.ts has the same values); values ops already set are kept.
INSERT INTO settings (key, value) VALUES
  ('pinMinLength',        '4'),
  ('pinMaxLength',        '8'),
  ('maxPinTries',         '3'),
  ('pinSource',           '"database"'),
  ('pinWebhookUrl',       '""'),
  ('pinWebhookTimeoutMs', '3000')
ON CONFLICT (key) DO NOTHING;
