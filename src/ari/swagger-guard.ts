/**
 * ari-client loads Asterisk's API description with swagger-client 2.0.26, whose
 * `SwaggerApi.prototype.fail` calls the failure callback and then `throw`s the message. The
 * throw happens inside an HTTP response callback, so nothing can catch it: an Asterisk that
 * answers 503 to one of the `/ari/api-docs/*.json` requests while it is still starting (or
 * restarting) ended the whole app with an uncaught exception.
 *
 * ari-client already turns the failure callback into a rejection of `ari.connect()`, which our
 * supervisor counts as a failed try and retries. So the throw adds nothing but the crash: this
 * replaces `fail` with one that reports once and returns. Installed once, before the first
 * connect (src/main.ts); `ari.connect()` then rejects on every loader failure instead of ending
 * the process.
 */
// swagger-client has no types; it is the copy ari-client itself requires (one copy in
// node_modules, checked by test/integration/ari-swagger-guard.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const swagger = require('swagger-client') as {
  SwaggerApi: { prototype: SwaggerApiLike };
};

interface SwaggerApiLike {
  failure(message: unknown): void;
  fail(message: unknown): void;
  __pinverifyFailed?: boolean;
  __pinverifyGuarded?: boolean;
}

export function guardSwaggerLoader(): void {
  const proto = swagger.SwaggerApi.prototype;
  if (proto.__pinverifyGuarded) return;
  proto.fail = function fail(this: SwaggerApiLike, message: unknown): void {
    // Several resources can fail in one load; ari-client needs to hear it once.
    if (this.__pinverifyFailed) return;
    this.__pinverifyFailed = true;
    this.failure(message);
  };
  proto.__pinverifyGuarded = true;
}
