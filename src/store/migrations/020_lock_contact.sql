-- Takes a contact's lock and reads its failed checks in one statement.
--
-- Every start, resend and code check takes the contact's advisory lock (74861, contact id) and
-- then reads the contact's failures in the rolling window; a check then updates the
-- verification and records a failure. Each statement is one round trip to the app, and under
-- load every round trip waits for the app's event loop while the transaction holds a pool
-- connection: measured with npm run bench, wrong-code callers were shed on the pool wait (a
-- check was seven round trips). This function is the lock and the read in one (the update and
-- the failure record are one statement too: src/store/pg-verification-store.ts), so a wrong
-- check is five: begin, the verification row, this, the update with its failure, commit.
--
-- The read is a statement of its own inside a VOLATILE function, so under READ COMMITTED it
-- takes its snapshot after the lock is granted and sees every failure its previous holder
-- committed.
CREATE FUNCTION pinverify_lock_contact(p_contact_id integer, p_since timestamptz)
RETURNS SETOF timestamptz
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(74861, p_contact_id);
  RETURN QUERY
    SELECT f.at FROM verification_failures f
     WHERE f.contact_id = p_contact_id AND f.at > p_since AND f.cleared_at IS NULL
     ORDER BY f.at;
END
$$;
