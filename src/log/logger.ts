import winston from 'winston';

/**
 * JSON logs through winston. One child logger per call carries the call id, so a call's lines
 * can be pulled out of a busy log with one grep. Callers pass masked data only (src/log/mask.ts);
 * codes are never logged.
 */
export interface Logger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
  child(meta: Record<string, unknown>): Logger;
}

export function createLogger(opts: { level: string; file?: string; silent?: boolean }): Logger {
  const transports: winston.transport[] = [new winston.transports.Console({ silent: opts.silent })];
  if (opts.file) transports.push(new winston.transports.File({ filename: opts.file }));
  const w = winston.createLogger({
    level: opts.level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      winston.format.json(),
    ),
    defaultMeta: { service: 'pinverify' },
    transports,
  });
  return wrap(w);
}

function wrap(w: winston.Logger): Logger {
  return {
    info: (msg, meta) => void w.info(msg, meta),
    warn: (msg, meta) => void w.warn(msg, meta),
    error: (msg, meta) => void w.error(msg, meta),
    debug: (msg, meta) => void w.debug(msg, meta),
    child: (meta) => wrap(w.child(meta)),
  };
}
