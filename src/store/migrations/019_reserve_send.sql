-- Reserves one code send under the send limits in a single statement.
--
-- The overall and per-country limits hold exactly across app instances because every send is
-- counted and recorded under one advisory lock (74862, 0). Before this function the app took
-- that lock in its own transaction and kept it through three more round trips (counts, the send
-- record, the verification insert) and the commit, at the app's pace: measured with npm run
-- bench at 30 wrong-code calls/s, up to 9 of the app's 13 connections waited on the lock while
-- its holder sat "idle in transaction" waiting for the app. Here the lock, the counts and the
-- record are one statement; called outside a transaction it commits (and releases the lock)
-- before the answer reaches the app.
--
-- Each statement of a VOLATILE plpgsql function takes a fresh snapshot under READ COMMITTED, so
-- the counts, read after the lock is granted, see every send its previous holder committed.
-- The condition mirrors sendLimitVerdict (src/domain/verification.ts): a send is allowed while
-- every count is below its limit; the app words the refusal from the counts returned, which are
-- the counts before this send.
CREATE FUNCTION pinverify_reserve_send(
  p_verification_id text,
  p_destination_key text,
  p_country_code text,
  p_channel text,
  p_at timestamptz,
  p_max_overall_hour integer,
  p_max_country_hour integer,
  p_max_destination_hour integer,
  p_max_destination_day integer
) RETURNS TABLE (
  reserved boolean,
  dest_hour bigint,
  oldest_hour timestamptz,
  dest_day bigint,
  oldest_day timestamptz,
  country_hour bigint,
  overall_hour bigint
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  hour_ago timestamptz := p_at - interval '1 hour';
  day_ago timestamptz := p_at - interval '24 hours';
BEGIN
  PERFORM pg_advisory_xact_lock(74862, 0);
  -- Index range scans, no upper bound at p_at: a send stamped a moment later by another
  -- instance's clock but committed first must count.
  SELECT count(*), min(s.sent_at) INTO dest_hour, oldest_hour
    FROM verification_sends s WHERE s.destination_key = p_destination_key AND s.sent_at > hour_ago;
  SELECT count(*), min(s.sent_at) INTO dest_day, oldest_day
    FROM verification_sends s WHERE s.destination_key = p_destination_key AND s.sent_at > day_ago;
  IF p_country_code IS NOT NULL THEN
    SELECT count(*) INTO country_hour
      FROM verification_sends s WHERE s.country_code = p_country_code AND s.sent_at > hour_ago;
  END IF;
  SELECT count(*) INTO overall_hour FROM verification_sends s WHERE s.sent_at > hour_ago;
  reserved := overall_hour < p_max_overall_hour
    AND (p_country_code IS NULL OR country_hour < p_max_country_hour)
    AND dest_hour < p_max_destination_hour
    AND dest_day < p_max_destination_day;
  IF reserved THEN
    INSERT INTO verification_sends (verification_id, destination_key, country_code, channel, sent_at)
    VALUES (p_verification_id, p_destination_key, p_country_code, p_channel, p_at);
  END IF;
  RETURN NEXT;
END
$$;
