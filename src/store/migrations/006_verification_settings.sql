-- Defaults of the verification limits (src/store/config-defaults.ts has the same values).
-- ON CONFLICT DO NOTHING: values ops already set are kept.
INSERT INTO settings (key, value) VALUES
  ('maxSendsPerVerification',       '5'),
  ('resendCooldownSeconds',         '30'),
  ('maxFailedChecksPerContact',     '10'),
  ('maxSendsPerDestinationPerHour', '3'),
  ('maxSendsPerDestinationPerDay',  '10'),
  ('maxSendsPerCountryPerHour',     '200'),
  ('maxSendsPerHour',               '1000'),
  ('retentionDays',                 '90')
ON CONFLICT (key) DO NOTHING;
