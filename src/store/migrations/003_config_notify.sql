-- Live configuration reload: any change to routes, settings or templates, whoever makes it
-- (app, CLI, psql), sends NOTIFY pinverify_config with the table name as payload. Running
-- app instances LISTEN and drop their config cache (startConfigListener in pg-config-store.ts).
-- Statement level, so a bulk edit sends one notification; Postgres delivers it only on commit
-- and folds identical notifications of one transaction into one.
CREATE FUNCTION pinverify_notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('pinverify_config', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER routes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routes
  FOR EACH STATEMENT EXECUTE FUNCTION pinverify_notify_config();
CREATE TRIGGER settings_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
  FOR EACH STATEMENT EXECUTE FUNCTION pinverify_notify_config();
CREATE TRIGGER templates_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON templates
  FOR EACH STATEMENT EXECUTE FUNCTION pinverify_notify_config();
