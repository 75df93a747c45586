-- Admin API rate limits (src/http/request-limiter.ts), counted here so that every app instance
-- shares one count per client. The table is exactly what rate-limiter-flexible's Postgres store
-- uses (it is created here, not by the library at run time); housekeeping drops expired rows.
CREATE TABLE api_rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
