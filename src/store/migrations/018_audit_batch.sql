-- Writes a run of audit records (calls opened, their events, calls closed) in one round trip.
--
-- Under load the app queues audit records from many calls at once; writing them one statement
-- each cost more app CPU (a socket write and read per record) and pool time than the calls'
-- own queries (measured with npm run bench: ~7 of ~16 transactions per call). The function
-- applies the records in the order given, with the same statements as the one-at-a-time path
-- (src/store/pg-audit-trail.ts writeAuditRecord), so a batch means exactly what its records
-- would mean written one by one, and stays idempotent (upserts; events carry a uid).
CREATE FUNCTION pinverify_write_audit(records jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
  n integer := 0;
BEGIN
  FOR r IN SELECT value FROM jsonb_array_elements(records) LOOP
    n := n + 1;
    IF r->>'op' = 'open' THEN
      INSERT INTO calls (call_id, channel_id, caller_masked, previous_hop, started_at)
      VALUES (r->>'callId', r->>'channelId', r->>'callerMasked', r->>'previousHop',
              (r->>'startedAt')::timestamptz)
      ON CONFLICT (call_id) DO UPDATE
        SET channel_id = EXCLUDED.channel_id,
            caller_masked = EXCLUDED.caller_masked,
            previous_hop = EXCLUDED.previous_hop,
            started_at = EXCLUDED.started_at;
    ELSIF r->>'op' = 'event' THEN
      -- A placeholder call row when the open was lost, as the one-at-a-time path does.
      INSERT INTO calls (call_id, started_at) VALUES (r->>'callId', (r->>'at')::timestamptz)
      ON CONFLICT (call_id) DO NOTHING;
      INSERT INTO call_events (uid, call_id, at, kind, detail)
      VALUES ((r->>'uid')::uuid, r->>'callId', (r->>'at')::timestamptz, r->>'kind',
              COALESCE(r->'detail', '{}'::jsonb))
      ON CONFLICT (uid) DO NOTHING;
    ELSIF r->>'op' = 'close' THEN
      INSERT INTO calls (call_id, started_at, ended_at, result, reason, method, contact_id, route, destination)
      VALUES (r->>'callId', (r->>'at')::timestamptz, (r->>'at')::timestamptz, r->>'result',
              r->>'reason', r->>'method', (r->>'contactId')::integer, r->>'route', r->>'destination')
      ON CONFLICT (call_id) DO UPDATE
        SET ended_at = EXCLUDED.ended_at,
            result = EXCLUDED.result,
            reason = EXCLUDED.reason,
            method = EXCLUDED.method,
            contact_id = EXCLUDED.contact_id,
            route = EXCLUDED.route,
            destination = EXCLUDED.destination;
    ELSE
      RAISE EXCEPTION 'unknown audit record op %', r->>'op' USING ERRCODE = '22023';
    END IF;
  END LOOP;
  RETURN n;
END
$$;
