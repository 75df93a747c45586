-- API keys carry a scope (src/ops/api-key-admin.ts): read (GET only), contacts (the people:
-- contacts, PINs, unlock, verifications) or admin (everything, PBX configuration included).
-- Keys made before scopes existed could do everything: they stay admin.
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'contacts', 'admin'));
