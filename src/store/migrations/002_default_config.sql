-- Default settings and templates. ON CONFLICT DO NOTHING: values ops already changed are kept.
-- The same defaults live in src/store/config-defaults.ts, which the app falls back to when a
-- stored value is missing or invalid; an integration test keeps the two in sync.

INSERT INTO settings (key, value) VALUES
  ('defaultSuccessDestination', '"2000"'),
  ('defaultFailedDestination',  '"2900"'),
  ('defaultContext',            '"pinverify-destinations"'),
  ('codeLength',                '6'),
  ('codeValiditySeconds',       '300'),
  ('maxTriesPerCode',           '3'),
  ('maxSendsPerCall',           '3'),
  ('maxMenuPrompts',            '3'),
  ('menuTimeoutMs',             '5000'),
  ('firstDigitTimeoutMs',       '10000'),
  ('interDigitTimeoutMs',       '5000'),
  ('sendTimeoutMs',             '8000'),
  ('defaultCountry',            '"US"'),
  ('companyName',               '"Example Corp"')
ON CONFLICT (key) DO NOTHING;

-- Every message says we will never ask for the code any other way: the code only ever goes
-- from the caller's own device into the IVR, so anyone asking for it is an attacker.
-- The subject carries no code, so it does not show on a lock screen notification.
INSERT INTO templates (channel, subject, text, html) VALUES
  ('sms', NULL,
   '{company}: your verification code is {code}. It is valid for {minutes} minutes. We will never ask you for this code by phone, email or text.',
   NULL),
  ('email', '{company}: your verification code',
   E'Hello {name},\n\nYour {company} verification code is {code}. It is valid for {minutes} minutes.\n\nType it on your phone keypad when the call asks for it. We will never ask you for this code by phone, email or text.\n\nIf you did not call {company}, you can ignore this message.\n',
   '<p>Hello {name},</p><p>Your {company} verification code is <strong>{code}</strong>. It is valid for {minutes} minutes.</p><p>Type it on your phone keypad when the call asks for it. We will never ask you for this code by phone, email or text.</p><p>If you did not call {company}, you can ignore this message.</p>')
ON CONFLICT (channel) DO NOTHING;
