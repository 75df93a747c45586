-- The desk's settings (src/store/config-defaults.ts has the same values); values ops already set
-- are kept. Only rows, so it can be run again to reseed (test/integration/helpers.ts).
INSERT INTO settings (key, value) VALUES
  ('requireTicket',          'false'),
  ('ticketNoteIncludesCode', 'false')
ON CONFLICT (key) DO NOTHING;
